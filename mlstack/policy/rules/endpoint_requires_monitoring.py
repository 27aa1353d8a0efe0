"""Checks that every endpoint captures data and is watched for drift and errors
(``mlstack-endpoint-requires-monitoring``): a SageMaker endpoint by CloudWatch alarms of a
Monitor, a KServe InferenceService by a Prometheus Operator PrometheusRule alerting on its error
share (what ``mlstack:monitors`` creates for a KServe endpoint)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ..kit.alarms import latency_ceiling_us, never_fires
from ..kit.documents import documents, nodes
from ..kit.index import StackIndex, physical_name
from ..kit.resource_types import ENDPOINT_CONFIG, ENDPOINT_TYPE, KSERVE_TYPE, METRIC_ALARM, PROMETHEUS_RULE
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, config_value, stack_environment
from ..kit.values import UNKNOWN, get, is_set, number, plain

__all__ = ["POLICY", "NAME", "alarm_metrics", "endpoint_config_of"]

NAME = "mlstack-endpoint-requires-monitoring"
DRIFT_NAMESPACES = ["mlstack/Drift", "aws/sagemaker/Endpoints/data-metrics"]
ERROR_METRICS = ["Invocation5XXErrors", "Invocation4XXErrors", "InvocationModelErrors", "ModelErrors", "ErrorRate"]
ENDPOINT_DIMENSIONS = ("EndpointName", "endpoint_name", "InferenceService", "Endpoint")
MONITOR_TYPE = "mlstack:index:Monitor"


def in_monitor(resource: Any) -> bool:
    """Whether a resource belongs to a Monitor component (any ancestor)."""
    parent = resource.parent
    seen = 0
    while parent is not None and seen < 100:
        if parent.resource_type == MONITOR_TYPE:
            return True
        parent, seen = parent.parent, seen + 1
    return False


def alarm_metrics(alarm: Any) -> list[tuple[Any, Any, dict[str, Any]]]:
    """(namespace, metric name, dimensions) of every metric an alarm watches, metric math included."""
    props = plain(alarm.props)
    if not isinstance(props, dict):
        return []
    metrics = []
    if props.get("metricName") or props.get("namespace"):
        metrics.append((props.get("namespace"), props.get("metricName"), props.get("dimensions") or {}))
    for query in props.get("metricQueries") or []:
        metric = query.get("metric") if isinstance(query, dict) else None
        if isinstance(metric, dict):
            metrics.append((metric.get("namespace"), metric.get("metricName"), metric.get("dimensions") or {}))
    return metrics


def endpoint_config_of(endpoint: Any, index: StackIndex) -> list[Any]:
    """The endpoint configuration(s) a SageMaker endpoint serves."""
    configs = index.used_by(endpoint, ENDPOINT_CONFIG)
    if configs:
        return configs
    wanted = get(endpoint.props, "endpointConfigName")
    return [c for c in index.of_type(ENDPOINT_CONFIG) if isinstance(wanted, str) and wanted in index.names(c)]


def _watched_endpoints(alarm: Any, metrics: list[tuple[Any, Any, dict[str, Any]]]) -> set[str]:
    """Endpoint names an alarm's metrics are about (their EndpointName dimension)."""
    return {dims[key] for _, _, dims in metrics for key in ENDPOINT_DIMENSIONS if isinstance(dims.get(key), str)}


def _capture_problem(endpoint: Any, index: StackIndex) -> str | None:
    if endpoint.resource_type == KSERVE_TYPE:
        logger = get(endpoint.props, "spec", "predictor", "logger")
        if logger is UNKNOWN:
            return None
        if not is_set(logger) or not is_set(get(logger, "url")):
            return "must log requests and responses for drift analysis; set spec.predictor.logger {mode: all, url: <collector>}"
        return None
    configs = endpoint_config_of(endpoint, index)
    if not configs:
        return None  # the config is not in this stack; nothing to inspect
    for config in configs:
        capture = get(config.props, "dataCaptureConfig")
        if capture is UNKNOWN:
            continue
        percent = number(get(capture, "initialSamplingPercentage")) if isinstance(capture, Mapping) else None
        if not is_set(capture) or get(capture, "enableCapture") is False or not percent or not is_set(get(capture, "destinationS3Uri")):
            return (
                f"must capture requests and responses for drift analysis; set data_capture_config on endpoint "
                f"configuration {config.name!r} with enable_capture=True, initial_sampling_percentage > 0 and a "
                "destination_s3_uri"
            )
    return None


