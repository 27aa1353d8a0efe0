"""What the quality policies read: per SageMaker endpoint of the stack config, the model it serves,
that model's promotion gates on metrics production can measure, and the endpoint's
``mlstack:monitors[].quality`` declaration (its ground truth); and which quality alarms the
resource graph holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...specs.quality import PROBLEM_METRICS
from .index import StackIndex
from .resource_types import METRIC_ALARM
from .stack import config_value
from .values import plain

__all__ = ["GatedEndpoint", "gated_endpoints", "quality_alarms", "QUALITY_NAMESPACE", "QUALITY_METRICS", "BIAS_GATE"]

QUALITY_NAMESPACE = "mlstack/Quality"
QUALITY_METRICS = frozenset(m for metrics in PROBLEM_METRICS.values() for m in metrics)
BIAS_GATE = "bias_delta"


@dataclass
class GatedEndpoint:
    """A SageMaker endpoint whose model has gates production could check."""

    name: str
    """The endpoint's physical name (<team>-<endpoint>)."""
    declared: str
    """Its name in mlstack:endpoints."""
    model: str
    metrics: list[str] = field(default_factory=list)
    """Gated quality metrics (accuracy, auc, rmse...)."""
    bias: bool = False
    """The model has a bias_delta gate."""
    quality: Mapping[str, Any] | None = None
    """Its monitor's quality declaration (None: no ground truth declared)."""
    monitor_index: int | None = None


def gated_endpoints() -> list[GatedEndpoint]:
    """The endpoints of the stack config whose models have quality or bias gates."""
    team = config_value("mlstack:team")
    endpoints = config_value("mlstack:endpoints")
    models = config_value("mlstack:models")
    monitors = config_value("mlstack:monitors")
    if not isinstance(team, str) or not isinstance(endpoints, list):
        return []
    gates_by_model: dict[str, list[Mapping[str, Any]]] = {}
    for model in models if isinstance(models, list) else []:
        if isinstance(model, Mapping) and isinstance(model.get("name"), str) and isinstance(model.get("gates"), list):
            gates_by_model[model["name"]] = [g for g in model["gates"] if isinstance(g, Mapping)]
    quality_by_endpoint: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, monitor in enumerate(monitors if isinstance(monitors, list) else []):
        if isinstance(monitor, Mapping) and isinstance(monitor.get("quality"), Mapping) and isinstance(monitor.get("endpoint"), str):
            quality_by_endpoint.setdefault(monitor["endpoint"], (i, monitor["quality"]))
    out = []
    for endpoint in endpoints:
        if not isinstance(endpoint, Mapping) or not isinstance(endpoint.get("name"), str):
            continue
        if str(endpoint.get("backend", "sagemaker")).lower() == "kserve":
            continue  # KServe's metrics are in Prometheus; no Monitor watches it
        model = endpoint.get("model")
        gates = gates_by_model.get(model, []) if isinstance(model, str) else []
        named = [(g.get("metric"), g.get("op", ">=")) for g in gates if isinstance(g.get("metric"), str)]
        metrics = sorted({m for m, op in named if m in QUALITY_METRICS and op != "=="})
        bias = any(m == BIAS_GATE for m, _ in named)
        if not metrics and not bias:
            continue
        index, quality = quality_by_endpoint.get(endpoint["name"], (None, None))
        out.append(GatedEndpoint(f"{team}-{endpoint['name']}", endpoint["name"], str(model), metrics, bias, quality, index))
    return out


def quality_alarms(index: StackIndex) -> dict[str, dict[str, set[str]]]:
    """Alarms on mlstack/Quality by endpoint: ``{endpoint: {metric name: {Metric dimension or ""}}}``."""
    out: dict[str, dict[str, set[str]]] = {}
    for alarm in index.of_type(METRIC_ALARM):
        props = plain(alarm.props)
        if not isinstance(props, Mapping) or props.get("namespace") != QUALITY_NAMESPACE:
            continue
        dims = props.get("dimensions") or {}
        endpoint, metric = dims.get("EndpointName"), props.get("metricName")
        if isinstance(endpoint, str) and isinstance(metric, str):
            out.setdefault(endpoint, {}).setdefault(metric, set()).add(str(dims.get("Metric", "")))
    return out
