"""AuditLog: the bucket and signing key of a stack's signed, append-only decision log.

Children (``<name>`` is the component's name):

* ``<name>-key`` — a symmetric KMS key (rotated yearly) encrypting the records;
* ``<name>-records`` — the bucket, created with S3 Object Lock (only possible at creation),
  versioned, SSE-KMS, every public access block on, and a policy that on top of the usual
  (TLS only, the bucket's own key) denies deleting objects or versions, bypassing governance
  retention, lifecycle rules (which could expire records), and any ``PutObject`` without
  ``If-None-Match`` — so a record can only be created, never overwritten (the condition key
  ``s3:if-none-match``: AWS S3 user guide, "Enforce conditional writes on Amazon S3 buckets");
* ``<name>-records-lock`` — the Object Lock default retention (COMPLIANCE: nobody, the account
  root included, can delete a record version or shorten its retention until it ends);
* ``<name>-signing-key`` and its alias ``alias/mlstack/<stack>/audit-signing`` — an asymmetric
  ECC_NIST_P256 SIGN_VERIFY key; the private half never leaves KMS, and the day-2 commands find
  it by the alias.

Example::

    log = AuditLog("audit", AuditLogArgs(
        bucket_name=audit_bucket_name("churn-prod", account, "eu-west-1"),
        key_alias=signing_key_alias("churn-prod"),
        mode="compliance", retention_years=7,
        tags=lineage.tags(extra={"mlstack:audit-log": "decisions"}),
    ))
    pulumi.export("auditLog", {"bucket": log.bucket_name, "signingKeyArn": log.signing_key_arn})

The bucket is never force-destroyed: deleting the stack leaves the locked records in place.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field, model_validator

from ..specs.audit import LockMode, MAX_DAYS, MAX_YEARS
from .base import Component, ComponentArgs
from .secure import create_key, encrypted_bucket

__all__ = ["AuditLog", "AuditLogArgs", "AUDIT_TAG", "deny_tampering_statements", "SIGNING_KEY_SPEC", "SIGNING_KEY_USAGE"]

#: The tag naming the decision log's bucket and signing key (the policy pack finds them by it).
AUDIT_TAG = "mlstack:audit-log"
SIGNING_KEY_SPEC = "ECC_NIST_P256"
SIGNING_KEY_USAGE = "SIGN_VERIFY"


class AuditLogArgs(ComponentArgs):
    """Inputs of :class:`AuditLog`."""

    bucket_name: str = Field(min_length=3, max_length=63)
    """The audit bucket's name (mlstack.specs.audit.audit_bucket_name gives the one the day-2 commands look for)."""
    key_alias: str = Field(pattern=r"^alias/[a-zA-Z0-9/_-]+$")
    """The signing key's alias (mlstack.specs.audit.signing_key_alias)."""
    mode: LockMode = LockMode.COMPLIANCE
    """Object Lock mode of every record (default compliance)."""
    retention_days: Optional[int] = Field(default=None, ge=1, le=MAX_DAYS)
    """Default retention in days (give this or retention_years)."""
    retention_years: Optional[int] = Field(default=None, ge=1, le=MAX_YEARS)
    """Default retention in years."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every child, lineage tags included."""

    @model_validator(mode="after")
    def _one_retention(self) -> "AuditLogArgs":
        if (self.retention_days is None) == (self.retention_years is None):
            raise ValueError("give exactly one of retention_days and retention_years")
        return self


def deny_tampering_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """The audit bucket's policy statements that keep records append-only, for every principal."""
    objects = f"{bucket_arn}/*"
    return [
        {
            "Sid": "DenyRecordDeletion",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
            "Resource": objects,
        },
        {
            "Sid": "DenyExpiringRecords",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:PutLifecycleConfiguration"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "DenyOverwritingRecords",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {"s3:if-none-match": "true"}},
        },
    ]


class AuditLog(Component, token="mlstack:index:AuditLog"):
    """The Object Lock bucket and KMS signing key of a stack's decision log (see the module docstring)."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    signing_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AuditLogArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.args = args
        tags = {**args.tags, AUDIT_TAG: "decisions"}
        child = pulumi.ResourceOptions(parent=self)

        self.key = create_key(name, description=f"encrypts the decision log records in {args.bucket_name}", tags=tags, parent=self)
        self.records = encrypted_bucket(
            f"{name}-records",
            key_arn=self.key.arn,
            tags=tags,
            parent=self,
            bucket_name=args.bucket_name,
            object_lock=True,
            extra_statements=deny_tampering_statements,
        )
        retention: dict[str, Any] = {"mode": args.mode.value.upper()}
        if args.retention_years is not None:
            retention["years"] = args.retention_years
        else:
            retention["days"] = args.retention_days
        self.lock = aws.s3.BucketObjectLockConfiguration(
            f"{name}-records-lock",
            bucket=self.records.bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": retention},
            # Versioning first: S3 refuses an Object Lock configuration on an unversioned bucket.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.records.versioning]),
        )
        self.signing_key = aws.kms.Key(
            f"{name}-signing-key",
            description=f"signs the records of the decision log in {args.bucket_name}",
            customer_master_key_spec=SIGNING_KEY_SPEC,
            key_usage=SIGNING_KEY_USAGE,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        self.signing_alias = aws.kms.Alias(f"{name}-signing-key-alias", name=args.key_alias, target_key_id=self.signing_key.key_id, opts=child)
        self.bucket_name = self.records.name
        self.bucket_arn = self.records.arn
        self.signing_key_arn = self.signing_key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn, "signing_key_arn": self.signing_key_arn})
