"""Checks that a prod stack keeps its promotion decisions in a signed, append-only log
(``mlstack-audit-log-object-locked``).

The decision log is the bucket tagged ``mlstack:audit-log`` (what ``mlstack:audit`` builds,
:class:`mlstack.components.audit.AuditLog`). In the environments the policy covers (default:
prod), a stack with a model registry must have one, and it must:

* be created with S3 Object Lock (``objectLockEnabled: true``), with a default retention in
  COMPLIANCE mode of at least ``minRetentionDays`` (default 2555, seven years) — in governance
  mode privileged principals can delete records;
* be versioned (``BucketVersioning`` status Enabled);
* have a bucket policy denying everyone ``s3:DeleteObject`` and ``s3:DeleteObjectVersion``
  without a condition;
* have its records signed: a KMS key tagged ``mlstack:audit-log`` with key spec ECC_NIST_P256 and
  usage SIGN_VERIFY in the same stack.

Encryption and public access of the bucket are judged by the storage and public access policies.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from ..kit.iam import parse
from ..kit.index import StackIndex, physical_name
from ..kit.resource_types import BUCKET_TYPES, GROUP_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import stack_environment
from ..kit.values import UNKNOWN, get, number, tags_of

__all__ = ["POLICY", "NAME", "AUDIT_TAG"]

NAME = "mlstack-audit-log-object-locked"
AUDIT_TAG = "mlstack:audit-log"
LOCK_TYPES = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
KEY_TYPE = "aws:kms/key:Key"
DEFAULT_MIN_DAYS = 2555
REQUIRED_DENIES = ("s3:deleteobject", "s3:deleteobjectversion")
FIX = "declare mlstack:audit (on by default in prod; do not set enabled: false)"


def _tagged(resource: Any) -> bool:
    tags = tags_of(resource.props)
    return tags is not UNKNOWN and AUDIT_TAG in tags


def _retention_days(rule: Any) -> float | None | Any:
    retention = get(rule, "defaultRetention")
    if retention is UNKNOWN:
        return UNKNOWN
    days, years = number(get(retention, "days")), number(get(retention, "years"))
    if days is not None:
        return days
    return years * 365 if years is not None else None


def _lock_problems(index: StackIndex, bucket: Any, min_days: float) -> list[str]:
    if get(bucket.props, "objectLockEnabled") not in (True, UNKNOWN):
        return ["must be created with S3 Object Lock (object_lock_enabled=True), but it is not"]
    locks = index.users(bucket, *LOCK_TYPES)
    if not locks:
        return [f"must have an Object Lock default retention in COMPLIANCE mode of at least {min_days:g} days, but has none"]
    problems = []
    for lock in locks:
        rule = get(lock.props, "rule")
        if rule is UNKNOWN:
            continue
        mode = get(rule, "defaultRetention", "mode")
        if mode not in ("COMPLIANCE", UNKNOWN):
            problems.append(f"must lock records in COMPLIANCE mode, but {lock.name!r} uses {mode!r} (privileged principals can delete them)")
        days = _retention_days(rule)
        if days is not UNKNOWN and (days is None or days < min_days):
            problems.append(f"must keep records at least {min_days:g} days, but {lock.name!r} retains them {'for no default period' if days is None else f'{days:g} days'}")
    return problems


def _versioned(index: StackIndex, bucket: Any) -> bool:
    for versioning in index.users(bucket, *VERSIONING_TYPES):
        status = get(versioning.props, "versioningConfiguration", "status")
        if status in ("Enabled", UNKNOWN):
            return True
    return False


def _covers_records(statement: Any, bucket: Any) -> bool:
    """Whether the statement's resources cover every object of ``bucket`` (any, when its name is
    not known until deployment)."""
    name = physical_name(bucket)
    if not isinstance(name, str) or not name:
        return True
    probe = f"arn:aws:s3:::{name}/log/000000000001.json"
    # Resource ARNs in any partition: compare what follows the partition.
    return any(fnmatch.fnmatchcase(probe.split(":", 2)[2], r.split(":", 2)[2] if r.count(":") >= 2 else r) or r == "*" for r in statement.resources)


def _denies_deletes(index: StackIndex, bucket: Any) -> bool | Any:
    for policy in index.users(bucket, POLICY_TYPE):
        parsed = parse(get(policy.props, "policy"))
        if parsed is UNKNOWN:
            return UNKNOWN
        denied: set[str] = set()
        for statement in parsed.statements:
            # Only a deny of everyone, unconditionally, on the records: a NotPrincipal spares
            # someone, a condition spares whoever does not meet it, another resource spares these.
            if statement.allow or statement.not_action or statement.not_principal or statement.not_resource or statement.conditions:
                continue
            if "*" not in statement.principals.get("*", ()) and "*" not in statement.of_kind("aws"):
                continue
            if not _covers_records(statement, bucket):
                continue
            denied.update(a for a in REQUIRED_DENIES if any(fnmatch.fnmatchcase(a, pattern) for pattern in statement.actions))
        if denied >= set(REQUIRED_DENIES):
            return True
    return False


def _signing_key(index: StackIndex) -> bool:
    for key in index.of_type(KEY_TYPE):
        if not _tagged(key):
            continue
        spec, usage = get(key.props, "customerMasterKeySpec"), get(key.props, "keyUsage")
        if spec in ("ECC_NIST_P256", UNKNOWN) and usage in ("SIGN_VERIFY", UNKNOWN):
            return True
    return False


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    min_days = float(config.get("minRetentionDays") or DEFAULT_MIN_DAYS)
    index = StackIndex(args.resources)
    buckets = [b for b in index.of_type(*BUCKET_TYPES) if _tagged(b)]
    if not buckets:
        for group in index.of_type(GROUP_TYPE):
            report_violation(
                f"model package group {group.name!r} must have its promotion decisions recorded in a signed, append-only "
                f"decision log in {env}, but the stack has no audit bucket (an S3 bucket tagged {AUDIT_TAG}); {FIX}.",
                group.urn,
            )
        return
    signed = _signing_key(index)
    for bucket in buckets:
        problems = _lock_problems(index, bucket, min_days)
        if not _versioned(index, bucket):
            problems.append("must be versioned (aws.s3.BucketVersioning status Enabled), but is not")
        if _denies_deletes(index, bucket) is False:
            problems.append("must have a bucket policy denying everyone s3:DeleteObject and s3:DeleteObjectVersion, but has none")
        if not signed:
            problems.append(f"must have its records signed by a KMS key tagged {AUDIT_TAG} with key spec ECC_NIST_P256 and usage SIGN_VERIFY, but the stack has none")
        for problem in problems:
            report_violation(f"audit bucket {bucket.name!r} {problem}; {FIX}.", bucket.urn)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that a prod stack records promotion decisions in an audit bucket with S3 Object Lock in compliance mode, "
        "versioning, a policy denying deletes, and an ECC_NIST_P256 signing key."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["registry", "lineage"],
    display_name="Decisions recorded in an object-locked, signed log",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(("prod",), "promotion decisions must be recorded in an object-locked, signed log"),
            "minRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_DAYS,
                "description": "The shortest Object Lock default retention, in days, the audit bucket may have (default seven years).",
            },
        }
    ),
    remediation_steps="Declare mlstack:audit (on by default in prod) with mode: compliance and a retention of at least seven years.",
)

