"""Checks that a stack's resource policies share only with declared accounts
(``mlstack-resource-policy-not-public``).

Judged in the resource policies of what a stack exposes: S3 bucket policies, SNS topic policies,
SageMaker model package group policies, SQS queue policies, ECR repository policies, Secrets
Manager secret policies, EFS file system policies, event bus policies, and Lambda permissions.

* No public grant: ``Principal: "*"`` / ``{"AWS": "*"}`` / ``NotPrincipal`` in an Allow needs a
  condition limiting callers to declared accounts (``aws:PrincipalAccount``, ``aws:PrincipalArn``,
  ``aws:SourceAccount``, ``aws:SourceArn``, SNS's ``AWS:SourceOwner``). Deny statements (e.g.
  mlstack's deny-insecure-transport bucket statement) are not grants and pass.
* No foreign account: AWS principals belong to the stack's own account (``mlstack:accountId``), its
  ``crossAccountReaders`` (what a model package group may share) or ``trustedAccounts``.
* A Lambda permission for ``*`` (a public function URL, or any account's callers) needs
  ``source_account`` or a ``source_arn`` of a declared account.

Service principals are judged by ``mlstack-service-principal-has-source-condition``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, StackValidationArgs, StackValidationPolicy

from ..kit.accounts import Accounts, account_properties, principal_problems, stack_prelude
from ..kit.iam import (
    LAMBDA_PERMISSION,
    RESOURCE_POLICIES,
    arn_account,
    documents_of,
    kind_name,
    principal_account,
    statement_place,
)
from ..kit.settings import environments_property
from ..kit.stack import ENVIRONMENTS
from ..kit.values import get

__all__ = ["POLICY", "NAME", "lambda_permission_problems"]

NAME = "mlstack-resource-policy-not-public"


def lambda_permission_problems(props: object, accounts: Accounts) -> list[str]:
    """Public or foreign-account grants of one ``aws.lambda_.Permission``."""
    principal = get(props, "principal")
    if not isinstance(principal, str):
        return []
    principal = principal.strip()
    source_account = get(props, "sourceAccount")
    source_arn = get(props, "sourceArn")
    limited = (isinstance(source_account, str) and source_account in accounts.known) or (
        isinstance(source_arn, str) and arn_account(source_arn) in accounts.known
    )
    if principal == "*":
        if limited:
            return []
        url = " (with function_url_auth_type NONE: a public function URL)" if get(props, "functionUrlAuthType") == "NONE" else ""
        return [
            f"lets anyone invoke the function (principal \"*\"{url}); it must name a principal of {accounts.allowed()}, "
            "or set source_account to one of them."
        ]
    if ".amazonaws.com" in principal or principal.endswith(".amazonaws.com.cn"):
        return []  # a service principal: the confused-deputy policy judges it
    account = principal_account(principal)
    if account in accounts.known:
        return []
    whose = f"of account {account}, which the stack does not declare" if account else "whose account cannot be told"
    return [f"names principal {principal!r} {whose}; it must name only {accounts.allowed()}. {accounts.fix(account)}"]


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prelude = stack_prelude(args)
    if prelude is None:
        return
    index, accounts = prelude
    for resource, prop, parsed in documents_of(index, RESOURCE_POLICIES):
        kind = kind_name(resource.resource_type)
        if parsed.duplicates:
            report_violation(
                f"{kind} {resource.name!r} {prop} must write each key once, but repeats {', '.join(map(repr, parsed.duplicates))}: "
                "parsers disagree about which one counts. Remove the repeated keys.",
                resource.urn,
            )
        for statement in parsed.statements:
            for problem in principal_problems(statement, accounts, opens=f"makes the {kind.removesuffix(' policy')} public"):
                report_violation(f"{kind} {resource.name!r} {statement_place(kind, prop)}statement {statement.label} {problem}", resource.urn)
    for permission in index.of_type(LAMBDA_PERMISSION):
        for problem in lambda_permission_problems(permission.props, accounts):
            report_violation(f"Lambda permission {permission.name!r} {problem}", permission.urn)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that resource policies (S3 buckets, SNS topics, model package groups, SQS queues, ECR repositories, "
        "secrets, EFS, event buses, Lambda permissions) grant nothing to \"*\" without a condition limiting callers to "
        "declared accounts, and name only the stack's own account (mlstack:accountId), its crossAccountReaders or "
        "trustedAccounts."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["iam", "network", "accounts"],
    display_name="Resource policies are not public",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "resource policies must not be public or name undeclared accounts"),
            **account_properties(),
        }
    ),
    remediation_steps="Share with named accounts only: declare them as crossAccountReaders or trustedAccounts.",
)
