"""No public access: ``mlstack-s3-bucket-blocks-public-access`` and ``mlstack-sagemaker-runs-in-vpc``."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    ENVIRONMENTS,
    UNKNOWN,
    StackIndex,
    applies,
    documents,
    environment_of,
    environments_property,
    get,
    is_set,
    nodes,
    stack_environment,
)
from .encryption import BUCKET_TYPES

__all__ = ["S3_POLICY", "VPC_POLICY"]

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


def validate_s3(args: StackValidationArgs, report_violation: ReportViolation) -> None:
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


S3_POLICY = StackValidationPolicy(
    name="mlstack-s3-bucket-blocks-public-access",
    description=(
        "Checks that every S3 bucket has a public access block with all four flags on and no public canned ACL."
    ),
    validate=validate_s3,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    display_name="S3 buckets block public access",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(ENVIRONMENTS, "S3 buckets must block public access")}
    ),
    remediation_steps="Give every bucket an aws.s3.BucketPublicAccessBlock with all four flags set to True.",
)


MODEL_TYPE = "aws:sagemaker/model:Model"
VPC_FIX = "pass the stack's private subnets and a security group (vpc_config / network_config) so traffic stays off the internet"


def _vpc_ok(vpc: Any) -> bool:
    if vpc is UNKNOWN:
        return True
    return is_set(get(vpc, "subnets") or get(vpc, "Subnets")) and is_set(get(vpc, "securityGroupIds") or get(vpc, "SecurityGroupIds"))


def _isolation_problem(value: Any) -> bool:
    """Network isolation is off: false, or not set (SageMaker's default is off)."""
    return value is not True and value is not UNKNOWN


def validate_vpc(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not args.resource_type.startswith("aws:"):
        return
    config = args.get_config()
    env = environment_of(args.props, args.stack_tags)
    in_vpc = applies(config, env)
    isolated = env in (config.get("networkIsolationEnvironments") or ())
    if not (in_vpc or isolated):
        return
    if args.resource_type == MODEL_TYPE:
        if in_vpc and not _vpc_ok(get(args.props, "vpcConfig", default={})):
            report_violation(
                f"SageMaker model {args.name!r} must run its endpoint containers inside a VPC; set vpc_config with "
                f"subnets and security_group_ids: {VPC_FIX}.",
                None,
            )
        if isolated and _isolation_problem(get(args.props, "enableNetworkIsolation")):
            report_violation(
                f"SageMaker model {args.name!r} must run its containers network-isolated in {env} (no outbound calls from "
                f"the model code); set enable_network_isolation=True (endpoint networkIsolation: true, the default).",
                None,
            )
        return
    for prop, document in documents(args.props):
        for path, node in nodes(document):
            if isinstance(node.get("ResourceConfig"), dict) and "AlgorithmSpecification" in node:
                if in_vpc and not _vpc_ok(node.get("VpcConfig") or {}):
                    report_violation(
                        f"training job at {prop} {path or '(top)'} must run inside a VPC; set VpcConfig with Subnets and "
                        f"SecurityGroupIds: {VPC_FIX}.",
                        None,
                    )
                if isolated and _isolation_problem(node.get("EnableNetworkIsolation")):
                    report_violation(
                        f"training job at {prop} {path or '(top)'} must run network-isolated in {env} (the training code "
                        "cannot send data out); set EnableNetworkIsolation to true (training.networkIsolation: true, the default).",
                        None,
                    )
            if in_vpc and isinstance(node.get("ProcessingResources"), dict):
                if not _vpc_ok(get(node, "NetworkConfig", "VpcConfig", default={})):
                    report_violation(
                        f"processing job at {prop} {path or '(top)'} must run inside a VPC; set NetworkConfig.VpcConfig "
                        f"with Subnets and SecurityGroupIds: {VPC_FIX}.",
                        None,
                    )


VPC_POLICY = ResourceValidationPolicy(
    name="mlstack-sagemaker-runs-in-vpc",
    description=(
        "Checks that SageMaker endpoints (their models) and training and processing jobs run inside a VPC, and that "
        "models and training jobs run network-isolated (prod)."
    ),
    validate=validate_vpc,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="SageMaker runs in a VPC, network-isolated",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(["prod"], "endpoints and jobs must run inside a VPC"),
            "networkIsolationEnvironments": environments_property(
                ["prod"],
                "SageMaker models and training jobs must run with network isolation (processing jobs such as the drift "
                "job call S3 and CloudWatch, so they are not held to it)",
            ),
        }
    ),
    remediation_steps="Give models vpc_config and pipeline steps a network config with private subnets; keep network isolation on.",
)
