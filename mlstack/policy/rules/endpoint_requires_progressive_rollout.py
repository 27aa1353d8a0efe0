"""Checks that new model versions reach traffic gradually, with automatic rollback
(``mlstack-endpoint-requires-progressive-rollout``)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ..kit.alarms import latency_ceiling_us, never_fires, window_seconds
from ..kit.index import StackIndex, physical_name
from ..kit.resource_types import ALARM_TYPES, ENDPOINT_TYPE, KSERVE_TYPE, METRIC_ALARM
from ..kit.settings import environments_property, for_env, per_environment
from ..kit.stack import stack_environment
from ..kit.values import UNKNOWN, get, is_set, number, plain

__all__ = ["POLICY", "NAME", "DEFAULT_MIN_WAIT"]

NAME = "mlstack-endpoint-requires-progressive-rollout"
PROGRESSIVE = ("CANARY", "LINEAR")
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
#: Seconds a new version must bake (rollback alarms watched) after each traffic shift. Staging:
#: the two one-minute datapoints mlstack's own rollback alarms need; prod: five minutes, the
#: endpoint spec's default, which leaves CloudWatch time to publish the datapoints too.
DEFAULT_MIN_WAIT = {"dev": 0, "staging": 120, "prod": 300}

ROLLOUT_FIX = (
    "set deployment_config.blue_green_update_policy.traffic_routing_configuration to "
    "{type: 'CANARY', canary_size: {type: 'CAPACITY_PERCENT', value: 10}, wait_interval_in_seconds: 600} "
    "(or LINEAR with linear_step_size)"
)


def _bake_seconds(config: Any) -> Any:
    """waitIntervalInSeconds of the blue/green routing or the rolling update (None: not set)."""
    routing = get(config, "blueGreenUpdatePolicy", "trafficRoutingConfiguration")
    if routing is UNKNOWN:
        return UNKNOWN
    if is_set(routing):
        return get(routing, "waitIntervalInSeconds")
    rolling = get(config, "rollingUpdatePolicy")
    if rolling is UNKNOWN:
        return UNKNOWN
    return get(rolling, "waitIntervalInSeconds") if is_set(rolling) else UNKNOWN


def _check_sagemaker(endpoint: Any, index: StackIndex, alarms_by_name: dict[str, Any], env: str, settings: dict[str, Any], report: ReportViolation) -> None:
    name = physical_name(endpoint)
    shown = name if isinstance(name, str) else endpoint.name
    config = plain(get(endpoint.props, "deploymentConfig", default={}))
    if config is UNKNOWN:
        return
    routing = get(config, "blueGreenUpdatePolicy", "trafficRoutingConfiguration", default={})
    kind = get(routing, "type")
    if kind is UNKNOWN:
        pass
    elif kind not in PROGRESSIVE:
        got = "a rolling update" if is_set(get(config, "rollingUpdatePolicy")) else f"{kind!r}" if kind else "no deployment_config"
        report(
            f"SageMaker endpoint {shown!r} must shift traffic to a new version with CANARY or LINEAR blue/green "
            f"(got {got}); {ROLLOUT_FIX}.",
            endpoint.urn,
        )
    elif kind == "CANARY" and not is_set(get(routing, "canarySize")):
        report(f"SageMaker endpoint {shown!r} uses CANARY and must size the canary; set canary_size.", endpoint.urn)
    elif kind == "LINEAR" and not is_set(get(routing, "linearStepSize")):
        report(f"SageMaker endpoint {shown!r} uses LINEAR and must size each step; set linear_step_size.", endpoint.urn)

    bake_raw = _bake_seconds(config)
    bake = number(bake_raw) if bake_raw is not UNKNOWN else None
    minimum = number(for_env(settings, "minWaitIntervalSeconds", env)) or 0
    if bake_raw is not UNKNOWN and (is_set(routing) or is_set(get(config, "rollingUpdatePolicy"))) and (bake or 0) < minimum:
        report(
            f"SageMaker endpoint {shown!r} must let each traffic shift bake for at least {minimum:g} s in {env} while its rollback "
            f"alarms are watched, but waits {'nothing (not set)' if bake is None else f'{bake:g} s'}; set "
            f"wait_interval_in_seconds to {minimum:g} or more (rollout.waitIntervalSeconds), or lower "
            f"minWaitIntervalSeconds.{env} in the policy pack config.",
            endpoint.urn,
        )

    alarms = get(config, "autoRollbackConfiguration", "alarms", default=[])
    if alarms is UNKNOWN:
        return
    names = [get(a, "alarmName") for a in alarms if isinstance(a, dict)]
    if not names:
        report(
            f"SageMaker endpoint {shown!r} must roll back automatically: set "
            "deployment_config.auto_rollback_configuration.alarms to at least one CloudWatch alarm of this stack "
            "(e.g. on Invocation5XXErrors and ModelLatency of the endpoint).",
            endpoint.urn,
        )
        return
    # Alarms named in the stack count; names known only at deployment (autonamed alarms) count
    # as far as the endpoint depends on alarm resources of the stack.
    named = [alarms_by_name[n] for n in names if isinstance(n, str) and n in alarms_by_name]
    autonamed = [a for a in index.used_by(endpoint, *ALARM_TYPES) if not index.names(a)]
    in_stack = len(named) + min(len(names) - len(named), len(autonamed))
    if in_stack == 0:
        listed = ", ".join(repr(n) for n in names if isinstance(n, str))
        report(
            f"SageMaker endpoint {shown!r} must roll back on at least one alarm this stack defines, but its "
            f"rollback alarms ({listed or 'computed at deployment'}) are not CloudWatch alarms of this stack; add one "
            "(the Endpoint component creates 5xx and latency alarms) and pass its name (alarm.name).",
            endpoint.urn,
        )
        return
    _check_rollback_alarms(shown, endpoint, [*named, *autonamed], index, bake, report)


def _check_rollback_alarms(shown: str, endpoint: Any, alarms: list[Any], index: StackIndex, bake: float | None, report: ReportViolation) -> None:
    """Each rollback alarm of the stack must be able to fire, and within the bake time."""
    seen: set[str] = set()
    ceiling = latency_ceiling_us(index.names(endpoint), index)
    for alarm in alarms:
        if alarm.urn in seen or alarm.resource_type != METRIC_ALARM:
            continue
        seen.add(alarm.urn)
        label = next(iter(index.names(alarm)), alarm.name)
        why = never_fires(alarm, latency_ceiling_us=ceiling)
        if why:
            report(
                f"rollback alarm {label!r} of SageMaker endpoint {shown!r} must be able to fire, but {why}; lower its "
                "threshold into the metric's range (rollout.maxErrorRatePercent below 100, rollout.maxLatencyMs below the "
                "invocation timeout).",
                alarm.urn,
            )
            continue
        window = window_seconds(alarm)
        if bake and window and window > bake:
            report(
                f"rollback alarm {label!r} of SageMaker endpoint {shown!r} must be able to fire within the bake time "
                f"({bake:g} s), but it needs {window:g} s of breaching datapoints (datapoints to alarm x period); lower "
                "datapoints_to_alarm or the period, or lengthen wait_interval_in_seconds.",
                alarm.urn,
            )


#: Labels mlstack's InferenceService writes for a stepped canary (mlstack.components.endpoint.kserve).
ROLLOUT_STEP = "mlstack.dev/rollout-step"
PROMOTED_VERSION = "mlstack.dev/promoted-version"
MODEL_VERSION = "mlstack.dev/model-version"


def _promoted(service: Any) -> bool:
    """A canary the stack promoted: no canaryTrafficPercent because the version it serves is the
    one declared promoted (labels rollout-step promoted, promoted-version = model-version). A
    new version under an old promotion is a canary again, so this cannot skip a canary by label."""
    step, promoted, version = (get(service.props, "metadata", "labels", key) for key in (ROLLOUT_STEP, PROMOTED_VERSION, MODEL_VERSION))
    return step == "promoted" and isinstance(version, str) and bool(version) and promoted == version


def _check_kserve(service: Any, config: dict[str, Any], report: ReportViolation) -> None:
    name = physical_name(service) or service.name
    percent = get(service.props, "spec", "predictor", "canaryTrafficPercent")
    if percent is UNKNOWN:
        return
    value = number(percent)
    if percent is None and _promoted(service):
        pass
    elif value is None or not 0 <= value < 100:
        got = "not set" if percent is None else f"{percent!r}"
        report(
            f"KServe InferenceService {name!r} must roll out new versions as a canary: set "
            f"spec.predictor.canaryTrafficPercent to the share of traffic the new revision gets, 0-99 (got {got}); "
            "drop it only to promote a canary (mlstack: rollout.promotedVersion equal to modelVersion).",
            service.urn,
        )
    mode = get(service.props, "metadata", "annotations", DEPLOYMENT_MODE)
    if isinstance(mode, str) and mode.lower() in ("rawdeployment", "standard"):
        report(
            f"KServe InferenceService {name!r} must use the Serverless deployment mode for canary rollout "
            f"({DEPLOYMENT_MODE} is {mode!r}); remove the annotation or set it to Serverless.",
            service.urn,
        )


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    index = StackIndex(args.resources)
    if env in (config.get("environments") or ()):
        alarms_by_name: dict[str, Any] = {}
        for alarm in index.of_type(*ALARM_TYPES):
            alarms_by_name.update((n, alarm) for n in index.names(alarm) if not n.startswith("arn:"))
        for endpoint in index.of_type(ENDPOINT_TYPE):
            _check_sagemaker(endpoint, index, alarms_by_name, env, config, report_violation)
    if env in (config.get("kserveEnvironments") or ()):
        for service in index.of_type(KSERVE_TYPE):
            _check_kserve(service, config, report_violation)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that SageMaker endpoints roll out with CANARY or LINEAR blue/green, bake each step for the environment's "
        "minimum and roll back on alarms of the stack that can fire within the bake time (staging, prod), and that KServe "
        "services set canaryTrafficPercent in Serverless mode (staging, prod)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["rollout"],
    display_name="Endpoints roll out progressively",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(
                ["staging", "prod"], "SageMaker endpoints must use CANARY or LINEAR blue/green with rollback alarms"
            ),
            "kserveEnvironments": environments_property(
                ["staging", "prod"], "KServe InferenceServices must set canaryTrafficPercent"
            ),
            "minWaitIntervalSeconds": per_environment(
                {"type": "integer", "minimum": 0, "maximum": 3600},
                DEFAULT_MIN_WAIT,
                "Per environment: the shortest bake (wait_interval_in_seconds) after each traffic shift of a SageMaker rollout.",
            ),
        }
    ),
    remediation_steps="Use the Endpoint component's rollout settings (canary or linear) and its rollback alarms.",
)
