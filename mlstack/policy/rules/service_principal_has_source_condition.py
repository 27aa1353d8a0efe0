"""Checks that an AWS service acts for this account's resources only (no confused deputy)
(``mlstack-service-principal-has-source-condition``).

A statement that lets a service principal (``sagemaker.amazonaws.com``) assume a role or use a
key, topic, bucket or queue lets *any* account's resources make that service do so, unless a
condition ties the request to this account: a positive ``aws:SourceAccount`` or ``aws:SourceArn``
condition naming a declared account (the stack's own, its ``crossAccountReaders``,
``trustedAccounts``), or an ARN-valued encryption-context key the service sets itself (CloudWatch
Logs: ``kms:EncryptionContext:aws:logs:arn``). Lambda permissions for a service need
``source_account`` or a ``source_arn`` holding a declared account (S3 bucket ARNs hold none).

Decided per principal mlstack uses, from AWS's documentation:

* ``sagemaker.amazonaws.com`` (training, processing, pipeline and endpoint execution roles):
  SageMaker's "Cross-service confused deputy prevention" page documents ``aws:SourceAccount`` and
  ``aws:SourceArn`` in execution-role trust policies for these features. Required.
* ``scheduler.amazonaws.com``, ``events.amazonaws.com`` (retraining triggers): EventBridge and
  EventBridge Scheduler document ``aws:SourceAccount``/``aws:SourceArn`` in the execution role's
  trust policy. Required.
* ``cloudwatch.amazonaws.com`` in a key policy (alarms publishing to an encrypted topic): AWS's
  guidance for alarm actions on encrypted topics conditions the grant on ``aws:SourceAccount`` and
  ``aws:SourceArn`` of the alarms. Required.
* ``logs.<region>.amazonaws.com`` in a key policy: CloudWatch Logs documents the
  ``kms:EncryptionContext:aws:logs:arn`` condition (the log group ARN), which counts. Required.
* ``lambda.amazonaws.com`` in a trust policy: exempt by default (``exemptTrustServices``). Lambda
  documents the execution-role trust policy with the service principal alone, assumes the role
  only for functions configured with it, and a function can only be given a role of its own
  account by a caller with ``iam:PassRole`` there.

Every other service principal is required to carry the condition (fail closed); add exemptions
with ``exemptTrustServices`` (trust policies only; shell-style patterns).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, StackValidationArgs, StackValidationPolicy

from ..kit.accounts import Accounts, account_properties, stack_prelude
from ..kit.iam import (
    KEY_POLICIES,
    LAMBDA_PERMISSION,
    RESOURCE_POLICIES,
    SOURCE_KEYS,
    TRUST,
    Statement,
    arn_account,
    documents_of,
    kind_name,
    statement_place,
)
from ..kit.settings import environments_property
from ..kit.stack import ENVIRONMENTS
from ..kit.values import get

__all__ = ["POLICY", "NAME", "unscoped_services"]

NAME = "mlstack-service-principal-has-source-condition"
DEFAULT_EXEMPT = ["lambda.amazonaws.com", "lambda.amazonaws.com.cn"]


def unscoped_services(statement: Statement, accounts: Accounts, exempt: Sequence[str] = ()) -> list[str]:
    """Service principals of an Allow statement not tied to declared accounts by a condition."""
    if not statement.allow:
        return []
    services = [s for s in statement.of_kind("service") if s != "*" and not any(fnmatch.fnmatchcase(s.lower(), p.lower()) for p in exempt)]
    if not services or statement.restricted(SOURCE_KEYS, accounts.known):
        return []
    return services


def _fix(accounts: Accounts) -> str:
    if not accounts.own:
        return accounts.fix(None)
    return (
        f"Add Condition StringEquals aws:SourceAccount {accounts.own} (or ArnLike aws:SourceArn with the ARNs of the "
        "resources that use it) so only this account's resources can make the service act."
    )


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prelude = stack_prelude(args)
    if prelude is None:
        return
    index, accounts = prelude
    exempt = [p for p in (args.get_config().get("exemptTrustServices") or ()) if isinstance(p, str)]
    for places, where, exemptions in ((TRUST, "trust policy ", exempt), (KEY_POLICIES, "key policy ", []), (RESOURCE_POLICIES, "", [])):
        for resource, prop, parsed in documents_of(index, places):
            kind = kind_name(resource.resource_type)
            for statement in parsed.statements:
                services = unscoped_services(statement, accounts, exemptions)
                if services:
                    report_violation(
                        f"{kind} {resource.name!r} {where or statement_place(kind, prop)}statement {statement.label} must "
                        f"tie service principal {', '.join(map(repr, services))} to {accounts.own_words()}: without an "
                        "aws:SourceAccount or aws:SourceArn condition naming it, any account's resources can make the "
                        f"service act with this grant (confused deputy). {_fix(accounts)}",
                        resource.urn,
                    )
    for permission in index.of_type(LAMBDA_PERMISSION):
        principal = get(permission.props, "principal")
        if not isinstance(principal, str) or ".amazonaws.com" not in principal:
            continue
        source_account = get(permission.props, "sourceAccount")
        source_arn = get(permission.props, "sourceArn")
        if (isinstance(source_account, str) and source_account in accounts.known) or (
            isinstance(source_arn, str) and arn_account(source_arn) in accounts.known
        ):
            continue
        report_violation(
            f"Lambda permission {permission.name!r} must tie service principal {principal!r} to {accounts.own_words()}: "
            "without source_account (or a source_arn holding the account) any account's resources can make the service "
            "invoke the function (confused deputy); set source_account, and source_arn to the resource that invokes it.",
            permission.urn,
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that service principals in trust, key and resource policies and Lambda permissions carry an "
        "aws:SourceAccount or aws:SourceArn condition naming a declared account (confused-deputy protection); "
        "lambda.amazonaws.com role trust is exempt by default."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["iam", "accounts"],
    display_name="Service principals carry source conditions",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "service principals must carry source conditions"),
            "exemptTrustServices": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "default": list(DEFAULT_EXEMPT),
                "description": "Service principals (shell-style patterns) that may assume roles without a source "
                "condition, because the service does not support one for role trust.",
            },
            **account_properties(),
        }
    ),
    remediation_steps="Add Condition StringEquals aws:SourceAccount <stack account> to every grant to a service principal.",
)
