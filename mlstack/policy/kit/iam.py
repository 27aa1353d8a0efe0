"""Reading IAM policy documents as AWS evaluates them, for the policies that judge identity
grants, trust policies, key policies and resource policies.

A document arrives as the engine records it: a JSON string (``Output.json_dumps``, a literal) or
a dict. Reading is deliberately suspicious, because a document written to slip past a check must
not be read more kindly than AWS reads it:

* element names are matched case-insensitively (``"effect"`` counts as ``"Effect"``), a
  ``Statement`` may be one object or a list, ``Action``/``Resource``/principal values one string
  or a list;
* only ``Effect: Deny`` denies; any other effect is read as Allow;
* ``NotPrincipal`` in an Allow grants everyone not listed (public), ``NotAction`` every action not
  listed, ``NotResource`` every resource not listed;
* a key written twice in one object is reported (:attr:`Parsed.duplicates`): parsers disagree
  about which one wins;
* a condition restricts only with a positive operator (``StringEquals``, ``StringLike``,
  ``ArnEquals``, ``ArnLike``, ``ForAnyValue:`` of those), never with ``...IfExists`` (true when
  the key is absent), negated operators or ``ForAllValues:`` (true for an empty set); its values
  must name accounts without wildcards.

A statement holding a value not known until deployment is skipped: CrossGuard sees it resolved
when the resource is created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .values import UNKNOWN, get, memo, plain

__all__ = [
    "ACCOUNT",
    "Parsed",
    "Statement",
    "Condition",
    "parse",
    "principal_account",
    "arn_account",
    "value_account",
    "CALLER_KEYS",
    "SOURCE_KEYS",
    "statement_place",
    "kind_name",
    "documents_of",
    "TRUST",
    "KEY_POLICIES",
    "RESOURCE_POLICIES",
    "LAMBDA_PERMISSION",
    "is_aws_managed_key",
]

ACCOUNT = re.compile(r"^\d{12}$")
_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(?P<account>[^:]*):", re.IGNORECASE)

#: Condition keys that say which caller or source account a request comes from: what makes a
#: statement open to ``*`` apply to known accounts only.
CALLER_KEYS = frozenset(
    {"aws:principalaccount", "aws:principalarn", "kms:calleraccount", "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner"}
)
#: Condition keys that tie what a service principal does to one account's resources (the
#: confused-deputy conditions), plus ARN-valued encryption-context keys, which the calling service
#: sets itself (CloudWatch Logs: ``kms:EncryptionContext:aws:logs:arn``).
SOURCE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceowner"})
_ACCOUNT_VALUED = frozenset({"aws:principalaccount", "kms:calleraccount", "aws:sourceaccount", "aws:sourceowner"})

_POSITIVE = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})


def is_aws_managed_key(value: Any) -> bool:
    """Whether a KMS key reference names an AWS-managed key (``alias/aws/sns``,
    ``arn:aws:kms:...:alias/aws/s3``): its key policy cannot be changed or restricted."""
    return isinstance(value, str) and re.search(r"(^|:)alias/aws/", value.strip(), re.IGNORECASE) is not None


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry of a statement's Condition block."""

    operator: str
    key: str  # lower-case: condition keys are case-insensitive
    values: tuple[str, ...]

    @property
    def positive(self) -> bool:
        op = self.operator.strip().lower()
        if op.startswith("foranyvalue:"):
            op = op.removeprefix("foranyvalue:")
        return op in _POSITIVE


@dataclass(frozen=True)
class Statement:
    """One statement, normalised. ``principals`` maps a lower-case kind (``aws``, ``service``,
    ``federated``, ``canonicaluser``) to its values; ``Principal: "*"`` is ``{"*": ("*",)}``."""

    index: int
    sid: str | None
    allow: bool
    actions: tuple[str, ...]  # lower-case: action names are case-insensitive
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    principals: Mapping[str, tuple[str, ...]]
    not_principal: bool
    conditions: tuple[Condition, ...]
    written: tuple[str, ...] = ()  # the actions as written, for messages

    def as_written(self, action: str) -> str:
        """``action`` (lower-case) as the document wrote it."""
        return next((a for a in self.written if a.lower() == action), action)

    @property
    def label(self) -> str:
        return f"{self.sid!r}" if self.sid else f"#{self.index}"

    @property
    def public(self) -> bool:
        """Whether the statement names everyone (``*`` of any kind, or ``NotPrincipal``)."""
        if self.not_principal:
            return True
        return any("*" in values for values in self.principals.values())

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return self.principals.get(kind, ())

    def condition(self, key: str) -> list[Condition]:
        return [c for c in self.conditions if c.key == key.lower()]

    def restricted(self, keys: Iterable[str], known: frozenset[str]) -> bool:
        """Whether a positive condition on one of ``keys`` (or, for the source keys, an ARN-valued
        ``kms:EncryptionContext:*`` key) limits the statement to the ``known`` accounts."""
        keys = frozenset(keys)
        for cond in self.conditions:
            context_arn = keys is SOURCE_KEYS and cond.key.startswith("kms:encryptioncontext:") and cond.key.endswith("arn")
            if not cond.positive or not cond.values or not (cond.key in keys or context_arn):
                continue
            if all(value_account(cond.key, v) in known for v in cond.values):
                return True
        return False


