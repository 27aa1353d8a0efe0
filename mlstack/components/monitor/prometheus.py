"""PrometheusAlerts: the alerts of ``mlstack:monitors`` on a KServe endpoint, as one Prometheus
Operator ``PrometheusRule`` (``monitoring.coreos.com/v1``) beside the InferenceService.

A KServe endpoint's metrics are in the cluster's Prometheus, not in CloudWatch, so its monitor
creates no CloudWatch alarm: the same ``alarms`` settings become alerting rules, one rule group
per endpoint, each alert labelled ``mlstack_stack``, ``mlstack_endpoint`` and ``mlstack_alarm``
(the mlstack name, e.g. ``errors-5xx``) plus ``prometheus.alertLabels`` for Alertmanager routes.

What each alarm reads (selector: the predictor's Knative service ``<name>-predictor``, or
``<name>-predictor-default`` on KServe before 0.9, in its namespace):

* ``errors-5xx`` / ``errors-4xx``: the share of requests answered 5xx / 4xx, from Knative's
  queue-proxy counter ``revision_request_count`` (labels ``namespace_name``, ``service_name``,
  ``revision_name``, ``response_code_class``; Knative's "Service metrics" page). It is summed
  *by revision*: during a canary the new revision's errors are not diluted by the old one's
  traffic, so an alert names the revision at fault;
* ``latency-p99``: ``histogram_quantile(0.99, ...)`` of ``revision_request_latencies`` (ms, the
  time through queue-proxy, i.e. what callers see), by revision;
* ``no-invocations``: no request in ``noInvocationsMinutes`` (``or vector(0)``: an absent series,
  e.g. after a restart, counts as no traffic rather than as no alert);
* ``gpu-utilization`` / ``gpu-memory`` (only for endpoints requesting GPUs): NVIDIA DCGM exporter's
  ``DCGM_FI_DEV_GPU_UTIL`` and ``DCGM_FI_DEV_FB_USED`` / ``DCGM_FI_DEV_FB_FREE`` (MiB), averaged
  per pod of the predictor. Where the exporter is not installed the series are absent and the
  alerts stay silent; its pod and namespace labels are ``prometheus.dcgmPodLabel`` /
  ``dcgmNamespaceLabel``.

Timing: each rate looks at ``evaluationPeriods`` x ``periodMinutes`` (5 min by default), and an
alert fires once its expression has held for ``datapointsToAlarm`` x ``periodMinutes`` (``for``,
3 min by default). Prometheus has no M-of-N: the alert fires after M periods in a row.

Like the InferenceService, the object is validated strictly against the CRD schema of its kind
(prometheus-operator's, ``data/prometheusrule-v1.schema.json``) before anything is registered.

Example::

    alerts = PrometheusAlerts("defects", PrometheusAlertsArgs(
        settings=MonitorSettings(alarms={"latencyP99Ms": 250}, prometheus={"ruleLabels": {"release": "kps"}}),
        service=inference_service,        # an InferenceService component
        stack="vision-prod",
    ), opts=pulumi.ResourceOptions(provider=kubernetes_provider))
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import pulumi
from pydantic import ConfigDict, Field

from ...errors import ConfigError
from ...specs.monitor import GPU_ALARMS, MonitorSettings, PrometheusSpec, WatchedEndpoint, monitor_endpoint_problems
from ..base import ArgumentProblem, Component, ComponentArgs, ComponentError
from ..crd import CrdSchema

__all__ = ["PrometheusAlerts", "PrometheusAlertsArgs", "prometheus_rule", "validate_prometheus_rule", "SCHEMA_PATH", "ALERT_NAMES"]

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PrometheusRule"
SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "prometheusrule-v1.schema.json"
SCHEMA = CrdSchema(SCHEMA_PATH, kind=KIND, source="prometheus-operator's PrometheusRule schema")

#: Prometheus alert names by mlstack alarm name.
ALERT_NAMES = {
    "errors-5xx": "MlstackInferenceErrors5xx",
    "errors-4xx": "MlstackInferenceErrors4xx",
    "latency-p99": "MlstackInferenceLatencyP99",
    "no-invocations": "MlstackInferenceNoTraffic",
    "gpu-utilization": "MlstackInferenceGpuUtilization",
    "gpu-memory": "MlstackInferenceGpuMemory",
}
REQUESTS = "revision_request_count"
LATENCY_BUCKETS = "revision_request_latencies_bucket"
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class PrometheusAlertsArgs(ComponentArgs):
    """Inputs of :class:`PrometheusAlerts`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: MonitorSettings
    """The monitor's settings (mlstack:monitors[] without the endpoint name)."""
    service: Any
    """The InferenceService component watched (service_name, namespace, is_gpu, spec, model_name)."""
    stack: str
    """The stack's name, labelled on every alert (mlstack_stack)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Lineage tags; the mlstack:* ones become mlstack.dev/* labels of the PrometheusRule."""