_ERROR_CLASS = re.compile(r'response_code_class\s*=~?\s*"[^"]*[45]xx')


def _kserve_error_alert(service: Any, index: StackIndex) -> bool | None:
    """Whether a PrometheusRule of the stack, in the service's namespace, has an alert on the
    4xx/5xx share of the service's requests (Knative queue-proxy ``response_code_class`` of
    ``<name>-predictor``); None when the service's name or namespace is not known yet."""
    name = get(service.props, "metadata", "name")
    namespace = get(service.props, "metadata", "namespace")
    if name is UNKNOWN or namespace is UNKNOWN or not isinstance(name, str):
        return None
    for rule in index.of_type(PROMETHEUS_RULE):
        where = get(rule.props, "metadata", "namespace")
        if where is UNKNOWN:
            return None
        if where != namespace:
            continue
        groups = plain(get(rule.props, "spec", "groups"))
        for group in groups if isinstance(groups, list) else []:
            rules = group.get("rules") if isinstance(group, dict) else None
            for alert in rules if isinstance(rules, list) else []:
                expr = alert.get("expr") if isinstance(alert, dict) else None
                if alert.get("alert") and isinstance(expr, str) and f"{name}-predictor" in expr and _ERROR_CLASS.search(expr):
                    return True
    return False


def drift_feature_counts(index: StackIndex) -> dict[str, int]:
    """How many features the drift job measures, by endpoint name: from each drift job's
    ``--endpoint-name``/``--features`` arguments, else from ``mlstack:monitors[].drift.features``
    of the stack config (endpoint ``<team>-<endpoint>``)."""
    counts: dict[str, int] = {}
    team = config_value("mlstack:team")
    monitors = config_value("mlstack:monitors")
    for monitor in monitors if isinstance(monitors, list) else []:
        drift = monitor.get("drift") if isinstance(monitor, Mapping) else None
        features = drift.get("features") if isinstance(drift, Mapping) else None
        if isinstance(team, str) and isinstance(monitor.get("endpoint"), str) and isinstance(features, list) and features:
            counts[f"{team}-{monitor['endpoint']}"] = len(set(map(str, features)))
    for resource in index.resources:
        if not resource.resource_type.startswith("aws:sagemaker/pipeline"):
            continue
        for _, document in documents(resource.props):
            for _, node in nodes(document):
                arguments = node.get("ContainerArguments")
                if not isinstance(arguments, list):
                    continue
                flags = {arguments[i]: arguments[i + 1] for i in range(len(arguments) - 1) if isinstance(arguments[i], str) and arguments[i].startswith("--")}
                endpoint, features = flags.get("--endpoint-name"), flags.get("--features")
                if isinstance(endpoint, str) and isinstance(features, str) and features:
                    counts[endpoint] = len({f for f in features.split(",") if f})
    return counts