def value_account(key: str, value: str) -> str | None:
    """The account a condition value of ``key`` names, if it names exactly one without wildcards."""
    if key in _ACCOUNT_VALUED:
        return value if ACCOUNT.match(value) else None
    return arn_account(value)


def arn_account(value: str) -> str | None:
    """The 12-digit account of an ARN (None when absent, a wildcard, or not an ARN)."""
    match = _ARN.match(value.strip())
    if match and ACCOUNT.match(match.group("account")):
        return match.group("account")
    return None


def principal_account(principal: str) -> str | None:
    """The account of an AWS principal: ``123456789012``, ``arn:aws:iam::123456789012:root``,
    a role or assumed-role ARN. None when it cannot be told (unique ids, wildcards)."""
    principal = principal.strip()
    if ACCOUNT.match(principal):
        return principal
    return arn_account(principal)


@dataclass(frozen=True)
class Parsed:
    """A parsed document: its statements, and the keys written twice in one object."""

    statements: tuple[Statement, ...]
    duplicates: tuple[str, ...]


_NOTHING = Parsed((), ())


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    dupes: list[str] = []
    for key, value in pairs:
        folded = key.lower() if isinstance(key, str) else key
        if folded in seen:
            dupes.append(key)
        seen.add(folded)
        out[key] = value
    if dupes:
        out.setdefault("\0duplicates", []).extend(dupes)
    return out


