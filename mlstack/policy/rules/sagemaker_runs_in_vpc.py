"""Checks that SageMaker endpoints and jobs run inside a VPC, and that models and training jobs run
network-isolated (both in prod by default; ``mlstack-sagemaker-runs-in-vpc``).

Models are judged by their ``vpc_config`` and ``enable_network_isolation``; training and
processing jobs wherever a JSON document in the properties describes one (a pipeline
definition, a scheduled request) by its ``VpcConfig`` / ``NetworkConfig.VpcConfig`` and
``EnableNetworkIsolation``. Processing jobs (the drift job) call S3 and CloudWatch, so they are
not held to network isolation.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ..kit.documents import documents, nodes
from ..kit.resource_types import MODEL_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import environment_of
from ..kit.values import UNKNOWN, get, is_set

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-sagemaker-runs-in-vpc"
VPC_FIX = "pass the stack's private subnets and a security group (vpc_config / network_config) so traffic stays off the internet"


def _vpc_ok(vpc: Any) -> bool:
    if vpc is UNKNOWN:
        return True
    return is_set(get(vpc, "subnets") or get(vpc, "Subnets")) and is_set(get(vpc, "securityGroupIds") or get(vpc, "SecurityGroupIds"))


def _isolation_problem(value: Any) -> bool:
    """Network isolation is off: false, or not set (SageMaker's default is off)."""
    return value is not True and value is not UNKNOWN


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
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


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that SageMaker endpoints (their models) and training and processing jobs run inside a VPC, and that "
        "models and training jobs run network-isolated (prod)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["network"],
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
