"""Checks that every served model traces back to a registry and to the pipeline that trains it (or a
declared external source) (``mlstack-model-lineage-complete``)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ...lineage import MODEL
from ..kit.index import StackIndex, physical_name
from ..kit.models import model_package_version
from ..kit.pipelines import is_training_pipeline
from ..kit.resource_types import GROUP_TYPE, KSERVE_TYPE, MODEL_TYPE, PIPELINE_TYPE
from ..kit.settings import applies, environments_property, glob_match
from ..kit.stack import ENVIRONMENTS, stack_environment
from ..kit.values import UNKNOWN, get, plain, tags_of

__all__ = ["POLICY", "NAME", "SOURCE_TAG"]

NAME = "mlstack-model-lineage-complete"
#: Tag declaring that a model is trained outside this stack, and where (e.g. a vendor or another team's stack).
SOURCE_TAG = "mlstack:source"
#: Prefix of the labels on which KServe services carry lineage (mlstack:model -> mlstack.dev/model).
KSERVE_LABEL_PREFIX = "mlstack.dev/"


def _model_name(resource: Any) -> Any:
    tags = tags_of(resource.props)
    if isinstance(tags, dict) and isinstance(tags.get(MODEL), str) and tags[MODEL]:
        return tags[MODEL]
    if tags is UNKNOWN:
        return UNKNOWN
    return _label(resource, "model")


def _label(resource: Any, key: str) -> Any:
    """A lineage value a KServe service carries as a label or annotation (mlstack.dev/<key>)."""
    if resource.resource_type != KSERVE_TYPE:
        return None
    for where in ("labels", "annotations"):
        meta = plain(get(resource.props, "metadata", where, default={})) or {}
        value = meta.get(KSERVE_LABEL_PREFIX + key) if isinstance(meta, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def _source(resource: Any) -> Any:
    tags = tags_of(resource.props)
    if isinstance(tags, dict) and isinstance(tags.get(SOURCE_TAG), str) and tags[SOURCE_TAG]:
        return tags[SOURCE_TAG]
    return _label(resource, "source")


def _packages(resource: Any) -> list[str]:
    found = []
    for container in [get(resource.props, "primaryContainer"), *(plain(get(resource.props, "containers", default=[])) or [])]:
        package = get(container, "modelPackageName")
        if isinstance(package, str):
            found.append(package)
    return found


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    if not applies(config, stack_environment(args.resources, args.stack_tags)):
        return
    index = StackIndex(args.resources)
    external_registries = config.get("externalRegistries") or []
    groups = index.of_type(GROUP_TYPE)
    group_names = {n: g for g in groups for n in [physical_name(g)] if isinstance(n, str)}
    groups_by_model = {m: g for g in groups for m in [_model_name(g)] if isinstance(m, str)}
    trained = {m for p in index.of_type(PIPELINE_TYPE) if is_training_pipeline(p.props) for m in [_model_name(p)] if isinstance(m, str)}

    for served in index.of_type(MODEL_TYPE, KSERVE_TYPE):
        kind = "KServe InferenceService" if served.resource_type == KSERVE_TYPE else "SageMaker model"
        shown = physical_name(served) if isinstance(physical_name(served), str) else served.name
        model = _model_name(served)
        if model is UNKNOWN:
            continue
        if not model:
            report_violation(
                f"{kind} {shown!r} must say which model it serves: tag it {MODEL}=<model> (KServe: label "
                f"{KSERVE_LABEL_PREFIX}model) with ctx.lineage.tags(model=...), so it traces to its registry and training.",
                served.urn,
            )
            continue
        group = groups_by_model.get(model)
        if group is None:
            for package in _packages(served):
                parsed = model_package_version(package)
                if parsed and parsed[0] in group_names:
                    group = group_names[parsed[0]]
        if group is None:
            for candidate in groups:
                if index.linked(served, candidate):
                    group = candidate
        external = [p for p in _packages(served) if glob_match(p, external_registries)]
        if group is None and not external:
            report_violation(
                f"{kind} {shown!r} serves model {model!r}, which must trace to a model registry: this stack has no "
                f"ModelRegistry for {model!r} and the model package it serves is not from a registry listed in "
                "externalRegistries. Declare the model under mlstack:models (its registry is created), or list the "
                "other account's registry in the policy pack config.",
                served.urn,
            )
            continue
        declared_source = any(_source(r) for r in (served, group) if r is not None)
        if model not in trained and not declared_source and not external:
            report_violation(
                f"{kind} {shown!r} serves model {model!r}, which must trace to a training pipeline in this stack or a "
                f"declared external source, and has neither; add its training (mlstack:models[].training) or declare where it is "
                f"trained (mlstack:models[].source, tagged {SOURCE_TAG} on its registry).",
                served.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every served model (SageMaker model or KServe InferenceService) traces to a model registry and "
        "to a training pipeline in the stack or a declared external source."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["lineage", "registry"],
    display_name="Served models have complete lineage",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "served models must trace to a registry and a training source"),
            "externalRegistries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": "Model package ARN patterns (arn:aws:sagemaker:*:345678901234:model-package/*) of registries "
                "outside the stack whose models count as registered and trained elsewhere.",
            },
        }
    ),
    remediation_steps="Declare each served model under mlstack:models with its training, or declare its external source.",
)
