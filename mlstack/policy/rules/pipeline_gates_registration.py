"""Checks that a training pipeline registers a model version only after conditions on every declared
metric pass (``mlstack-pipeline-gates-registration``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ...lineage import MODEL
from ..kit.documents import pipeline_parameters, resolve
from ..kit.pipelines import REGISTER_TYPES, is_training_pipeline, steps
from ..kit.resource_types import GROUP_TYPE, PIPELINE_TYPE
from ..kit.settings import applies, environments_property, for_env, per_environment
from ..kit.stack import ENVIRONMENTS, config_value, environment_of
from ..kit.values import UNKNOWN, get, is_set, number, tags_of

__all__ = [
    "POLICY",
    "NAME",
    "GATES_TAG",
    "APPROVAL_MODE_TAG",
    "DEFAULT_METRIC_RANGES",
    "DEFAULT_MAX_TOLERANCE",
    "registration_gates",
    "declared_metrics",
]

NAME = "mlstack-pipeline-gates-registration"
#: The tag on which a model package group records its approval mode (ModelRegistry sets it).
APPROVAL_MODE_TAG = "mlstack:approval-mode"
_UNIT = {"minimum": 0, "maximum": 1}
#: Ranges of well-known evaluation metrics: a gate that every value in the range passes gates nothing.
DEFAULT_METRIC_RANGES: dict[str, dict[str, float]] = {
    **{m: dict(_UNIT) for m in (
        "accuracy", "balanced_accuracy", "auc", "roc_auc", "pr_auc", "average_precision", "precision", "recall",
        "f1", "f1_score", "specificity", "sensitivity", "top_k_accuracy", "map", "ndcg", "iou", "dice",
    )},
    "r2": {"maximum": 1},
    **{m: {"minimum": 0} for m in ("rmse", "mse", "mae", "mape", "log_loss", "logloss", "cross_entropy")},
}  # fmt: skip
#: Per environment: the largest tolerance of a last-approved gate, as a share of its metric's range.
DEFAULT_MAX_TOLERANCE = {"dev": 1.0, "staging": 0.1, "prod": 0.05}
_OPS = {
    "GreaterThanOrEqualTo": ">=",
    "GreaterThan": ">",
    "LessThanOrEqualTo": "<=",
    "LessThan": "<",
    "Equals": "==",
}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "=="}
#: The tag on which a training pipeline declares the metrics its registration is gated on.
GATES_TAG = "mlstack:gate-metrics"
_STEP_REF = re.compile(r"^Steps\.([^.\[]+)")


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


def _metric_of(value: Any, ranges: Mapping[str, Any]) -> str | None:
    """The bounded metric a condition operand reads (``metrics.auc.value`` -> auc), if any."""
    if not (isinstance(value, Mapping) and isinstance(value.get("Std:JsonGet"), Mapping)):
        return None
    path = value["Std:JsonGet"].get("Path")
    words = [w for w in re.split(r"[^A-Za-z0-9_:-]+", path) if w] if isinstance(path, str) else []
    return next((w for w in words if w in ranges), None)


def trivial_reason(op: str, threshold: float, bounds: Mapping[str, Any]) -> str | None:
    """Why ``<metric> op threshold`` passes every value the metric can take, or None."""
    lo, hi = number(bounds.get("minimum")), number(bounds.get("maximum"))
    if lo is not None and ((op == ">=" and threshold <= lo) or (op == ">" and threshold < lo)):
        return f"every value passes it (the metric is never below {lo:g})"
    if hi is not None and ((op == "<=" and threshold >= hi) or (op == "<" and threshold > hi)):
        return f"every value passes it (the metric is never above {hi:g})"
    return None


def _fixed_conditions(definition: Mapping[str, Any], ranges: Mapping[str, Any]) -> Iterator[tuple[str, str, float]]:
    """(metric, op, threshold) of every condition comparing a bounded metric with a number."""
    params = pipeline_parameters(definition)

    def walk(conditions: Any) -> Iterator[tuple[str, str, float]]:
        for condition in conditions if isinstance(conditions, list) else []:
            if not isinstance(condition, Mapping):
                continue
            if condition.get("Type") in ("Or", "Not"):
                continue  # a disjunction or negation is judged as a whole by nobody here
            op = _OPS.get(condition.get("Type"))
            left, right = condition.get("LeftValue"), condition.get("RightValue")
            metric = _metric_of(left, ranges)
            if metric is None:  # number <op> metric: the same gate, read the other way round
                metric, op, right = _metric_of(right, ranges), _FLIP.get(op or ""), left
            right = resolve(right, params)
            value = number(right) if not isinstance(right, Mapping) else None
            if metric and op and value is not None:
                yield metric, op, value

    for step, _ in steps(definition):
        if step.get("Type") == "Condition":
            yield from walk((step.get("Arguments") or {}).get("Conditions"))


def _relative_gates(definition: Mapping[str, Any]) -> Iterator[tuple[str, str, float]]:
    """(metric, op, tolerance) of the last-approved gates handed to the baseline step."""
    for step, _ in steps(definition):
        raw = (step.get("Arguments") or {}).get("gates") if isinstance(step.get("Arguments"), Mapping) else None
        try:
            gates = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            continue
        for gate in gates if isinstance(gates, list) else []:
            tolerance = number(gate.get("tolerance")) if isinstance(gate, Mapping) else None
            if tolerance is not None and isinstance(gate.get("metric"), str):
                yield gate["metric"], str(gate.get("op", ">=")), tolerance


def _config_gates(props: Any) -> list[Mapping[str, Any]]:
    """``mlstack:models[].gates`` of the pipeline's model (its ``mlstack:model`` tag)."""
    tags = tags_of(props)
    model = tags.get(MODEL) if isinstance(tags, dict) else None
    models = config_value("mlstack:models")
    for entry in models if isinstance(models, list) else []:
        if isinstance(entry, Mapping) and entry.get("name") == model:
            return [g for g in entry.get("gates") or [] if isinstance(g, Mapping)]
    return []


