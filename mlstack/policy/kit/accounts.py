"""Whose accounts a stack's policies may name: the stack's own (``mlstack:accountId``), its declared
``crossAccountReaders`` and a policy's ``trustedAccounts``; and the principals of a statement that
name anyone else. Shared by the trust, key and resource policy rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .iam import (
    ACCOUNT,
    CALLER_KEYS,
    KEY_POLICIES,
    LAMBDA_PERMISSION,
    RESOURCE_POLICIES,
    SOURCE_KEYS,
    TRUST,
    Statement,
    documents_of,
    principal_account,
    value_account,
)
from .index import StackIndex
from .settings import applies, for_env, per_environment
from .stack import config_value, stack_environment
from .values import get, memo

__all__ = [
    "Accounts",
    "account_properties",
    "principal_problems",
    "stack_prelude",
    "named_accounts",
    "stack_index",
    "stack_accounts",
]



def account_properties() -> dict[str, Any]:
    """The config properties every account-aware policy has."""
    return {
        "trustedAccounts": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^\d{12}$"},
            "uniqueItems": True,
            "default": [],
            "description": "AWS accounts, besides the stack's own (mlstack:accountId) and its declared crossAccountReaders, "
            "that policies may name (e.g. a central security or deployment account).",
        },
        "requireAccountId": per_environment(
            {"type": "boolean"},
            {"dev": False, "staging": True, "prod": True},
            "Per environment: whether a stack whose policies name AWS accounts must declare mlstack:accountId. Where "
            "false, a stack that does not declare it may name one account, taken to be its own.",
        ),
    }


@dataclass(frozen=True)
class Accounts:
    """The accounts a stack's policies may name."""

    declared: str | None
    presumed: str | None
    readers: frozenset[str]
    trusted: frozenset[str]
    required: bool

    @property
    def own(self) -> str | None:
        return self.declared or self.presumed

    @property
    def known(self) -> frozenset[str]:
        return frozenset({self.own} if self.own else set()) | self.readers | self.trusted

    def own_words(self) -> str:
        """The stack's own account, in words."""
        if self.declared:
            return f"the stack's own account {self.own} (mlstack:accountId)"
        if self.presumed:
            return f"the stack's own account {self.own} (presumed: the only one named; declare it as mlstack:accountId)"
        return "the stack's own account (mlstack:accountId, not declared)"

    def allowed(self) -> str:
        """The accounts a policy may name, in words."""
        parts = [self.own_words()]
        if self.readers:
            parts.append(f"its crossAccountReaders {', '.join(sorted(self.readers))}")
        if self.trusted:
            parts.append(f"trustedAccounts {', '.join(sorted(self.trusted))}")
        return " or ".join(parts)

    def fix(self, account: str | None) -> str:
        """How to make a policy that names ``account`` acceptable (a sentence for a message)."""
        if not self.declared and self.required:
            return (
                "This environment requires a stack whose policies name AWS accounts to declare its own: set "
                "mlstack:accountId (and crossAccountReaders for accounts it shares with)."
            )
        if not self.declared and not self.presumed:
            return "The stack names several accounts and does not declare its own: set mlstack:accountId."
        if account is None:
            return "Write the principal as an account id or an ARN that holds one."
        return f"Remove it, or list {account} in the policy's trustedAccounts if that account is trusted."


