"""Checks that only declared principals may assume a stack's roles
(``mlstack-iam-trust-policy-restricted``).

A role's trust policy (``assumeRolePolicy``) must not let anyone assume it — ``Principal: "*"``,
``{"AWS": "*"}`` or ``NotPrincipal`` in an Allow, unless a condition on ``aws:PrincipalAccount``,
``aws:PrincipalArn`` or ``aws:SourceAccount`` limits callers to declared accounts — and its AWS
principals must belong to declared accounts: the stack's own (``mlstack:accountId``), its
``crossAccountReaders`` and the policy's ``trustedAccounts`` (see
:func:`mlstack.policy.kit.accounts.stack_accounts` for stacks that do not declare their account). Web-identity (OIDC) principals must pin the
token's subject (``<provider>:sub``), SAML principals ``SAML:aud``, Cognito
``cognito-identity.amazonaws.com:aud``: without it every user of the identity provider (every
GitHub repository, for ``token.actions.githubusercontent.com``) may assume the role.

Service principals are judged by ``mlstack-service-principal-has-source-condition``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, StackValidationArgs, StackValidationPolicy

from ..kit.accounts import Accounts, account_properties, principal_problems, stack_prelude
from ..kit.iam import TRUST, Statement, documents_of, principal_account
from ..kit.settings import environments_property
from ..kit.stack import ENVIRONMENTS

__all__ = ["POLICY", "NAME", "federated_problems"]

NAME = "mlstack-iam-trust-policy-restricted"

#: Literal prefixes that still leave a subject pattern open to every user of the provider.
_OPEN_SUBJECTS = ("", "repo:", "system:serviceaccount:", "project_path:", "organization:")


def _pinned(statement: Statement, key: str) -> bool:
    for cond in statement.condition(key):
        if not cond.positive or not cond.values:
            continue
        prefixes = [v.split("*", 1)[0].split("?", 1)[0] for v in cond.values]
        if all(p.lower() not in _OPEN_SUBJECTS for p in prefixes):
            return True
    return False


def federated_problems(statement: Statement, accounts: Accounts) -> list[str]:
    """Web-identity and SAML principals of an Allow statement that any user of the provider could use."""
    if not statement.allow:
        return []
    out = []
    for provider in statement.of_kind("federated"):
        lower = provider.lower()
        if ":saml-provider/" in lower:
            key = "saml:aud"
        elif lower == "cognito-identity.amazonaws.com":
            key = "cognito-identity.amazonaws.com:aud"
        else:
            host = lower.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in lower else lower
            key = f"{host}:sub"
        if not _pinned(statement, key):
            out.append(
                f"trusts identity provider {provider!r} without pinning {key}: every identity it issues could assume the "
                f"role; it must add Condition StringEquals (or StringLike) {key} naming the subjects allowed "
                "(e.g. repo:<org>/<repo>:ref:refs/heads/main)."
            )
        if provider.startswith("arn:"):
            account = principal_account(provider)
            if account not in accounts.known:
                whose = f"of account {account}, which the stack does not declare" if account else "whose account cannot be told"
                out.append(f"trusts identity provider {provider!r} {whose}; it must name only {accounts.allowed()}. {accounts.fix(account)}")
    return out


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prelude = stack_prelude(args)
    if prelude is None:
        return
    index, accounts = prelude
    for role, prop, parsed in documents_of(index, TRUST):
        if parsed.duplicates:
            report_violation(
                f"IAM role {role.name!r} trust policy must write each key once, but repeats "
                f"{', '.join(map(repr, parsed.duplicates))}: parsers disagree about which one counts. Remove the repeated keys.",
                role.urn,
            )
        for statement in parsed.statements:
            problems = principal_problems(statement, accounts, opens="lets anyone assume the role") + federated_problems(statement, accounts)
            for problem in problems:
                report_violation(f"IAM role {role.name!r} trust policy statement {statement.label} {problem}", role.urn)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that IAM role trust policies let only declared principals assume the role: no Principal \"*\" or "
        "NotPrincipal without a condition limiting callers to declared accounts, AWS principals only of the stack's "
        "own account (mlstack:accountId), its crossAccountReaders or trustedAccounts, and OIDC/SAML providers pinned "
        "to subjects or audiences."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["iam", "accounts"],
    display_name="Role trust names only declared principals",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "trust policies must name only declared principals"),
            **account_properties(),
        }
    ),
    remediation_steps="Name the accounts or roles that may assume each role; declare mlstack:accountId and crossAccountReaders.",
)