def _check_gate_strength(name: str, definition: Mapping[str, Any] | None, props: Any, env: str, config: Mapping[str, Any], report: ReportViolation) -> None:
    """Gates that every candidate passes: a fixed threshold at the edge of the metric's range, or a
    last-approved tolerance wider than the environment allows."""
    ranges = config.get("metricRanges") or {}
    fixed: set[tuple[str, str, float]] = set(_fixed_conditions(definition, ranges)) if definition else set()
    relative: set[tuple[str, str, float]] = set(_relative_gates(definition)) if definition else set()
    for gate in _config_gates(props):
        metric, op = gate.get("metric"), str(gate.get("op", ">="))
        threshold = gate.get("threshold")
        if threshold == "last-approved":
            tolerance = number(gate.get("tolerance", 0))
            if isinstance(metric, str) and tolerance is not None:
                relative.add((metric, op, tolerance))
        elif isinstance(metric, str) and number(threshold) is not None and metric in ranges:
            fixed.add((metric, op, number(threshold)))
    for metric, op, threshold in sorted(fixed):
        why = trivial_reason(op, threshold, ranges.get(metric) or {})
        if why:
            report(
                f"training pipeline {name!r} gates registration on {metric} {op} {threshold:g}, but {why}; a gate must be "
                f"able to stop a candidate: raise the threshold into the metric's range, or drop the gate (and declare what "
                f"{metric} really needs under mlstack:models[].gates).",
                None,
            )
    share = number(for_env(config, "maxGateTolerance", env))
    for metric, op, tolerance in sorted(relative):
        bounds = ranges.get(metric) or {}
        lo, hi = number(bounds.get("minimum")), number(bounds.get("maximum"))
        if lo is None or hi is None or hi <= lo:
            continue
        span = hi - lo
        if tolerance >= span:
            report(
                f"training pipeline {name!r} must compare {metric} with the last Approved version within a tolerance some "
                f"candidate can exceed, but its tolerance of {tolerance:g} spans the whole range of {metric} ({lo:g}-{hi:g}): "
                f"every candidate passes; use a tolerance of at most {share * span if share is not None else span:g}.",
                None,
            )
        elif share is not None and tolerance > share * span:
            report(
                f"training pipeline {name!r} must compare {metric} with the last Approved version within {share:g} of its "
                f"range ({share * span:g}) in {env}, but its tolerance is {tolerance:g}: a candidate this much worse than "
                f"production is registered; lower the tolerance, or raise maxGateTolerance.{env} in the policy pack config.",
                None,
            )


