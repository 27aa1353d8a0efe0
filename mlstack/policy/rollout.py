"""``mlstack-endpoint-requires-progressive-rollout``: new model versions reach traffic gradually,
with automatic rollback."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ._common import (
    KSERVE_TYPE,
    UNKNOWN,
    StackIndex,
    environments_property,
    get,
    is_set,
    number,
    physical_name,
    plain,
    stack_environment,
)

__all__ = ["POLICY", "ENDPOINT_TYPE", "ALARM_TYPES"]

NAME = "mlstack-endpoint-requires-progressive-rollout"
ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
ALARM_TYPES = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
PROGRESSIVE = ("CANARY", "LINEAR")
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"

ROLLOUT_FIX = (
    "set deployment_config.blue_green_update_policy.traffic_routing_configuration to "
    "{type: 'CANARY', canary_size: {type: 'CAPACITY_PERCENT', value: 10}, wait_interval_in_seconds: 600} "
    "(or LINEAR with linear_step_size)"
)


def _check_sagemaker(endpoint: Any, index: StackIndex, alarm_names: set[str], report: ReportViolation) -> None:
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
    known = sum(1 for n in names if isinstance(n, str) and n in alarm_names)
    autonamed = [a for a in index.used_by(endpoint, *ALARM_TYPES) if not index.names(a)]
    in_stack = known + min(len(names) - known, len(autonamed))
    if in_stack == 0:
        listed = ", ".join(repr(n) for n in names if isinstance(n, str))
        report(
            f"SageMaker endpoint {shown!r} must roll back on at least one alarm this stack defines, but its "
            f"rollback alarms ({listed or 'computed at deployment'}) are not CloudWatch alarms of this stack; add one "
            "(the Endpoint component creates 5xx and latency alarms) and pass its name (alarm.name).",
            endpoint.urn,
        )


def _check_kserve(service: Any, config: dict[str, Any], report: ReportViolation) -> None:
    name = physical_name(service) or service.name
    percent = get(service.props, "spec", "predictor", "canaryTrafficPercent")
    if percent is UNKNOWN:
        return
    value = number(percent)
    if value is None or not 0 <= value < 100:
        got = "not set" if percent is None else f"{percent!r}"
        report(
            f"KServe InferenceService {name!r} must roll out new versions as a canary: set "
            f"spec.predictor.canaryTrafficPercent to the share of traffic the new revision gets, 0-99 (got {got}).",
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
        alarm_names = set()
        for alarm in index.of_type(*ALARM_TYPES):
            alarm_names |= {n for n in index.names(alarm) if not n.startswith("arn:")}
        for endpoint in index.of_type(ENDPOINT_TYPE):
            _check_sagemaker(endpoint, index, alarm_names, report_violation)
    if env in (config.get("kserveEnvironments") or ()):
        for service in index.of_type(KSERVE_TYPE):
            _check_kserve(service, config, report_violation)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that SageMaker endpoints roll out with CANARY or LINEAR blue/green and roll back on at least one "
        "alarm defined in the stack (staging, prod), and that KServe services set canaryTrafficPercent (prod)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Endpoints roll out progressively",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(
                ["staging", "prod"], "SageMaker endpoints must use CANARY or LINEAR blue/green with rollback alarms"
            ),
            "kserveEnvironments": environments_property(["prod"], "KServe InferenceServices must set canaryTrafficPercent"),
        }
    ),
    remediation_steps="Use the Endpoint component's rollout settings (canary or linear) and its rollback alarms.",
)
