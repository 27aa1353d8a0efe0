"""``mlstack-pipeline-gates-registration``: a training pipeline registers a model version only
after conditions on every declared metric pass."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ..lineage import MODEL
from ._common import (
    ENVIRONMENTS,
    UNKNOWN,
    applies,
    config_value,
    environment_of,
    environments_property,
    for_env,
    get,
    is_set,
    per_environment,
    tags_of,
)

__all__ = ["POLICY", "PIPELINE_TYPE", "GATES_TAG", "steps", "registration_gates", "declared_metrics", "is_training_pipeline"]

NAME = "mlstack-pipeline-gates-registration"
PIPELINE_TYPE = "aws:sagemaker/pipeline:Pipeline"
#: The tag on which a training pipeline declares the metrics its registration is gated on.
GATES_TAG = "mlstack:gate-metrics"
REGISTER_TYPES = ("RegisterModel",)
_STEP_REF = re.compile(r"^Steps\.([^.\[]+)")


def steps(definition: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], list[tuple[dict[str, Any], str]]]]:
    """Every step of a pipeline definition with the (condition step, branch) pairs it is nested in."""

    def walk(items: Any, nesting: list[tuple[dict[str, Any], str]]) -> Iterator[tuple[dict[str, Any], list]]:
        for step in items or []:
            if not isinstance(step, dict):
                continue
            yield step, nesting
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments") or {}
                for branch in ("IfSteps", "ElseSteps"):
                    yield from walk(arguments.get(branch), [*nesting, (step, branch)])

    yield from walk(definition.get("Steps"), [])


def _references(value: Any) -> set[str]:
    """Step names a value reads from (``{"Get": "Steps.Train.ModelArtifacts..."}``)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Get" and isinstance(item, str):
                match = _STEP_REF.match(item)
                if match:
                    found.add(match.group(1))
            else:
                found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _metric_words(conditions: Any) -> set[str]:
    """Words of the report paths a condition compares (``metrics.auc.value`` -> metrics, auc, value)."""
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "Std:JsonGet" and isinstance(item, Mapping) and isinstance(item.get("Path"), str):
                    words.update(w for w in re.split(r"[^A-Za-z0-9_:-]+", item["Path"]) if w)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(conditions)
    return words


def _fails(branch: Any) -> bool:
    return any(isinstance(s, dict) and s.get("Type") == "Fail" for s in branch or [])


def registration_gates(definition: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each registration step, the metric words of every condition that must pass before it runs:
    conditions it is nested in (IfSteps), and upstream conditions that fail the pipeline otherwise."""
    all_steps = list(steps(definition))
    by_name = {s.get("Name"): (s, nesting) for s, nesting in all_steps}
    gates: dict[str, set[str]] = {}
    for step, nesting in all_steps:
        if step.get("Type") not in REGISTER_TYPES:
            continue
        words: set[str] = set()
        for condition, branch in nesting:
            if branch == "IfSteps":
                words |= _metric_words((condition.get("Arguments") or {}).get("Conditions"))
        # Upstream conditions whose other branch fails the pipeline gate this step too.
        seen: set[str] = set()
        todo = [step]
        while todo:
            current = todo.pop()
            upstream = set(current.get("DependsOn") or []) | _references(current.get("Arguments"))
            for name in upstream - seen:
                seen.add(name)
                found = by_name.get(name)
                if not found:
                    continue
                upstream_step = found[0]
                if upstream_step.get("Type") == "Condition":
                    arguments = upstream_step.get("Arguments") or {}
                    if _fails(arguments.get("ElseSteps")) or _fails(arguments.get("IfSteps")):
                        words |= _metric_words(arguments.get("Conditions"))
                todo.append(upstream_step)
        gates[str(step.get("Name"))] = words
    return gates


def declared_metrics(props: Any) -> list[str] | Any:
    """The gate metrics declared for a pipeline's model: ``mlstack:models[].gates`` of the stack
    config (its model is the ``mlstack:model`` tag), plus any listed in the ``mlstack:gate-metrics``
    tag (pipelines written in code)."""
    tags = tags_of(props)
    if not isinstance(tags, dict):
        return UNKNOWN
    declared: list[str] = []
    raw = tags.get(GATES_TAG)
    if isinstance(raw, str):
        declared += [m for m in raw.replace(",", " ").split() if m]
    models = config_value("mlstack:models")
    model = tags.get(MODEL)
    for entry in models if isinstance(models, list) else []:
        if isinstance(entry, Mapping) and entry.get("name") == model:
            for gate in entry.get("gates") or []:
                if isinstance(gate, Mapping) and isinstance(gate.get("metric"), str):
                    declared.append(gate["metric"])
    return list(dict.fromkeys(declared))


def is_training_pipeline(props: Any) -> bool:
    """Whether a SageMaker pipeline trains or registers models (not, e.g., a drift check)."""
    raw = get(props, "pipelineDefinition")
    if not isinstance(raw, str):
        return raw is UNKNOWN
    try:
        definition = json.loads(raw)
    except ValueError:
        return False
    return isinstance(definition, dict) and any(
        s.get("Type") in ("Training", "Tuning", *REGISTER_TYPES) for s, _ in steps(definition)
    )


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != PIPELINE_TYPE:
        return
    if not applies(args.get_config(), environment_of(args.props, args.stack_tags)):
        return
    raw = get(args.props, "pipelineDefinition")
    if raw is UNKNOWN:
        return
    if not is_set(raw):
        if is_set(get(args.props, "pipelineDefinitionS3Location")):
            report_violation(
                f"training pipeline {args.name!r} must keep its definition inline (pipeline_definition) so its "
                "registration gates can be checked before deployment; the S3 location hides it.",
                None,
            )
        return
    try:
        definition = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        definition = None
    if not isinstance(definition, dict):
        report_violation(f"training pipeline {args.name!r} must have a JSON pipeline definition; it does not parse.", None)
        return
    declared = declared_metrics(args.props)
    if declared is UNKNOWN:
        return
    config = args.get_config()
    required = bool(declared) or bool(for_env(config, "requireGates", environment_of(args.props, args.stack_tags)))
    for step, words in registration_gates(definition).items():
        if not words and required:
            report_violation(
                f"training pipeline {args.name!r} registers a model in step {step!r} without any gate; registration must "
                "run only in the if-branch of a Condition step comparing the evaluation metrics with their thresholds "
                "(declare gates under mlstack:models[].gates).",
                None,
            )
            continue
        ungated = [m for m in declared if m not in words]
        if not words:
            continue
        if ungated:
            report_violation(
                f"training pipeline {args.name!r} registers a model in step {step!r} without gating on "
                f"{', '.join(ungated)}; every declared gate metric must be compared in a Condition step that "
                "registration depends on. Add a condition per gate (mlstack.gates) before RegisterModel.",
                None,
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that every training pipeline registers a model version only inside Condition steps that compare every "
        "declared gate metric with its threshold."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Pipelines gate model registration",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "model registration must be gated on every declared metric"),
            "requireGates": per_environment(
                {"type": "boolean"},
                {"dev": False, "staging": True, "prod": True},
                "Per environment: whether a pipeline that registers models must gate registration even when its "
                "model declares no gates.",
            ),
        }
    ),
    remediation_steps="Declare gates per model (mlstack:models[].gates); the TrainingPipeline turns each into a condition.",
)
