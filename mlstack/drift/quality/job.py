"""One run of the quality job: read, join, compute, publish (see :mod:`mlstack.drift.quality`).

:func:`run_quality` judges the predictions made in ``[now - labelLag - window, now - labelLag)``
against the labels that arrived since the window began. Gates (``--gates``, the model's
promotion gates and the monitor's thresholds as JSON) become ``QualityGateMargin``: for a gate
that compares with ``last-approved`` the bound is the served model package's evaluation metric
(``CustomerMetadataProperties`` ``mlstack:metric:<name>``, what the TrainingPipeline registers
and ``mlstack promote`` reads) minus the monitor's tolerance. When that metric cannot be read
the run publishes ``GateReferenceMissing`` = 1 rather than guess a bound.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mlstack.drift import quality as q
from mlstack.drift.capture import endpoint_capture_uri, is_s3_uri, iter_capture_sources, read_bytes
from mlstack.drift.publish import cloudwatch_client as make_cloudwatch_client, put_metric_data
from mlstack.drift.quality import metrics as m
from mlstack.drift.quality.join import Joined, PredictionReader, join, read_labels
from mlstack.drift.tables import parse_csv_table

log = logging.getLogger(__name__)

REPORT_FORMAT = "mlstack.quality.report/1"
METADATA_PREFIX = "mlstack:metric:"
_OPS = {">=", ">", "<=", "<"}


class QualityConfigError(ValueError):
    """The job's settings cannot work."""


@dataclass(frozen=True)
class Bound:
    """A gate or threshold the production metric must stay within."""

    metric: str
    op: str
    threshold: float | str
    tolerance: float = 0.0

    @classmethod
    def parse(cls, raw: Any) -> "Bound":
        if not isinstance(raw, dict):
            raise QualityConfigError(f"a gate must be an object, got {raw!r}")
        metric, op, threshold = raw.get("metric"), raw.get("op", ">="), raw.get("threshold")
        tolerance = raw.get("tolerance", 0.0)
        if not isinstance(metric, str) or op not in _OPS:
            raise QualityConfigError(f"a gate needs a metric and an op of {', '.join(sorted(_OPS))}: {raw!r}")
        if threshold != "last-approved" and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold)):
            raise QualityConfigError(f"gate {metric}: threshold must be a finite number or 'last-approved', got {threshold!r}")
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) or tolerance < 0:
            raise QualityConfigError(f"gate {metric}: tolerance must be a finite number >= 0, got {tolerance!r}")
        return cls(metric, op, threshold, float(tolerance))

    @property
    def floor(self) -> bool:
        return self.op in (">=", ">")

    def bound(self, reference: Mapping[str, float]) -> float | None:
        """The production bound: the threshold (or the approved version's metric) widened by the tolerance."""
        if self.threshold == "last-approved":
            base = reference.get(self.metric)
            if base is None:
                return None
        else:
            base = float(self.threshold)
        return base - self.tolerance if self.floor else base + self.tolerance

    def margin(self, value: float, reference: Mapping[str, float]) -> float | None:
        bound = self.bound(reference)
        if bound is None or math.isnan(value):
            return None
        return value - bound if self.floor else bound - value


@dataclass
class QualityReport:
    endpoint_name: str
    generated_at: datetime
    problem: str
    window_start: datetime
    window_end: datetime
    counts: dict[str, int] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)
    margins: dict[str, float] = field(default_factory=dict)
    reference_missing: list[str] = field(default_factory=list)
    slices: dict[str, m.SliceResult] = field(default_factory=dict)
    bias_delta: float = math.nan
    output_psi: float = math.nan
    conditional_error_change: float = math.nan
    coverage_percent: float = math.nan
    newest_label_age_hours: float = math.nan
    median_label_lag_hours: float = math.nan
    metrics_published: int = 0

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if v is None or math.isnan(v) else v

        return {
            "format": REPORT_FORMAT,
            "endpoint_name": self.endpoint_name,
            "generated_at": self.generated_at.isoformat(),
            "problem_type": self.problem,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "namespace": q.NAMESPACE,
            "counts": self.counts,
            "quality": {k: num(v) for k, v in self.quality.items()},
            "gate_margins": self.margins,
            "reference_missing": self.reference_missing,
            "slices": {k: v.to_dict() for k, v in self.slices.items()},
            "bias_delta": num(self.bias_delta),
            "output_psi": num(self.output_psi),
            "conditional_error_change": num(self.conditional_error_change),
            "label_coverage_percent": num(self.coverage_percent),
            "newest_label_age_hours": num(self.newest_label_age_hours),
            "median_label_lag_hours": num(self.median_label_lag_hours),
            "metrics_published": self.metrics_published,
        }