class PrometheusAlerts(Component, token="mlstack:index:PrometheusAlerts"):
    """The Prometheus alerts of one KServe endpoint: a PrometheusRule in the endpoint's namespace.

    Example::

        PrometheusAlerts("defects", PrometheusAlertsArgs(settings=MonitorSettings(), service=isvc, stack="vision-prod"),
                         opts=pulumi.ResourceOptions(provider=provider))
    """

    rule_name: str
    namespace: str
    alert_names: list[str]

    def __init__(self, name: str, args: PrometheusAlertsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        service = args.service
        spec = getattr(service, "spec", None)
        if spec is None or not getattr(spec, "is_kserve", False):
            raise ComponentError.bad("service", "is not a KServe InferenceService", fix="alarm SageMaker endpoints with Monitor")
        from ...specs.monitor import KNATIVE_MODES, kserve_mode

        watched = WatchedEndpoint(name=spec.name, model=service.model_name, kserve=True,
                                  revisions=kserve_mode(spec) in KNATIVE_MODES, gpu=bool(service.is_gpu))
        problems = monitor_endpoint_problems(args.settings, watched, environment="")
        if problems:
            raise ComponentError.of([ArgumentProblem("settings." + ".".join(str(p) for p in path), text) for path, text in problems])
        from ..endpoint.kserve import lineage_labels

        labels, _ = lineage_labels(args.tags)
        document = prometheus_rule(args.settings, service_name=service.service_name, namespace=service.namespace,
                                   gpu=bool(service.is_gpu), stack=args.stack, labels=labels)
        try:
            validate_prometheus_rule(document)  # before anything is registered
        except ConfigError as exc:
            raise ComponentError.of([ArgumentProblem("settings", p.render()) for p in exc.problems]) from None
        super().__init__(name, opts)
        self.manifest = document
        self.rule_name = document["metadata"]["name"]
        self.namespace = service.namespace
        self.alert_names = [r["labels"]["mlstack_alarm"] for r in document["spec"]["groups"][0]["rules"]]
        from pulumi_kubernetes.apiextensions import CustomResource

        self.resource = CustomResource(
            f"{name}-rules",
            api_version=API_VERSION,
            kind=KIND,
            metadata=document["metadata"],
            spec=document["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"rule_name": self.rule_name, "namespace": self.namespace})


def _duration(minutes: int) -> str:
    return f"{minutes}m"


def _number(value: float) -> str:
    return f"{value:g}"


def _rules(settings: MonitorSettings, *, service_name: str, namespace: str, gpu: bool, prom: PrometheusSpec) -> list[tuple[str, str, str, str]]:
    """(mlstack alarm name, expr, for, summary) of every alert the settings turn on."""
    alarms = settings.alarms
    # A rate needs two scrapes in its window: over evaluationPeriods x periodMinutes (5 min by
    # default) it is robust to 1-minute scrape intervals, unlike a 1-minute window.
    window = _duration(alarms.period_minutes * alarms.evaluation_periods)
    hold = _duration(alarms.period_minutes * alarms.datapoints_to_alarm)
    # Knative names the predictor's service <isvc>-predictor (KServe >= 0.9; -predictor-default before).
    sel = f'namespace_name="{namespace}",service_name=~"{service_name}-predictor(-default)?"'
    requests = f"sum by (revision_name) (rate({REQUESTS}{{{sel}}}[{window}]))"
    rules: list[tuple[str, str, str, str]] = []
    for name, klass, threshold in (("errors-5xx", "5xx", alarms.errors_5xx_percent), ("errors-4xx", "4xx", alarms.errors_4xx_percent)):
        if threshold is not None:
            failed = f'sum by (revision_name) (rate({REQUESTS}{{{sel},response_code_class="{klass}"}}[{window}]))'
            rules.append((name, f"100 * {failed} / {requests} > {_number(threshold)}", hold,
                          f"more than {_number(threshold)}% of the requests to revision {{{{ $labels.revision_name }}}} answered {klass}"))
    if alarms.latency_p99_ms is not None:
        expr = f"histogram_quantile(0.99, sum by (revision_name, le) (rate({LATENCY_BUCKETS}{{{sel}}}[{window}]))) > {_number(alarms.latency_p99_ms)}"
        rules.append(("latency-p99", expr, hold,
                      f"p99 latency of revision {{{{ $labels.revision_name }}}} above {_number(alarms.latency_p99_ms)} ms"))
    if alarms.no_invocations_minutes is not None:
        quiet = _duration(alarms.no_invocations_minutes)
        rules.append(("no-invocations", f"(sum(increase({REQUESTS}{{{sel}}}[{quiet}])) or vector(0)) == 0", _duration(alarms.period_minutes),
                      f"no request reached {service_name} in {alarms.no_invocations_minutes} minutes"))
    if gpu:
        pods = f'{prom.dcgm_namespace_label}="{namespace}",{prom.dcgm_pod_label}=~"{service_name}-predictor-.*"'
        by = f"avg by ({prom.dcgm_pod_label})"
        if alarms.gpu_utilization_percent is not None:
            rules.append(("gpu-utilization", f"{by} (DCGM_FI_DEV_GPU_UTIL{{{pods}}}) > {_number(alarms.gpu_utilization_percent)}", hold,
                          f"GPU utilization of {{{{ $labels.{prom.dcgm_pod_label} }}}} above {_number(alarms.gpu_utilization_percent)}%"))
        if alarms.gpu_memory_percent is not None:
            used = f"DCGM_FI_DEV_FB_USED{{{pods}}}"
            free = f"DCGM_FI_DEV_FB_FREE{{{pods}}}"
            rules.append(("gpu-memory", f"{by} (100 * {used} / ({used} + {free})) > {_number(alarms.gpu_memory_percent)}", hold,
                          f"GPU memory of {{{{ $labels.{prom.dcgm_pod_label} }}}} above {_number(alarms.gpu_memory_percent)}% used"))
    return [r for r in rules if gpu or r[0] not in GPU_ALARMS]


def prometheus_rule(settings: MonitorSettings, *, service_name: str, namespace: str, gpu: bool, stack: str,
                    labels: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """The PrometheusRule object (apiVersion, kind, metadata, spec) alerting on one KServe endpoint."""
    prom = settings.prometheus or PrometheusSpec()
    group: dict[str, Any] = {"name": f"mlstack.{stack}.{service_name}", "rules": []}
    if prom.evaluation_interval_seconds is not None:
        group["interval"] = f"{prom.evaluation_interval_seconds}s"
    for alarm, expr, hold, summary in _rules(settings, service_name=service_name, namespace=namespace, gpu=gpu, prom=prom):
        group["rules"].append(
            {
                "alert": ALERT_NAMES[alarm],
                "expr": expr,
                "for": hold,
                "labels": {**prom.alert_labels, "mlstack_stack": stack, "mlstack_endpoint": service_name, "mlstack_alarm": alarm,
                           "namespace": namespace},
                "annotations": {
                    "summary": f"{service_name}: {summary}",
                    "description": f"mlstack alarm {alarm} of endpoint {service_name} (stack {stack}); value {{{{ $value }}}}.",
                },
            }
        )
    metadata_labels = {**(labels or {"app.kubernetes.io/managed-by": "mlstack"}), **prom.rule_labels}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": f"{service_name}-mlstack-alerts", "namespace": namespace, "labels": metadata_labels},
        "spec": {"groups": [group]},
    }


def validate_prometheus_rule(document: dict[str, Any]) -> None:
    """Check a PrometheusRule against prometheus-operator's CRD schema, strictly (an undeclared
    field is an error), and what the schema leaves to its description: each rule has exactly one
    of ``alert`` and ``record``, and a record is a valid metric name. Raises ConfigError."""
    from ...errors import Problem

    problems = SCHEMA.problems(document)
    name = (document.get("metadata") or {}).get("name", "?")
    for g, group in enumerate(((document.get("spec") or {}).get("groups") or [])):
        for r, rule in enumerate(group.get("rules") or [] if isinstance(group, dict) else []):
            if not isinstance(rule, dict):
                continue
            where = f"{KIND} {name}: spec.groups.{g}.rules.{r}"
            if ("alert" in rule) == ("record" in rule):
                problems.append(Problem(where, "a rule is either an alert or a record: set exactly one of them"))
            if "record" in rule and not _METRIC_NAME.match(str(rule["record"])):
                problems.append(Problem(where + ".record", f"{rule['record']!r} is not a valid metric name"))
    if problems:
        raise ConfigError(problems, title=f"{KIND} does not match prometheus-operator's schema")