def _check_alarms_can_fire(index: StackIndex, report_violation: ReportViolation) -> None:
    """Every alarm of a Monitor must be able to enter ALARM (see :mod:`mlstack.policy.kit.alarms`)."""
    features = drift_feature_counts(index)
    for alarm in index.of_type(METRIC_ALARM):
        if not in_monitor(alarm):
            continue
        endpoints = _watched_endpoints(alarm, alarm_metrics(alarm))
        counts = {features[e] for e in endpoints if e in features}
        why = never_fires(
            alarm,
            latency_ceiling_us=latency_ceiling_us(endpoints, index),
            features=max(counts) if counts else None,
        )
        if why:
            label = next(iter(index.names(alarm)), alarm.name)
            report_violation(
                f"monitor alarm {label!r} must be able to fire, but {why}. Bring its threshold into the metric's range "
                "(error rates below 100 %, latencies below the invocation timeout, drift thresholds below the largest PSI/KL "
                "the drift job can publish, featuresDriftedThreshold at most the number of features).",
                alarm.urn,
            )


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    need_drift = env in (config.get("driftAlarmEnvironments") or ())
    index = StackIndex(args.resources)
    _check_alarms_can_fire(index, report_violation)
    drift_namespaces = set(config.get("driftNamespaces") or DRIFT_NAMESPACES)
    error_metrics = set(config.get("errorMetrics") or ERROR_METRICS)
    # Per alarm of a Monitor: (drift?, error?), and the endpoints it watches, by name and by dependency.
    kinds: dict[str, tuple[bool, bool]] = {}
    by_name: dict[str, list[str]] = {}
    for alarm in index.of_type(METRIC_ALARM):
        if not in_monitor(alarm):
            continue
        metrics = alarm_metrics(alarm)
        kinds[alarm.urn] = (
            any(ns in drift_namespaces for ns, _, _ in metrics),
            any(isinstance(m, str) and m in error_metrics for _, m, _ in metrics),
        )
        for name in _watched_endpoints(alarm, metrics):
            by_name.setdefault(name, []).append(alarm.urn)
    for endpoint in index.of_type(ENDPOINT_TYPE, KSERVE_TYPE):
        kserve = endpoint.resource_type == KSERVE_TYPE
        label = "KServe InferenceService" if kserve else "SageMaker endpoint"
        name = physical_name(endpoint)
        shown = name if isinstance(name, str) else endpoint.name
        problem = _capture_problem(endpoint, index)
        if problem:
            report_violation(f"{label} {shown!r} {problem}.", endpoint.urn)
        if kserve:
            if _kserve_error_alert(endpoint, index) is False:
                report_violation(
                    f"{label} {shown!r} must have an error alert: a PrometheusRule in its namespace alerting on the 5xx or 4xx "
                    f"share of its requests (Knative's revision_request_count of {shown}-predictor by response_code_class). "
                    "Declare a monitor for the endpoint (mlstack:monitors) and keep its errors5xxPercent or errors4xxPercent alarm.",
                    endpoint.urn,
                )
            continue  # drift: KServe endpoints log payloads to an event sink, which no stack resource shows
        watching = set(by_name.get(name, ())) if isinstance(name, str) else set()
        watching |= {a.urn for a in index.users(endpoint, METRIC_ALARM) if a.urn in kinds}
        if not any(kinds[a][1] for a in watching):
            report_violation(
                f"{label} {shown!r} must have an error alarm: a Monitor (mlstack:monitors) alarm on "
                f"{' or '.join(sorted(error_metrics))} of EndpointName={shown!r}. Declare a monitor for the endpoint "
                "and keep its errors5xxPercent or errors4xxPercent alarm.",
                endpoint.urn,
            )
        if need_drift and not any(kinds[a][0] for a in watching):
            report_violation(
                f"{label} {shown!r} must have a drift alarm in {env}: a Monitor (mlstack:monitors) alarm on a metric in "
                f"{' or '.join(sorted(drift_namespaces))} of EndpointName={shown!r}. Give the endpoint's monitor drift "
                "settings (drift.features, drift.baselineUri).",
                endpoint.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every endpoint captures its requests and responses, that every SageMaker endpoint has a "
        "Monitor with at least one error alarm and (staging, prod) one drift alarm, that every KServe InferenceService "
        "has a PrometheusRule error alert, and that no Monitor alarm has a threshold its metric can never reach."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["monitoring"],
    display_name="Endpoints are monitored",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(
                ENVIRONMENTS, "every endpoint must capture its traffic and have an error alarm (SageMaker: a Monitor's; KServe: a PrometheusRule alert)"
            ),
            "driftAlarmEnvironments": environments_property(
                ["staging", "prod"], "the Monitor of every SageMaker endpoint must also have a drift alarm"
            ),
            "driftNamespaces": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "default": DRIFT_NAMESPACES,
                "description": "CloudWatch namespaces whose alarms count as drift alarms.",
            },
            "errorMetrics": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "default": ERROR_METRICS,
                "description": "CloudWatch metric names whose alarms count as error alarms.",
            },
        }
    ),
    remediation_steps="Declare a Monitor (mlstack:monitors) for every endpoint and keep data capture on.",
)