def reference_metrics(sagemaker_client: Any, package_arn: str) -> dict[str, float]:
    """The evaluation metrics registered on a model package (``mlstack:metric:<name>``); only
    finite plain numbers count."""
    package = sagemaker_client.describe_model_package(ModelPackageName=package_arn)
    properties = package.get("CustomerMetadataProperties") or {}
    out: dict[str, float] = {}
    if not isinstance(properties, dict):
        return out
    for key, raw in properties.items():
        if not isinstance(key, str) or not key.startswith(METADATA_PREFIX) or not isinstance(raw, str):
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            continue
        if math.isfinite(value) and raw.strip().lower() not in ("nan", "inf", "-inf", "infinity"):
            out[key[len(METADATA_PREFIX) :]] = value
    return out


def load_output_baseline(uri: str, *, problem: str, s3_client: Any, positive: str | None, negative: str) -> tuple[np.ndarray, np.ndarray]:
    """``(predictions, labels)`` of the validation baseline CSV (columns prediction and label)."""
    from mlstack.drift.quality.join import normalise_label

    names, columns = parse_csv_table(read_bytes(uri, s3_client).decode("utf-8-sig"))
    table = dict(zip(names, columns))
    if "prediction" not in table:
        raise QualityConfigError(f"baseline {uri}: no column 'prediction' (columns: {', '.join(names)})")
    preds = list(table["prediction"])
    labels = list(table.get("label", ()))
    if problem == m.MULTICLASS:
        return np.asarray([normalise_label(v) for v in preds], dtype=object), np.asarray([normalise_label(v) for v in labels], dtype=object)
    p = np.asarray([_float(v) for v in preds])
    if problem == m.BINARY:
        pos = positive or "1"
        y = np.asarray([1.0 if normalise_label(v) == pos else 0.0 if normalise_label(v) == negative else np.nan for v in labels])
    else:
        y = np.asarray([_float(v) for v in labels])
    return p, y


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def run_quality(
    endpoint_name: str,
    capture_uri: str,
    ground_truth_uri: str,
    *,
    problem: str,
    prediction_field: str = "0",
    threshold: float = 0.5,
    positive: str | None = None,
    negative: str = "0",
    id_column: str | None = None,
    request_columns: Sequence[str] = (),
    slices: Sequence[str] = (),
    min_slice_size: int = 100,
    window_hours: float = 24,
    label_lag_hours: float = 0,
    gates: Sequence[Bound] = (),
    model_package_arn: str | None = None,
    baseline_uri: str | None = None,
    report_uri: str | None = None,
    now: datetime | None = None,
    s3_client: Any = None,
    cloudwatch_client: Any = None,
    sagemaker_client: Any = None,
) -> QualityReport:
    """Judge one window of an endpoint's predictions and publish to ``mlstack/Quality``."""
    if problem not in m.PROBLEM_METRICS:
        raise QualityConfigError(f"unknown problem type {problem!r}; use binary, multiclass or regression")
    if window_hours <= 0 or label_lag_hours < 0:
        raise QualityConfigError("the window must be > 0 hours and the label lag >= 0 hours")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    end = now - timedelta(hours=label_lag_hours)
    start = end - timedelta(hours=window_hours)
    if s3_client is None and any(is_s3_uri(u or "") for u in (capture_uri, ground_truth_uri, baseline_uri, report_uri)):
        import boto3

        from mlstack.drift.publish import client_config

        s3_client = boto3.client("s3", config=client_config())

    reader = PredictionReader(
        prediction_field=prediction_field,
        id_column=id_column,
        request_columns=request_columns,
        slices=slices,
        window=(start.timestamp(), end.timestamp()),
    )
    source = endpoint_capture_uri(capture_uri, endpoint_name, s3_client)
    # Capture files sit in the hour they were written, a little after the request.
    for name, data in iter_capture_sources(source, window=(start, end + timedelta(hours=1)), s3_client=s3_client):
        reader.add_file(data, name)
    predictions = reader.out
    labels = read_labels(ground_truth_uri, s3_client=s3_client, since=start, until=now)
    joined = join(predictions, labels, problem=problem, positive=positive, negative=negative)
    report = QualityReport(endpoint_name, now, problem, start, end)
    report.counts = {
        "judged_predictions": joined.judged,
        "labelled_predictions": joined.labelled,
        "unmatched_labels": joined.unmatched_labels,
        "duplicate_labels": joined.duplicate_labels,
        "invalid_predictions": joined.invalid_predictions + predictions.unreadable,
        "invalid_labels": joined.invalid_labels + labels.malformed,
        "multi_row_requests": predictions.multi_row,
        "duplicate_prediction_ids": predictions.duplicate_ids,
        "label_files": labels.files,
    }
    compute(report, joined, problem=problem, threshold=threshold, positive=positive, slices=slices, min_slice_size=min_slice_size)

    if baseline_uri and joined.all_predictions.size:
        base_pred, base_y = load_output_baseline(baseline_uri, problem=problem, s3_client=s3_client, positive=positive, negative=negative)
        report.output_psi = m.output_psi(joined.all_predictions, base_pred, categorical=problem == m.MULTICLASS)
        if joined.labelled and base_y.size:
            keep = np.ones(base_y.size, dtype=bool) if problem == m.MULTICLASS else np.isfinite(base_y)
            before = m.conditional_errors(problem, base_y[keep], base_pred[keep], threshold)
            after = m.conditional_errors(problem, joined.labels, joined.predictions, threshold)
            report.conditional_error_change = m.conditional_error_change(after, before)

    reference: dict[str, float] = {}
    relative = [g for g in gates if g.threshold == "last-approved"]
    if relative:
        if model_package_arn:
            try:
                if sagemaker_client is None:
                    import boto3

                    from mlstack.drift.publish import client_config

                    sagemaker_client = boto3.client("sagemaker", config=client_config())
                reference = reference_metrics(sagemaker_client, model_package_arn)
            except Exception as exc:  # botocore errors: fail closed, below
                log.error("cannot read the evaluation metrics of %s: %s", model_package_arn, exc)
        report.reference_missing = sorted({g.metric for g in relative if g.metric not in reference})
        for name in report.reference_missing:
            log.error(
                "the served model package %s has no readable evaluation %r: gate %s >= last-approved is not checked; "
                "publishing %s=1", model_package_arn or "(unknown)", name, name, q.METRIC_REFERENCE_MISSING,
            )
    for gate in gates:
        value = report.quality.get(gate.metric, math.nan)
        margin = gate.margin(value, reference)
        if margin is not None:
            prior = report.margins.get(gate.metric)
            report.margins[gate.metric] = margin if prior is None else min(prior, margin)

    data = metric_data(report, timestamp=now, relative=bool(relative))
    if cloudwatch_client is None:
        cloudwatch_client = make_cloudwatch_client()
    put_metric_data(cloudwatch_client, data, namespace=q.NAMESPACE)
    report.metrics_published = len(data)
    log.info(
        "endpoint %s: %d prediction(s) judged, %d labelled (%.1f%%), quality %s",
        endpoint_name, joined.judged, joined.labelled, report.coverage_percent if joined.judged else 0.0,
        {k: round(v, 4) for k, v in report.quality.items() if not math.isnan(v)},
    )
    if report_uri:
        _write_report(report, report_uri, s3_client)
    return report