def _collect_duplicates(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        found.extend(value.pop("\0duplicates", []))
        for item in value.values():
            _collect_duplicates(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_duplicates(item, found)


def _element(obj: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """(present, value) of a policy element, its name matched case-insensitively."""
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == name:
            return True, value
    return False, None


def _strings(value: Any) -> tuple[str, ...] | None:
    """A one-or-many string element as a tuple; None when it holds an unknown value."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is UNKNOWN:
            return None
        if item is None:
            continue
        out.append(item if isinstance(item, str) else json.dumps(item))
    return tuple(out)


def _principals(value: Any) -> dict[str, tuple[str, ...]] | None:
    if value is UNKNOWN:
        return None
    if isinstance(value, str):
        return {"*": ("*",)} if value.strip() == "*" else {"aws": (value,)}
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for kind, items in value.items():
        strings = _strings(items)
        if strings is None:
            return None
        out[str(kind).lower()] = tuple(s.strip() for s in strings)
    return out


def _conditions(value: Any) -> tuple[Condition, ...] | None:
    if value is UNKNOWN:
        return None
    if not isinstance(value, Mapping):
        return ()
    out = []
    for operator, block in value.items():
        if block is UNKNOWN:
            return None
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            strings = _strings(values)
            if strings is None:
                return None
            out.append(Condition(str(operator), str(key).strip().lower(), tuple(s.strip() for s in strings)))
    return tuple(out)


def _statement(index: int, raw: Mapping[str, Any]) -> Statement | None:
    _, effect = _element(raw, "effect")
    if effect is UNKNOWN:
        return None
    has_action, action = _element(raw, "action")
    has_not_action, not_action = _element(raw, "notaction")
    has_resource, resource = _element(raw, "resource")
    has_not_resource, not_resource = _element(raw, "notresource")
    has_principal, principal = _element(raw, "principal")
    has_not_principal, not_principal = _element(raw, "notprincipal")
    _, condition = _element(raw, "condition")
    _, sid = _element(raw, "sid")
    actions = _strings(not_action if has_not_action and not has_action else action) if (has_action or has_not_action) else ()
    resources = _strings(not_resource if has_not_resource and not has_resource else resource) if (has_resource or has_not_resource) else ()
    principals = _principals(not_principal if has_not_principal and not has_principal else principal) if (has_principal or has_not_principal) else {}
    conditions = _conditions(condition) if condition is not None else ()
    if actions is None or resources is None or principals is None or conditions is None:
        return None
    return Statement(
        index=index,
        sid=sid if isinstance(sid, str) and sid else None,
        allow=not (isinstance(effect, str) and effect.strip().lower() == "deny"),
        actions=tuple(a.strip().lower() for a in actions),
        not_action=has_not_action,
        resources=tuple(r.strip() for r in resources),
        not_resource=has_not_resource,
        principals=principals,
        not_principal=has_not_principal,
        conditions=conditions,
        written=tuple(a.strip() for a in actions),
    )


def parse(value: Any) -> Parsed | Any:
    """The statements of a policy document (a JSON string or a dict), :data:`UNKNOWN` when the
    document is not known until deployment. A document AWS would reject (not JSON, not an
    object) grants nothing and reads as empty."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        return memo(value, "iam-parse", lambda: _parse_text(value))
    if isinstance(value, Mapping):
        return memo(value, "iam-parse", lambda: _parse_object(plain(value), []))
    return _NOTHING


def _parse_text(text: str) -> Parsed:
    text = text.strip().lstrip("\ufeff")
    if not text.startswith("{"):
        return _NOTHING
    try:
        document = json.loads(text, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return _NOTHING
    dupes: list[str] = []
    _collect_duplicates(document, dupes)
    return _parse_object(document, dupes)


def _parse_object(document: Any, dupes: list[str]) -> Parsed:
    if not isinstance(document, Mapping):
        return _NOTHING
    _, raw = _element(document, "statement")
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        return Parsed((), tuple(dupes))
    statements = []
    for i, item in enumerate(raw):
        if isinstance(item, Mapping):
            parsed = _statement(i, item)
            if parsed is not None:
                statements.append(parsed)
    return Parsed(tuple(statements), tuple(dupes))


# --- where documents live ------------------------------------------------------------------------

ROLE = "aws:iam/role:Role"
#: Trust policies: (type, property).
TRUST = ((ROLE, "assumeRolePolicy"),)
#: Key policies.
KEY_POLICIES = (
    ("aws:kms/key:Key", "policy"),
    ("aws:kms/keyPolicy:KeyPolicy", "policy"),
    ("aws:kms/replicaKey:ReplicaKey", "policy"),
    ("aws:kms/replicaExternalKey:ReplicaExternalKey", "policy"),
    ("aws:kms/externalKey:ExternalKey", "policy"),
)
#: Resource policies of the stores and registries a stack shares or exposes.
RESOURCE_POLICIES = (
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
    ("aws:s3/bucket:Bucket", "policy"),
    ("aws:s3/bucketV2:BucketV2", "policy"),
    ("aws:sns/topic:Topic", "policy"),
    ("aws:sns/topicPolicy:TopicPolicy", "policy"),
    ("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "resourcePolicy"),
    ("aws:sqs/queue:Queue", "policy"),
    ("aws:sqs/queuePolicy:QueuePolicy", "policy"),
    ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"),
    ("aws:secretsmanager/secret:Secret", "policy"),
    ("aws:secretsmanager/secretPolicy:SecretPolicy", "policy"),
    ("aws:efs/fileSystemPolicy:FileSystemPolicy", "policy"),
    ("aws:cloudwatch/eventBusPolicy:EventBusPolicy", "policy"),
)
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"

KIND_NAMES = {
    ROLE: "IAM role",
    "aws:kms/key:Key": "KMS key",
    "aws:kms/keyPolicy:KeyPolicy": "KMS key policy",
    "aws:kms/replicaKey:ReplicaKey": "KMS replica key",
    "aws:s3/bucketPolicy:BucketPolicy": "S3 bucket policy",
    "aws:s3/bucket:Bucket": "S3 bucket",
    "aws:s3/bucketV2:BucketV2": "S3 bucket",
    "aws:sns/topic:Topic": "SNS topic",
    "aws:sns/topicPolicy:TopicPolicy": "SNS topic policy",
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": "model package group policy",
    "aws:sqs/queue:Queue": "SQS queue",
    "aws:sqs/queuePolicy:QueuePolicy": "SQS queue policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "ECR repository policy",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "secret policy",
    LAMBDA_PERMISSION: "Lambda permission",
}


def kind_name(resource_type: str) -> str:
    return KIND_NAMES.get(resource_type, resource_type.rsplit(":", 1)[-1])


def statement_place(kind: str, prop: str) -> str:
    """Where a statement is, after the resource's kind and name: "" for a policy resource
    (``SNS topic policy 'x' statement``), the property otherwise (``SNS topic 'x' policy statement``)."""
    return "" if kind.endswith("policy") else f"{prop} "


def documents_of(index: Any, places: Sequence[tuple[str, str]]) -> Iterator[tuple[Any, str, Parsed]]:
    """(resource, property, parsed document) for every known document at ``places``."""
    for type_, prop in places:
        for resource in index.of_type(type_):
            value = get(resource.props, prop)
            if value is None:
                continue
            parsed = parse(value)
            if parsed is UNKNOWN:
                continue
            yield resource, prop, parsed
