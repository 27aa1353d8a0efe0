"""``mlstack:audit``: the stack's signed, append-only decision log.

Every ``mlstack promote`` decision and every ``mlstack verify`` result is written to an audit
bucket (S3 Object Lock, versioned, KMS-encrypted, deletes denied) as one JSON record signed with
an asymmetric KMS key; ``mlstack audit verify`` walks the log. The log is on by default in prod
and off elsewhere.

Example (a stack file)::

    mlstack:audit:
      retention: 7y          # default in prod; "90d" for days (S3 Object Lock default retention)
      mode: compliance       # nobody, not even the account root, can delete or shorten it

Nothing here imports Pulumi; the bucket and key names are pure functions shared by the component
(:mod:`mlstack.components.audit`) and the day-2 commands (:mod:`mlstack.audit`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Optional

from pydantic import Field, StringConstraints, field_validator

from .base import Spec

__all__ = [
    "AuditSpec",
    "LockMode",
    "AuditLogSettings",
    "resolve_audit",
    "audit_problems",
    "audit_bucket_name",
    "signing_key_alias",
    "PROD_RETENTION",
    "OTHER_RETENTION",
]

#: The default retention in prod: seven years, as financial and model-risk rules commonly ask.
PROD_RETENTION = "7y"
#: The default retention elsewhere, when the log is switched on there.
OTHER_RETENTION = "30d"
#: S3 Object Lock's limits on DefaultRetention (botocore s3 shape DefaultRetention; AWS documents
#: at most 36500 days or 100 years).
MAX_DAYS, MAX_YEARS = 36500, 100
_RETENTION = re.compile(r"^([1-9][0-9]{0,4})([dy])$")
_BUCKET = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"


class LockMode(str, Enum):
    """S3 Object Lock retention mode of the audit bucket's records."""

    COMPLIANCE = "compliance"
    """No one, the account root included, can delete a record or shorten its retention."""
    GOVERNANCE = "governance"
    """Principals with s3:BypassGovernanceRetention can delete records (not allowed in prod)."""


class AuditSpec(Spec):
    """The signed decision log of the stack (see mlstack audit verify)."""

    enabled: Optional[bool] = None
    """Whether the stack has a decision log (default: on in prod, off in dev and staging)."""
    retention: Optional[str] = Field(default=None, json_schema_extra={"pattern": _RETENTION.pattern})
    """How long each record is locked: <n>d days or <n>y years (default: 7y in prod, 30d elsewhere)."""
    mode: LockMode = LockMode.COMPLIANCE
    """compliance (default): no one can delete a record before its retention ends; governance: principals with s3:BypassGovernanceRetention can (refused in prod)."""
    bucket_name: Optional[Annotated[str, StringConstraints(pattern=_BUCKET)]] = None
    """The audit bucket's name (default: <stack>-audit-<account>-<region>, shortened with a hash when longer than 63 characters); set it when that name is taken."""

    @field_validator("retention")
    @classmethod
    def _retention(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        match = _RETENTION.match(value)
        if not match:
            raise ValueError("is a number of days or years such as 90d or 7y")
        number, unit = int(match.group(1)), match.group(2)
        if unit == "d" and number > MAX_DAYS or unit == "y" and number > MAX_YEARS:
            raise ValueError(f"is at most {MAX_DAYS}d or {MAX_YEARS}y, S3 Object Lock's limit")
        return value


@dataclass(frozen=True)
class AuditLogSettings:
    """The decision log a stack has, its defaults resolved for its environment."""

    mode: LockMode
    days: Optional[int]
    """Retention in days (None when given in years)."""
    years: Optional[int]
    """Retention in years (None when given in days)."""
    bucket_name: Optional[str]
    """The configured bucket name (None: :func:`audit_bucket_name`)."""

    @property
    def retention_days(self) -> int:
        """The retention in days (a year counted as 365 days)."""
        return self.days if self.days is not None else 365 * (self.years or 0)


def resolve_audit(audit: AuditSpec, environment: str) -> Optional[AuditLogSettings]:
    """The log the stack has in ``environment`` (None when it has none)."""
    prod = environment == "prod"
    enabled = prod if audit.enabled is None else audit.enabled
    if not enabled:
        return None
    match = _RETENTION.match(audit.retention or (PROD_RETENTION if prod else OTHER_RETENTION))
    assert match is not None  # checked by AuditSpec
    number, unit = int(match.group(1)), match.group(2)
    return AuditLogSettings(
        mode=audit.mode,
        days=number if unit == "d" else None,
        years=number if unit == "y" else None,
        bucket_name=audit.bucket_name,
    )


def audit_problems(audit: AuditSpec, environment: str) -> list[tuple[tuple[str, ...], str]]:
    """Rules of ``mlstack:audit`` that depend on the environment."""
    if environment != "prod":
        return []
    problems: list[tuple[tuple[str, ...], str]] = []
    if audit.enabled is not False and audit.mode is LockMode.GOVERNANCE:
        problems.append(
            (("audit", "mode"), "is governance, which lets privileged principals delete records; prod decision logs use mode: compliance")
        )
    return problems


def _clean(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def audit_bucket_name(stack: str, account: str, region: str) -> str:
    """``<stack>-audit-<account>-<region>``: one name the deployment and the day-2 commands agree
    on without asking anyone. S3 bucket names are global: the commands pass
    ``ExpectedBucketOwner`` so a bucket of that name in another account is never used. Longer
    than 63 characters, the stack part is cut and a hash of the stack name keeps it unique."""
    tail = f"-audit-{account}-{region}"
    stack_part = _clean(stack) or "stack"
    name = f"{stack_part}{tail}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    room = 63 - len(tail) - len(digest) - 1
    return f"{stack_part[:room].rstrip('-')}-{digest}{tail}"


def signing_key_alias(stack: str) -> str:
    """The alias of the log's signing key: ``alias/mlstack/<stack>/audit-signing``."""
    return f"alias/mlstack/{re.sub(r'[^a-zA-Z0-9/_-]', '-', stack)}/audit-signing"