def compute(
    report: QualityReport,
    joined: Joined,
    *,
    problem: str,
    threshold: float,
    positive: str | None,
    slices: Sequence[str],
    min_slice_size: int,
) -> None:
    """Fill ``report`` with quality, fairness and label health of ``joined`` (no I/O)."""
    report.quality = m.problem_metrics(problem, joined.labels, joined.predictions, threshold)
    bias_positive = positive if problem == m.MULTICLASS else None
    deltas = []
    for feature in slices:
        result = m.slice_metrics(
            problem, joined.labels, joined.predictions, joined.slices[feature],
            feature=feature, min_size=min_slice_size, threshold=threshold, overall=report.quality, positive=bias_positive,
        )
        report.slices[feature] = result
        if not math.isnan(result.bias_delta):
            deltas.append(result.bias_delta)
    report.bias_delta = max(deltas) if deltas else math.nan
    report.coverage_percent = joined.coverage_percent
    if not math.isnan(joined.newest_label_time):
        report.newest_label_age_hours = max(0.0, (report.generated_at.timestamp() - joined.newest_label_time) / 3600.0)
    if joined.labelled:
        lag = joined.label_times - joined.prediction_times
        lag = lag[np.isfinite(lag)]
        if lag.size:
            report.median_label_lag_hours = max(0.0, float(np.median(lag)) / 3600.0)


