"""Checks that instance types exist for their use, fit the environment's allowlist, and that endpoints
and training jobs stay under the environment's GPU caps (``mlstack-instance-types-within-limits``)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ... import catalog
from ..kit.documents import documents, pipeline_parameters, resolve
from ..kit.index import StackIndex, physical_name
from ..kit.pipelines import jobs
from ..kit.resource_types import ENDPOINT_CONFIG, ENDPOINT_TYPE, KSERVE_TYPE
from ..kit.settings import applies, environments_property, for_env, glob_match, per_environment
from ..kit.stack import ENVIRONMENTS, stack_environment
from ..kit.values import UNKNOWN, get, number, plain

__all__ = ["POLICY", "NAME", "DEFAULT_DENIED", "DEFAULT_MAX_GPUS", "DEFAULT_MAX_TRAINING_GPUS", "training_gpus", "kserve_node_types"]

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
#: GPUs one training or tuning job may hold at once (instances x GPUs per instance, x parallel
#: jobs for tuning). Spot capacity counts the same: it is the same hardware, billed cheaper.
DEFAULT_MAX_TRAINING_GPUS = {"dev": 8, "staging": 32, "prod": 128}
#: Node labels that pin Kubernetes pods to an EC2 instance type.
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")

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


def _resource_gpus(config: Any, params: dict[str, Any]) -> tuple[int, list[str]]:
    """GPUs of a ResourceConfig (instance groups included) and its instance types."""
    if not isinstance(config, dict):
        return 0, []
    groups = config.get("InstanceGroups") if isinstance(config.get("InstanceGroups"), list) else [config]
    total, types = 0, []
    for group in groups:
        if not isinstance(group, dict):
            continue
        itype = resolve(group.get("InstanceType"), params)
        count = number(resolve(group.get("InstanceCount"), params))
        if isinstance(itype, str):
            types.append(itype)
            total += _gpus(itype) * int(count if count is not None else 1)
    return total, types


def training_gpus(document: Any) -> list[tuple[str, int, list[str]]]:
    """(path, GPUs at once, instance types) of every training and tuning job in a JSON document
    (a pipeline definition); a tuning job counts its parallel training jobs."""
    params = pipeline_parameters(document)
    found: list[tuple[str, int, list[str]]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            tuning = value.get("HyperParameterTuningJobConfig")
            if isinstance(tuning, dict):
                parallel = number(resolve(get(tuning, "ResourceLimits", "MaxParallelTrainingJobs"), params)) or 1
                definitions = value.get("TrainingJobDefinitions") if isinstance(value.get("TrainingJobDefinitions"), list) else [value.get("TrainingJobDefinition")]
                gpus, types = 0, []
                for definition in definitions:
                    one, its = _resource_gpus(get(definition, "ResourceConfig"), params)
                    gpus, types = max(gpus, one), types + its
                found.append((path or "(top)", int(parallel) * gpus, types))
                return
            if isinstance(value.get("ResourceConfig"), dict) and "AlgorithmSpecification" in value:
                gpus, types = _resource_gpus(value["ResourceConfig"], params)
                found.append((path or "(top)", gpus, types))
                return
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(document, "")
    return found


def kserve_node_types(predictor: dict[str, Any]) -> list[str]:
    """EC2 instance types a KServe predictor's pods are pinned to: its nodeSelector and the
    required node affinity terms (``In`` on the instance-type labels)."""
    types = []
    selector = predictor.get("nodeSelector") if isinstance(predictor.get("nodeSelector"), dict) else {}
    types += [v for k, v in selector.items() if k in INSTANCE_TYPE_LABELS and isinstance(v, str)]
    terms = get(predictor, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[])
    for term in terms if isinstance(terms, list) else []:
        for expression in get(term, "matchExpressions", default=[]) or []:
            if isinstance(expression, dict) and expression.get("key") in INSTANCE_TYPE_LABELS and expression.get("operator") == "In":
                types += [v for v in expression.get("values") or [] if isinstance(v, str)]
    return list(dict.fromkeys(types))


def _check_node_type(node_type: str, where: str, env: str, config: dict[str, Any], urn: str, report: ReportViolation) -> None:
    """A Kubernetes node's EC2 type against the same limits as SageMaker types (as ``ml.<type>``)."""
    try:
        catalog.family(node_type)
        catalog.accelerator(node_type)
    except (catalog.InstanceTypeError, ValueError) as exc:
        report(f"{where}: the node instance type must be a known EC2 type, and {node_type!r} is not ({exc}); fix the type.", urn)
        return
    name = node_type.strip().lower()
    as_ml = name if name.startswith("ml.") else f"ml.{name}"
    allowed = for_env(config, "allowedInstanceTypes", env) or []
    if not glob_match(as_ml, allowed):
        report(
            f"{where}: the node instance type must match allowedInstanceTypes.{env} ({', '.join(allowed) or 'none'}) as "
            f"{as_ml}, and it does not; choose an allowed type or change the policy pack config.",
            urn,
        )
        return
    denied = glob_match(as_ml, for_env(config, "deniedInstanceTypes", env) or [])
    if denied:
        report(
            f"{where}: nodes of type {node_type} must not be used in {env} (as {as_ml} it matches {denied!r} in "
            f"deniedInstanceTypes.{env}); choose a smaller node type for {env}.",
            urn,
        )


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

    training_cap = number(for_env(config, "maxGpusPerTrainingJob", env))
    for resource in index.resources:
        if resource.resource_type.startswith("aws:") and resource.resource_type != ENDPOINT_CONFIG:
            for where, use, itype, _ in jobs(resource):
                if itype is not UNKNOWN:
                    _check_type(itype, use, f"{use} job at {where}", env, config, resource.urn, report_violation)
            if training_cap is None:
                continue
            for prop, document in documents(resource.props):
                for path, gpus, types in training_gpus(document):
                    if gpus > training_cap:
                        report_violation(
                            f"training job at {prop} {path} must use at most {training_cap:g} GPUs in {env}, but can use {gpus} "
                            f"at once ({', '.join(dict.fromkeys(types))}: instances x GPUs per instance, x parallel jobs when "
                            f"tuning; spot capacity counts the same); use fewer or smaller instances, or raise "
                            f"maxGpusPerTrainingJob.{env} in the policy pack config.",
                            resource.urn,
                        )

    for service in index.of_type(KSERVE_TYPE):
        predictor = plain(get(service.props, "spec", "predictor", default={}))
        if not isinstance(predictor, dict):
            continue
        shown = physical_name(service) or service.name
        for node_type in kserve_node_types(predictor):
            _check_node_type(node_type, f"KServe InferenceService {shown!r}", env, config, service.urn, report_violation)
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
        "and allowed in the stack's environment, that KServe node types (nodeSelector, node affinity) are allowed too, "
        "and that no endpoint or training job can use more GPUs than the environment's caps."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["capacity"],
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
            "maxGpusPerTrainingJob": per_environment(
                {"type": "integer", "minimum": 0},
                DEFAULT_MAX_TRAINING_GPUS,
                "Per environment: most GPUs one training job may use at once (instances x GPUs per instance; a tuning job "
                "x its parallel training jobs; spot instances count the same).",
            ),
        }
    ),
    remediation_steps="Pick instance types from `mlstack catalog endpoint|training|processing` that the environment allows.",
)
