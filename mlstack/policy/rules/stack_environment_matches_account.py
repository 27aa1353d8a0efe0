"""Checks that a stack's declared environment is the one its AWS account is bound to
(``mlstack-stack-environment-matches-account``).

The environment is self-declared (the stack tag or ``mlstack:environment``), and every other
policy scales its rules by it: a prod account's stack declared ``dev`` would get dev rules. The
pack config binds accounts to environments::

    "mlstack-stack-environment-matches-account": {
      "environmentAccounts": {"prod": ["210987654321"], "staging": ["111122223333"], "dev": ["444455556666"]}
    }

The stack's account, as far as anything says it, is judged against the binding:

* ``mlstack:accountId`` of the stack config: the stack program stops a deployment whose
  credentials belong to another account, so at ``pulumi up`` it is the account;
* ``aws:allowedAccountIds`` of the stack config (and ``allowedAccountIds`` of explicit AWS
  providers, registered in the stack or handed with each resource): the provider refuses any
  other account, so each listed account is a candidate;
* the account in the ARN of every resource of the stack whose ARN is known (resources already
  deployed, under ``pulumi up`` and ``preview``), and in the execution role ARNs SageMaker
  resources run as (SageMaker only accepts a role of its own account).

Every account found must be bound to the declared environment when that environment has a
binding, and to no other environment. When accounts are bound and nothing says the stack's
account, the policy fails closed: it cannot tell a prod account from a dev one. Offline plans
(``mlstack check``) put the placeholder account 123456789012 in ARNs when ``mlstack:accountId``
is not set; that placeholder says nothing and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ..kit.settings import applies, environments_property, per_environment
from ..kit.stack import ENVIRONMENTS, config_value, stack_environment
from ..kit.values import get

__all__ = ["POLICY", "NAME", "stack_accounts", "PLACEHOLDER_ACCOUNT"]

NAME = "mlstack-stack-environment-matches-account"
#: The account offline plans use when a stack does not set mlstack:accountId (mlstack.lookups.DEFAULT_ACCOUNT_ID).
PLACEHOLDER_ACCOUNT = "123456789012"
PROVIDER_TYPE = "pulumi:providers:aws"
#: Properties holding the ARN of a role the resource runs as (SageMaker requires one of its own account).
ROLE_PROPERTIES = ("roleArn", "executionRoleArn")
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?P<account>\d{12}):")

_ACCOUNTS = {"type": "array", "items": {"type": "string", "pattern": r"^\d{12}$"}, "uniqueItems": True}


def _accounts_in(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [a for a in value or [] if isinstance(a, str) and _ACCOUNT.match(a)] if isinstance(value, list) else []


def _arn_account(value: Any) -> str | None:
    match = _ARN.match(value) if isinstance(value, str) else None
    return match.group("account") if match else None


def stack_accounts(resources: list[Any]) -> dict[str, list[str]]:
    """Every account the stack's config and resources say it lives in, with where each was read."""
    found: dict[str, list[str]] = {}

    def add(account: str | None, where: str) -> None:
        if account:
            found.setdefault(account, []).append(where)

    declared = config_value("mlstack:accountId")
    add(str(declared) if declared is not None and _ACCOUNT.match(str(declared)) else None, "mlstack:accountId")
    for account in _accounts_in(config_value("aws:allowedAccountIds")):
        add(account, "aws:allowedAccountIds")
    providers = {}
    for resource in resources:
        provider = getattr(resource, "provider", None)  # CrossGuard hands each resource its provider
        if provider is not None and getattr(provider, "resource_type", None) == PROVIDER_TYPE:
            providers[provider.urn] = provider
        if resource.resource_type == PROVIDER_TYPE:
            providers[resource.urn] = resource
            continue
        add(_arn_account(get(resource.props, "arn")), f"the ARN of {resource.name!r}")
        if resource.resource_type.startswith("aws:sagemaker/"):
            for prop in ROLE_PROPERTIES:
                add(_arn_account(get(resource.props, prop)), f"{prop} of {resource.name!r}")
    for provider in providers.values():
        for account in _accounts_in(get(provider.props, "allowedAccountIds")):
            add(account, f"allowedAccountIds of provider {provider.name!r}")
    if "mlstack:accountId" not in {w for ws in found.values() for w in ws}:
        found.pop(PLACEHOLDER_ACCOUNT, None)  # the offline engine's stand-in, not an account
    return found


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    bindings: Mapping[str, list[str]] = {env: list(config.get("environmentAccounts", {}).get(env) or []) for env in ENVIRONMENTS}
    if not any(bindings.values()):
        return  # nothing bound: nothing to judge
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    found = stack_accounts(list(args.resources))
    if not found:
        report_violation(
            f"the stack declares environment {env!r} but nothing says which AWS account it deploys to, and accounts are bound "
            "to environments (environmentAccounts): set mlstack:accountId (or aws:allowedAccountIds) in the stack config so "
            "the account can be checked; a stack whose account is unknown is not trusted with any environment.",
            None,
        )
        return
    for account, where in sorted(found.items()):
        bound = [e for e in ENVIRONMENTS if account in bindings[e]]
        shown = ", ".join(dict.fromkeys(where[:3])) + (" ..." if len(where) > 3 else "")
        if bound and env not in bound:
            report_violation(
                f"the stack declares environment {env!r} but lives in account {account} ({shown}), which environmentAccounts "
                f"binds to {', '.join(bound)}; an {'/'.join(bound)} account's stack must declare mlstack:environment "
                f"{bound[0]!r} (and get its rules), or deploy it to an account bound to {env}.",
                None,
            )
        elif not bound and bindings[env]:
            report_violation(
                f"the stack declares environment {env!r} but lives in account {account} ({shown}), which is not among the "
                f"accounts environmentAccounts binds to {env} ({', '.join(bindings[env])}); deploy it to one of them or add "
                "the account to the binding in the policy pack config.",
                None,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that the AWS account a stack deploys to (mlstack:accountId, aws:allowedAccountIds, the ARNs of its "
        "resources and execution roles) is bound to the environment the stack declares (environmentAccounts), and fails "
        "closed when accounts are bound but the stack's account is unknown."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["accounts"],
    display_name="Stack environment matches its account",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "a stack's account must be bound to its environment"),
            "environmentAccounts": per_environment(
                _ACCOUNTS,
                {env: [] for env in ENVIRONMENTS},
                "Per environment: the AWS account ids (12 digits) bound to it. A stack must live in an account bound to the "
                "environment it declares and in no account bound to another. Empty lists bind nothing.",
            ),
        }
    ),
    remediation_steps="Set mlstack:accountId on every stack and bind each account to one environment in the pack config.",
)