def _dimension(value: str) -> str:
    value = str(value) or "(empty)"
    return value[:1024]


def metric_data(report: QualityReport, *, timestamp: datetime, relative: bool) -> list[dict[str, Any]]:
    """The metric data of one run (see :mod:`mlstack.drift.quality`); undefined values are left out."""
    ep = {"Name": q.DIMENSION_ENDPOINT, "Value": _dimension(report.endpoint_name)}
    data: list[dict[str, Any]] = []

    def put(name: str, value: float, unit: str = "None", **dims: str) -> None:
        if value is None or not math.isfinite(value):
            return
        dimensions = [ep] + [{"Name": k, "Value": _dimension(v)} for k, v in dims.items()]
        data.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": float(value), "Unit": unit})

    for metric, value in report.quality.items():
        put(q.METRIC_QUALITY, value, **{q.DIMENSION_METRIC: metric})
    for metric, margin in report.margins.items():
        put(q.METRIC_GATE_MARGIN, margin, **{q.DIMENSION_METRIC: metric})
    primary = m.PRIMARY_METRIC[report.problem]
    for feature, result in report.slices.items():
        put(q.METRIC_PARITY, result.demographic_parity_difference, **{q.DIMENSION_FEATURE: feature})
        put(q.METRIC_OPPORTUNITY, result.equal_opportunity_difference, **{q.DIMENSION_FEATURE: feature})
        put(q.METRIC_WORST_SLICE_GAP, result.worst_slice_gap, **{q.DIMENSION_FEATURE: feature})
        largest = sorted(result.slices.items(), key=lambda kv: -kv[1].get("count", 0))[: q.MAX_SLICES_PUBLISHED]
        for value, entry in largest:
            put(q.METRIC_SLICE_QUALITY, entry.get(primary, math.nan), **{q.DIMENSION_FEATURE: feature, q.DIMENSION_SLICE: value})
    put(q.METRIC_BIAS_DELTA, report.bias_delta)
    put(q.METRIC_OUTPUT_PSI, report.output_psi)
    put(q.METRIC_CONDITIONAL_ERROR_CHANGE, report.conditional_error_change)
    put(q.METRIC_LABEL_COVERAGE, report.coverage_percent, "Percent")
    put(q.METRIC_NEWEST_LABEL_AGE, report.newest_label_age_hours)
    put(q.METRIC_MEDIAN_LABEL_LAG, report.median_label_lag_hours)
    c = report.counts
    for name, key in (
        (q.METRIC_JUDGED, "judged_predictions"),
        (q.METRIC_LABELLED, "labelled_predictions"),
        (q.METRIC_UNMATCHED_LABELS, "unmatched_labels"),
        (q.METRIC_DUPLICATE_LABELS, "duplicate_labels"),
        (q.METRIC_INVALID_PREDICTIONS, "invalid_predictions"),
        (q.METRIC_INVALID_LABELS, "invalid_labels"),
    ):
        put(name, float(c.get(key, 0)), "Count")
    if relative:
        put(q.METRIC_REFERENCE_MISSING, float(len(report.reference_missing)), "Count")
    return data


def _write_report(report: QualityReport, uri: str, s3_client: Any) -> str:
    import os

    from mlstack.drift.capture import local_path, split_s3_uri

    name = f"quality-report-{report.endpoint_name}-{report.generated_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    body = (json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n").encode()
    if is_s3_uri(uri):
        bucket, key = split_s3_uri(uri)
        key = key if key.endswith(".json") else (key.rstrip("/") + "/" if key else "") + name
        s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{bucket}/{key}"
    path = local_path(uri)
    if not path.endswith(".json"):
        path = os.path.join(path, name)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(body)
    return path
