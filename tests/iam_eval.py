"""A small offline evaluator of IAM policy statements, for the exact statements mlstack generates.

It follows AWS's policy evaluation logic for what those statements use (IAM User Guide, "Policy
evaluation logic" and "Cross-account policy evaluation logic"): an explicit Deny wins; otherwise
a request is allowed only by an Allow whose Action, Resource, Principal and every Condition
match; across accounts both the caller's identity policy and the resource's policy must allow.
Conditions: StringEquals, StringNotEquals, StringLike, ArnLike, Bool and their ``...IfExists``
forms, with multi-valued policy values (any matches). Missing context keys fail a condition
unless it is ``...IfExists`` (or a negated operator, which AWS evaluates as true).

Not a general IAM simulator: no NotPrincipal, no policy variables, no ForAnyValue/ForAllValues.
A statement using something it does not know raises, so a test cannot pass by ignoring it.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

ALLOW, DENY, IMPLICIT_DENY = "Allow", "Deny", "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    principal: str
    """The caller's ARN, e.g. arn:aws:iam::345678901234:role/prod-endpoint (its account is ARN part 5)."""
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    # IAM wildcards: * any run, ? one character; no character classes.
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value if case else value.lower(), escaped if case else escaped.lower())


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or set(principal) - {"AWS", "Service"}:
        raise AssertionError(f"unsupported Principal {principal!r}")
    for entry in _list(principal.get("AWS", [])):
        if entry == "*":
            return True
        if entry.endswith(":root") and entry.split(":")[4] == request.account:
            return True  # the account: any principal it delegates to through its own IAM
        if entry == request.principal:
            return True
    return False


_OPERATORS = {
    "StringEquals": lambda want, got: got == want,
    "StringNotEquals": lambda want, got: got != want,
    "StringLike": lambda want, got: _glob(want, got),
    "ArnLike": lambda want, got: _glob(want, got),
    "Bool": lambda want, got: str(got).lower() == str(want).lower(),
}


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in _OPERATORS:
        raise AssertionError(f"unsupported condition operator {operator!r}")
    negated = "Not" in base
    if key not in context:
        return if_exists or negated
    got_values = _list(context[key])
    test = _OPERATORS[base]
    if negated:  # every value given differs from every wanted value
        return all(all(test(w, g) for w in _list(wanted)) for g in got_values)
    return any(test(w, g) for w in _list(wanted) for g in got_values)


def statement_matches(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    unknown = set(statement) - {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
    if unknown:
        raise AssertionError(f"unsupported statement elements {sorted(unknown)}")
    if resource_policy:
        if not _principal_matches(statement.get("Principal"), request):
            return False
    elif "Principal" in statement:
        raise AssertionError("an identity policy statement has no Principal")
    if not any(_glob(a, request.action, case=False) for a in _list(statement["Action"])):
        return False
    # A resource policy statement without Resource applies to the resource it is attached to (ECR, KMS use "*").
    resources = _list(statement.get("Resource", "*"))
    if not any(_glob(r, request.resource) for r in resources):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, wanted, request.context):
                return False
    return True


def decide(statements: Iterable[Mapping[str, Any]], request: Request, *, resource_policy: bool) -> str:
    """Allow, Deny (explicit) or ImplicitDeny for one policy."""
    verdict = IMPLICIT_DENY
    for statement in statements:
        if statement_matches(statement, request, resource_policy=resource_policy):
            if statement["Effect"] == "Deny":
                return DENY
            verdict = ALLOW
    return verdict


def statements(policy: str | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    return list(_list(document["Statement"]))


def cross_account(identity: Iterable[Mapping[str, Any]], resource: Iterable[Mapping[str, Any]], request: Request) -> str:
    """A caller in one account on a resource in another: both policies must allow, no Deny."""
    mine = decide(identity, request, resource_policy=False)
    theirs = decide(resource, request, resource_policy=True)
    if DENY in (mine, theirs):
        return DENY
    return ALLOW if mine == theirs == ALLOW else IMPLICIT_DENY
