"""``mlstack-instance-types-within-limits``: instance types exist for their use, fit the
environment's allowlist, and endpoints stay under the environment's GPU cap."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from .. import catalog
from ._common import (
    ENVIRONMENTS,
    KSERVE_TYPE,
    UNKNOWN,
    StackIndex,
    applies,
    environments_property,
    for_env,
    get,
    glob_match,
    number,
    per_environment,
    physical_name,
    plain,
    stack_environment,
)
from .encryption import ENDPOINT_CONFIG, jobs
from .rollout import ENDPOINT_TYPE

__all__ = ["POLICY", "DEFAULT_DENIED", "DEFAULT_MAX_GPUS"]

NAME = "mlstack-instance-types-within-limits"
SCALING_TARGET = "aws:appautoscaling/target:Target"
GPU_LIMIT = "nvidia.com/gpu"

DEFAULT_ALLOWED = {env: ["ml.*"] for env in ENVIRONMENTS}
#: The biggest training and inference hardware is for prod work, not experiments.
DEFAULT_DENIED = {
    "dev": ["ml.p4d.*", "ml.p4de.*", "ml.p5.*", "ml.p5e.*", "ml.p5en.*", "ml.p6*", "ml.trn2.*"],
    "staging": ["ml.p5e.*", "ml.p5en.*", "ml.p6*"],
    "prod": [],
}
#: GPUs one endpoint may hold at its largest (every variant at its autoscaling maximum).
DEFAULT_MAX_GPUS = {"dev": 4, "staging": 16, "prod": 64}

_PATTERNS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _variants(config: Any) -> list[dict[str, Any]]:
    variants = []
    for key in ("productionVariants", "shadowProductionVariants"):
        items = plain(get(config.props, key, default=[]))
        if isinstance(items, list):
            variants.extend(v for v in items if isinstance(v, dict))
    return variants


def _check_type(itype: Any, use: str, where: str, env: str, config: dict[str, Any], urn: str, report: ReportViolation) -> None:
    if not isinstance(itype, str):
        return
    problem = catalog.check_instance_type(itype, use)
    if problem:
        report(f"{where}: the instance type must be one SageMaker accepts for {use}; {problem}.", urn)
        return
    allowed = for_env(config, "allowedInstanceTypes", env) or []
    if not glob_match(itype, allowed):
        report(
            f"{where}: the instance type must match allowedInstanceTypes.{env} ({', '.join(allowed) or 'none'}), and "
            f"{itype} does not; choose an allowed type or change the policy pack config.",
            urn,
        )
        return
    denied = glob_match(itype, for_env(config, "deniedInstanceTypes", env) or [])
    if denied:
        report(
            f"{where}: {itype} must not be used in {env} (it matches {denied!r} in deniedInstanceTypes.{env}); choose a "
            f"smaller type for {env}, or deploy this model to an environment that allows it.",
            urn,
        )


def _gpus(itype: Any) -> int:
    try:
        return catalog.gpu_count(itype) if isinstance(itype, str) else 0
    except (catalog.InstanceTypeError, ValueError):
        return 0  # reported as an invalid type


def _target_parts(target: Any) -> list[str]:
    resource_id = get(target.props, "resourceId")
    parts = resource_id.split("/") if isinstance(resource_id, str) else []
    return parts if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant" else []


def _max_instances(variant: dict[str, Any], targets: list[Any]) -> int:
    count = number(variant.get("initialInstanceCount")) or 1
    for target in targets:
        parts = _target_parts(target)
        if parts and parts[3] == variant.get("variantName"):
            count = max(count, number(get(target.props, "maxCapacity")) or 0)
    return int(count)


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    index = StackIndex(args.resources)
    cap = number(for_env(config, "maxGpusPerEndpoint", env))  # CrossGuard sends numbers as floats
    targets = [t for t in index.of_type(SCALING_TARGET) if get(t.props, "serviceNamespace") == "sagemaker"]
    targets_by_endpoint: dict[str, list[Any]] = {}
    for target in targets:
        parts = _target_parts(target)
        if parts:
            targets_by_endpoint.setdefault(parts[1], []).append(target)

    for endpoint_config in index.of_type(ENDPOINT_CONFIG):
        endpoints = index.users(endpoint_config, ENDPOINT_TYPE)
        scaling = {t.urn: t for e in endpoints for t in index.users(e, SCALING_TARGET)}
        for endpoint in endpoints:
            for name in index.names(endpoint):
                scaling.update((t.urn, t) for t in targets_by_endpoint.get(name, ()))
        gpus = 0
        for i, variant in enumerate(_variants(endpoint_config)):
            itype = variant.get("instanceType")
            where = f"endpoint configuration {endpoint_config.name!r} variant {variant.get('variantName', i)!r}"
            _check_type(itype, "endpoint", where, env, config, endpoint_config.urn, report_violation)
            gpus += _gpus(itype) * _max_instances(variant, list(scaling.values()))
        if cap is not None and gpus > cap:
            report_violation(
                f"endpoint configuration {endpoint_config.name!r} must use at most {cap:g} GPUs in {env}, but can use {gpus} "
                f"(instances at their autoscaling maximum x GPUs per instance); use fewer or smaller instances, "
                f"lower the autoscaling max_capacity, or raise maxGpusPerEndpoint.{env} in the policy pack config.",
                endpoint_config.urn,
            )

    for resource in index.resources:
        if resource.resource_type.startswith("aws:") and resource.resource_type != ENDPOINT_CONFIG:
            for where, use, itype, _ in jobs(resource):
                if itype is not UNKNOWN:
                    _check_type(itype, use, f"{use} job at {where}", env, config, resource.urn, report_violation)

    for service in index.of_type(KSERVE_TYPE):
        predictor = plain(get(service.props, "spec", "predictor", default={}))
        if not isinstance(predictor, dict):
            continue
        per_replica = 0
        for container in [predictor.get("model") or {}, *(predictor.get("containers") or [])]:
            limits = get(container, "resources", "limits", default={})
            per_replica += int(number(get(limits, GPU_LIMIT)) or 0)
        replicas = int(number(predictor.get("maxReplicas")) or number(predictor.get("minReplicas")) or 1)
        gpus = per_replica * replicas
        name = physical_name(service) or service.name
        if cap is not None and gpus > cap:
            report_violation(
                f"KServe InferenceService {name!r} must use at most {cap:g} GPUs in {env}, but can use {gpus} ({per_replica} "
                f"per replica x {replicas} replicas at most); lower maxReplicas or the {GPU_LIMIT} limit, or raise "
                f"maxGpusPerEndpoint.{env} in the policy pack config.",
                service.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every SageMaker instance type is valid for its use (endpoint, training, processing, transform) "
        "and allowed in the stack's environment, and that no endpoint can use more GPUs than the environment's cap."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    display_name="Instance types within limits",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "instance types and GPU counts are checked"),
            "allowedInstanceTypes": per_environment(
                _PATTERNS, DEFAULT_ALLOWED, "Per environment: shell-style patterns an instance type must match (ml.g5.*)."
            ),
            "deniedInstanceTypes": per_environment(
                _PATTERNS, DEFAULT_DENIED, "Per environment: shell-style patterns no instance type may match (ml.p5.*)."
            ),
            "maxGpusPerEndpoint": per_environment(
                {"type": "integer", "minimum": 0},
                DEFAULT_MAX_GPUS,
                "Per environment: most GPUs one endpoint may use, every variant at its autoscaling maximum.",
            ),
        }
    ),
    remediation_steps="Pick instance types from `mlstack catalog endpoint|training|processing` that the environment allows.",
)
