"""Checks that every S3 bucket blocks public access: a public access block with all four flags on,
and no public canned ACL (``mlstack-s3-bucket-blocks-public-access``).

A bucket counts as blocked by a ``BucketPublicAccessBlock`` whose ``bucket`` input names it (see
:class:`~mlstack.policy.kit.index.StackIndex`), or by an account-wide
``AccountPublicAccessBlock`` with every flag on.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from ..kit.index import StackIndex
from ..kit.resource_types import BUCKET_TYPES
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, stack_environment
from ..kit.values import UNKNOWN, get

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-s3-bucket-blocks-public-access"
PAB_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PAB_TYPE = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PAB_FIX = (
    "add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, block_public_policy=True, "
    "ignore_public_acls=True, restrict_public_buckets=True)"
)


def _open_flags(props: Any) -> list[str]:
    return [flag for flag in PAB_FLAGS if get(props, flag) is not True and get(props, flag) is not UNKNOWN]


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    if not applies(args.get_config(), stack_environment(args.resources, args.stack_tags)):
        return
    index = StackIndex(args.resources)
    blocks = index.of_type(PAB_TYPE)
    for block in blocks:
        flags = _open_flags(block.props)
        if flags:
            report_violation(
                f"public access block {block.name!r} must set all four flags to true; {', '.join(flags)} "
                f"{'is' if len(flags) == 1 else 'are'} not. Set {', '.join(flags)} to True.",
                block.urn,
            )
    account_wide = any(not _open_flags(a.props) for a in index.of_type(ACCOUNT_PAB_TYPE))
    for bucket in index.of_type(*BUCKET_TYPES):
        acl = get(bucket.props, "acl")
        if acl in PUBLIC_ACLS:
            report_violation(
                f"S3 bucket {bucket.name!r} must not grant public access, but its acl is {acl!r}; remove acl "
                "(buckets are private by default) and grant access with IAM policies scoped to roles.",
                bucket.urn,
            )
        if account_wide or any(index.linked(block, bucket) for block in blocks):
            continue
        report_violation(f"S3 bucket {bucket.name!r} must block every kind of public access; {PAB_FIX}.", bucket.urn)
    for acl_resource in index.of_type(*ACL_TYPES):
        acl = get(acl_resource.props, "acl")
        if acl in PUBLIC_ACLS:
            report_violation(
                f"bucket ACL {acl_resource.name!r} must not grant public access (acl is {acl!r}); remove it or use "
                "'private'.",
                acl_resource.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every S3 bucket has a public access block with all four flags on and no public canned ACL."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["network"],
    display_name="S3 buckets block public access",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(ENVIRONMENTS, "S3 buckets must block public access")}
    ),
    remediation_steps="Give every bucket an aws.s3.BucketPublicAccessBlock with all four flags set to True.",
)
