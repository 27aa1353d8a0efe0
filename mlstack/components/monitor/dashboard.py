"""The CloudWatch dashboard of a Monitor: one row per concern, drift per feature, alarm states.

Layout (24 columns): a title; invocations | errors; latency | GPU use (GPU endpoints);
drift per feature | KL per feature or the drift job's run counts; the states of every alarm.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ...drift import (
    DIMENSION_ENDPOINT,
    DIMENSION_FEATURE,
    METRIC_CAPTURED_RECORDS,
    METRIC_FEATURES_DRIFTED,
    METRIC_KL,
    METRIC_PSI,
    NAMESPACE as DRIFT_NAMESPACE,
)
from ...specs.monitor import DriftMethod
from .drift_alarms import MODEL_MONITOR_DIMENSIONS, MODEL_MONITOR_NAMESPACE, model_monitor_metric

__all__ = ["dashboard_body"]


def _quality_widgets(grid: "_Grid", args: Any, ep: Any, region: pulumi.Input[str]) -> None:
    """Quality, gate margins, fairness, output drift and label health (namespace mlstack/Quality)."""
    from ...drift import quality as q
    from ...specs.quality import bias_threshold, gated_quality_metrics
    from .quality import alarm_period

    quality = args.quality
    period = alarm_period(quality)
    name = ep.endpoint_name

    def line(metric: str, label: str, stat: str = "Maximum", **dims: Any) -> list[Any]:
        row: list[Any] = [q.NAMESPACE, metric, q.DIMENSION_ENDPOINT, name]
        for k, v in dims.items():
            row += [k, v]
        return row + [{"label": label, "stat": stat}]

    lines = [line(q.METRIC_QUALITY, m, **{q.DIMENSION_METRIC: m}) for m in quality.produced]
    grid.add("metric", _graph(f"Production quality ({quality.problem_type.value}), labelled predictions", lines, region, period=period))
    gated = gated_quality_metrics(quality, args.model_gates)
    if gated:
        margins = [line(q.METRIC_GATE_MARGIN, m, "Minimum", **{q.DIMENSION_METRIC: m}) for m in gated]
        grid.add("metric", _graph("Margin to the promotion gates (below 0: alarm)", margins, region, period=period, horizontal=[{"label": "gate", "value": 0}]))
    if quality.slices:
        fairness = [line(q.METRIC_BIAS_DELTA, "bias delta (worst)")]
        for feature in quality.slices:
            fairness.append(line(q.METRIC_PARITY, f"{feature}: demographic parity", **{q.DIMENSION_FEATURE: feature}))
            fairness.append(line(q.METRIC_OPPORTUNITY, f"{feature}: equal opportunity", **{q.DIMENSION_FEATURE: feature}))
            fairness.append(line(q.METRIC_WORST_SLICE_GAP, f"{feature}: worst slice gap", **{q.DIMENSION_FEATURE: feature}))
        bound = bias_threshold(quality, args.model_gates)
        grid.add("metric", _graph("Fairness between slices", fairness, region, period=period, horizontal=[{"label": "bias alarm", "value": bound}]))
    concept = [line(q.METRIC_OUTPUT_PSI, "output PSI"), line(q.METRIC_CONDITIONAL_ERROR_CHANGE, "error given the label: change")]
    grid.add(
        "metric",
        _graph("Concept drift", concept, region, period=period, horizontal=[{"label": "output drift alarm", "value": quality.output_psi_threshold}] if quality.baseline_uri else None),
    )
    labels = [
        line(q.METRIC_LABEL_COVERAGE, "label coverage %", "Minimum"),
        [*line(q.METRIC_NEWEST_LABEL_AGE, "newest label age (h)")[:-1], {"label": "newest label age (h)", "stat": "Maximum", "yAxis": "right"}],
        [*line(q.METRIC_MEDIAN_LABEL_LAG, "median label lag (h)")[:-1], {"label": "median label lag (h)", "stat": "Maximum", "yAxis": "right"}],
    ]
    grid.add(
        "metric",
        _graph(
            "Ground truth: coverage and lag",
            labels,
            region,
            period=period,
            horizontal=[{"label": "coverage alarm", "value": quality.min_label_coverage_percent}, {"label": "stale labels (h)", "value": quality.stale_hours(), "yAxis": "right"}],
        ),
    )
    counts = [
        line(q.METRIC_JUDGED, "judged", "Sum"),
        line(q.METRIC_LABELLED, "labelled", "Sum"),
        line(q.METRIC_UNMATCHED_LABELS, "labels without a prediction", "Sum"),
        line(q.METRIC_DUPLICATE_LABELS, "duplicate labels", "Sum"),
        line(q.METRIC_INVALID_PREDICTIONS, "invalid predictions", "Sum"),
        line(q.METRIC_INVALID_LABELS, "invalid labels", "Sum"),
    ]
    grid.add("metric", _graph("Quality runs", counts, region, period=period))
    grid.newline()

WIDTH = 24
HALF = 12
HEIGHT = 6


def _line(metric: dict, label: str | None = None) -> list[Any]:
    """An endpoint metric dict (MetricAlarm kwargs) as a dashboard metric array."""
    row: list[Any] = [metric["namespace"], metric["metric_name"]]
    for name, value in (metric.get("dimensions") or {}).items():
        row += [name, value]
    options: dict[str, Any] = {"stat": metric.get("extended_statistic") or metric.get("statistic") or "Sum"}
    if label:
        options["label"] = label
    row.append(options)
    return row


class _Grid:
    def __init__(self) -> None:
        self.widgets: list[dict] = []
        self.x = 0
        self.y = 0

    def add(self, widget_type: str, properties: dict, width: int = HALF, height: int = HEIGHT) -> None:
        if self.x + width > WIDTH:
            self.x, self.y = 0, self.y + HEIGHT
        self.widgets.append({"type": widget_type, "x": self.x, "y": self.y, "width": width, "height": height, "properties": properties})
        self.x += width
        if self.x >= WIDTH:
            self.x, self.y = 0, self.y + height

    def newline(self) -> None:
        if self.x:
            self.x, self.y = 0, self.y + HEIGHT


def _graph(title: str, metrics: list, region: pulumi.Input[str], *, period: int = 60, horizontal: list[dict] | None = None, stat: str | None = None) -> dict:
    props: dict[str, Any] = {"title": title, "view": "timeSeries", "stacked": False, "region": region, "period": period, "metrics": metrics}
    if stat:
        props["stat"] = stat
    if horizontal:
        props["annotations"] = {"horizontal": horizontal}
    return props


def dashboard_body(
    args: Any, ep: Any, *, alarm_arns: list[pulumi.Input[str]], region: pulumi.Input[str], data_quality_schedule: pulumi.Input[str] = ""
) -> pulumi.Output[str]:
    """The dashboard body JSON of a monitor with settings ``args`` (MonitorArgs) watching the
    endpoint ``ep``: ``alarm_arns`` in the alarm-state widget, ``data_quality_schedule`` the
    Model Monitor schedule's name (an Output: it holds the endpoint's name)."""
    variants = list(ep.variant_names or [None])
    period = args.alarms.period_minutes * 60
    grid = _Grid()

    def per_variant(base: dict, label: str) -> list[list[Any]]:
        """One line per production / shadow variant, so a challenger is seen beside the champion."""
        if len(variants) == 1:
            return [_line(base, label)]
        stat = base.get("extended_statistic") or base.get("statistic") or "Sum"
        return [
            _line(ep.metric(base["metric_name"], statistic=stat, period=period, variant=v, namespace=base["namespace"]), f"{label} {v}")
            for v in variants
        ]

    grid.add(
        "text",
        {"markdown": pulumi.Output.concat("# ", ep.endpoint_name, f"\nmlstack monitor `{args.alarm_prefix}`: traffic, errors, latency, drift and alarm states.")},
        width=WIDTH,
        height=2,
    )
    grid.y, grid.x = 2, 0
    grid.add("metric", _graph("Invocations", per_variant(ep.metric_invocations(), "Invocations"), region, period=period))
    errors = per_variant(ep.metric_5xx_errors(), "5XX") + per_variant(ep.metric_4xx_errors(), "4XX")
    grid.add("metric", _graph("Invocation errors", errors, region, period=period))
    latency_ms = args.alarms.latency_p99_ms
    grid.add(
        "metric",
        _graph(
            "Model latency (microseconds)",
            per_variant(ep.metric_model_latency("p50"), "p50") + per_variant(ep.metric_model_latency("p99"), "p99"),
            region,
            period=period,
            horizontal=[{"label": "p99 alarm", "value": latency_ms * 1000}] if latency_ms is not None else None,
        ),
    )
    if ep.is_gpu:
        gpu = per_variant(ep.metric_gpu_utilization(), "GPU utilization") + per_variant(ep.metric_gpu_memory_utilization(), "GPU memory")
        grid.add("metric", _graph("GPU use (% summed over the instance's GPUs)", gpu, region, period=period))
    grid.newline()

    drift = args.drift
    if drift:
        hourly = drift.interval_hours * 3600
        if drift.method is DriftMethod.JOB:
            psi = [[DRIFT_NAMESPACE, METRIC_PSI, DIMENSION_ENDPOINT, ep.endpoint_name, DIMENSION_FEATURE, f, {"label": f}] for f in drift.features]
            grid.add(
                "metric",
                _graph(
                    "Drift per feature: population stability index",
                    psi,
                    region,
                    period=hourly,
                    stat="Maximum",
                    horizontal=[{"label": "drift threshold", "value": drift.psi_threshold()}],
                ),
            )
            kl = [[DRIFT_NAMESPACE, METRIC_KL, DIMENSION_ENDPOINT, ep.endpoint_name, DIMENSION_FEATURE, f, {"label": f}] for f in drift.features]
            grid.add("metric", _graph("Drift per feature: KL divergence", kl, region, period=hourly, stat="Maximum"))
            runs = [
                [DRIFT_NAMESPACE, METRIC_FEATURES_DRIFTED, DIMENSION_ENDPOINT, ep.endpoint_name, {"label": "features drifted", "stat": "Maximum"}],
                [DRIFT_NAMESPACE, METRIC_CAPTURED_RECORDS, DIMENSION_ENDPOINT, ep.endpoint_name, {"label": "captured records", "stat": "Sum", "yAxis": "right"}],
            ]
            grid.add("metric", _graph("Drift runs", runs, region, period=hourly))
        else:
            lines = []
            for f in drift.features:
                dims = dict(zip(MODEL_MONITOR_DIMENSIONS, (ep.endpoint_name, data_quality_schedule, f)))
                row: list[Any] = [MODEL_MONITOR_NAMESPACE, model_monitor_metric(f)]
                for k, v in dims.items():
                    row += [k, v]
                lines.append(row + [{"label": f}])
            grid.add(
                "metric",
                _graph(
                    "Drift per feature: Model Monitor baseline drift",
                    lines,
                    region,
                    period=hourly,
                    stat="Maximum",
                    horizontal=[{"label": "drift threshold", "value": drift.psi_threshold()}],
                ),
            )
        grid.newline()

    if args.quality:
        _quality_widgets(grid, args, ep, region)

    if alarm_arns:
        # An alarm-status widget shows at most 100 alarms.
        grid.add("alarm", {"title": "Alarm states", "alarms": alarm_arns[:100], "sortBy": "stateUpdatedTimestamp"}, width=WIDTH, height=HEIGHT)
    return pulumi.Output.json_dumps({"widgets": grid.widgets})