def _registered_status(step: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    return resolve((step.get("Arguments") or {}).get("ModelApprovalStatus"), params)


def _check_manual_approval(args: ResourceValidationArgs, definition: Mapping[str, Any] | None, env: str, report: ReportViolation) -> None:
    """In environments that need a person to approve, nothing is registered as Approved."""
    if args.resource_type == GROUP_TYPE:
        tags = tags_of(args.props)
        mode = tags.get(APPROVAL_MODE_TAG) if isinstance(tags, dict) else None
        if isinstance(mode, str) and mode.strip().lower() == "automatic":
            group = get(args.props, "modelPackageGroupName", default=args.name)
            report(
                f"model package group {group!r} must wait for a person to approve versions in {env} (mlstack promote), "
                f"but its approval mode is automatic; set mlstack:registry.approvalMode (or the model's registry.approvalMode) "
                "to manual.",
                None,
            )
        return
    if not definition:
        return
    params = pipeline_parameters(definition)
    for step, _ in steps(definition):
        status = _registered_status(step, params)
        if step.get("Type") in REGISTER_TYPES and isinstance(status, str) and status.strip().lower() == "approved":
            report(
                f"training pipeline {args.name!r} must register versions as PendingManualApproval in {env}, but step "
                f"{step.get('Name')!r} registers them as Approved (automatic approval); set the registry's approvalMode to "
                "manual, so `mlstack promote` approves after the gates are checked again.",
                None,
            )


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


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (PIPELINE_TYPE, GROUP_TYPE):
        return
    config = args.get_config()
    env = environment_of(args.props, args.stack_tags)
    manual = env in (config.get("manualApprovalEnvironments") or ())
    if args.resource_type == GROUP_TYPE:
        if manual:
            _check_manual_approval(args, None, env, report_violation)
        return
    if not applies(config, env) and not manual:
        return
    raw = get(args.props, "pipelineDefinition")
    if raw is UNKNOWN:
        return
    if not is_set(raw):
        if is_set(get(args.props, "pipelineDefinitionS3Location")) and applies(config, env):
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
        if applies(config, env):
            report_violation(f"training pipeline {args.name!r} must have a JSON pipeline definition; it does not parse.", None)
        return
    if manual:
        _check_manual_approval(args, definition, env, report_violation)
    if not applies(config, env):
        return
    declared = declared_metrics(args.props)
    if declared is UNKNOWN:
        return
    if is_training_pipeline(args.props):
        _check_gate_strength(args.name, definition, args.props, env, config, report_violation)
    required = bool(declared) or bool(for_env(config, "requireGates", env))
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
        "declared gate metric with a threshold some candidate can miss (no auc >= 0, no last-approved tolerance wider than "
        "the environment allows), and that nothing is approved automatically where a person must approve (prod)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["registry", "training"],
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
            "manualApprovalEnvironments": environments_property(
                ["prod"],
                "model versions must wait for a person to approve them: no pipeline registers them as Approved and no "
                "model package group has approval mode automatic",
            ),
            "metricRanges": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"minimum": {"type": "number"}, "maximum": {"type": "number"}},
                    "additionalProperties": False,
                },
                "default": DEFAULT_METRIC_RANGES,
                "description": "The range of each evaluation metric by name ({minimum, maximum}, either may be left out): a "
                "gate every value in the range passes (auc >= 0, accuracy <= 1) is reported. A setting given replaces the "
                "default whole.",
            },
            "maxGateTolerance": per_environment(
                {"type": "number", "minimum": 0},
                DEFAULT_MAX_TOLERANCE,
                "Per environment: the largest tolerance of a last-approved gate, as a share of its metric's range "
                "(metricRanges); a tolerance as wide as the whole range is reported everywhere.",
            ),
        }
    ),
    remediation_steps="Declare gates per model (mlstack:models[].gates); the TrainingPipeline turns each into a condition.",
)