def principal_problems(statement: Statement, accounts: Accounts, *, opens: str) -> list[str]:
    """Public and undeclared-account principals of one Allow statement. ``opens``: what
    ``Principal: "*"`` does here (``lets anyone assume the role``)."""
    if not statement.allow:
        return []
    out: list[str] = []
    if statement.public and not statement.restricted(CALLER_KEYS, accounts.known):
        who = "NotPrincipal: everyone not listed" if statement.not_principal else 'Principal "*"'
        limits = [c for c in statement.conditions if c.key in CALLER_KEYS and c.positive]
        if limits:
            named = ", ".join(sorted({v for c in limits for v in c.values}))
            out.append(
                f"{opens} ({who}) limited by {', '.join(sorted({c.key for c in limits}))} to {named}, which are not all "
                f"declared accounts; it must limit callers to {accounts.allowed()}. "
                + (accounts.fix(None) if not accounts.own else "Name the accounts exactly (no wildcards) with StringEquals.")
            )
        else:
            out.append(
                f"{opens} ({who}); it must name {accounts.allowed()} as principals, or limit callers with a condition on "
                "aws:PrincipalAccount, aws:PrincipalArn or aws:SourceAccount naming them."
            )
    for principal in statement.of_kind("aws"):
        if principal == "*":
            continue
        account = principal_account(principal)
        if account is not None and account in accounts.known:
            continue
        whose = f"of account {account}, which the stack does not declare" if account else "whose account cannot be told"
        out.append(f"names principal {principal!r} {whose}; it must name only {accounts.allowed()}. {accounts.fix(account)}")
    return out


def stack_prelude(args: Any) -> tuple[Any, Accounts] | None:
    """(index, accounts) for a stack policy, or None when it does not apply to the stack's environment."""
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return None
    index = stack_index(args.resources)
    return index, stack_accounts(index, config, env)


def _readers() -> set[str]:
    found: set[str] = set()
    registry = config_value("mlstack:registry")
    models = config_value("mlstack:models")
    settings = [registry] + [m.get("registry") for m in models if isinstance(m, dict)] if isinstance(models, list) else [registry]
    for item in settings:
        readers = item.get("crossAccountReaders") if isinstance(item, dict) else None
        if isinstance(readers, list):
            found.update(str(r) for r in readers if isinstance(r, (str, int)) and ACCOUNT.match(str(r)))
    return found


def named_accounts(index: Any) -> set[str]:
    """Every account the stack's trust, key and resource policies name (principals, source
    conditions), and the accounts of its Lambda permissions."""
    found: set[str] = set()
    for _, _, parsed in documents_of(index, TRUST + KEY_POLICIES + RESOURCE_POLICIES):
        for statement in parsed.statements:
            for principal in statement.of_kind("aws"):
                account = principal_account(principal)
                if account:
                    found.add(account)
            for cond in statement.conditions:
                if cond.key in SOURCE_KEYS | {"aws:principalaccount", "aws:principalarn", "kms:calleraccount"}:
                    found.update(a for a in (value_account(cond.key, v) for v in cond.values) if a)
    for permission in index.of_type(LAMBDA_PERMISSION):
        for prop in ("principal", "sourceAccount"):
            value = get(permission.props, prop)
            if isinstance(value, str) and principal_account(value):
                found.add(principal_account(value))
    return found


def stack_index(resources: Sequence[Any]) -> Any:
    """One :class:`StackIndex` of ``resources`` shared by the policies of one ``mlstack check`` run."""
    return memo(resources, "iam-index", lambda: StackIndex(resources))


def stack_accounts(index: Any, config: Mapping[str, Any], env: str) -> Accounts:
    """The stack's own account (``mlstack:accountId`` of the stack config, which the Pulumi CLI
    hands the pack in ``PULUMI_CONFIG`` and ``mlstack check`` from the stack file), its declared
    ``crossAccountReaders`` and the policy's ``trustedAccounts``. Without ``mlstack:accountId``,
    where ``requireAccountId`` is false for ``env``, the one account the stack's policies name
    (besides readers and trusted accounts) is presumed its own."""
    raw = config_value("mlstack:accountId")
    declared = str(raw) if isinstance(raw, (str, int)) and ACCOUNT.match(str(raw)) else None
    readers = frozenset(_readers())
    trusted = frozenset(a for a in (config.get("trustedAccounts") or ()) if isinstance(a, str))
    required = bool(for_env(config, "requireAccountId", env))
    presumed = None
    if not declared and not required:
        candidates = memo(index, "iam-named-accounts", lambda: named_accounts(index)) - readers - trusted
        if len(candidates) == 1:
            presumed = next(iter(candidates))
    return Accounts(declared=declared, presumed=presumed, readers=readers, trusted=trusted, required=required)
