"""The evaluation metrics of a registered model version, as promotion gates read them.

Two sources, both optional:

* the model quality statistics report in S3 (``ModelMetrics.ModelQuality.Statistics.S3Uri``),
  in SageMaker's model quality shape ::

      {"binary_classification_metrics": {"accuracy": {"value": 0.91, "standard_deviation": 0.002}}}

  (``regression_metrics``, ``multiclass_classification_metrics`` and the TrainingPipeline's
  ``{"metrics": {"accuracy": {"value": ...}}}`` alike; each metric is available as ``accuracy``
  and as ``binary_classification_metrics.accuracy``), or flat ::

      {"accuracy": 0.91, "bias_delta": 0.004}

* ``CustomerMetadataProperties``: ``mlstack:metric:<name>`` (written by the TrainingPipeline's
  register step) and other non-``mlstack:`` properties whose values are numbers written as
  strings (``{"latency_p99_ms": "41.5"}``, e.g. set after a load test).

When both give a metric, the report wins and the difference is noted. A report that is declared
but cannot be read stops the command (nothing is approved or rejected on evidence that could not
be read); a version with no metrics at all simply fails every gate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from urllib.parse import urlparse

from ..components._pipeline_definition import METRIC_PROPERTY_PREFIX
from ..types import LINEAGE_PREFIX
from .aws import Aws, OpsError, is_access_denied, is_not_found

__all__ = ["PackageMetrics", "read_metrics", "metrics_from_report", "metrics_from_metadata"]

# Top-level numbers in a model quality report that are not metrics.
_NOT_METRICS = {"version"}


@dataclass
class PackageMetrics:
    """Metric values of one model version and where they came from."""

    values: dict[str, float] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def metrics_from_report(document: Any) -> dict[str, float]:
    """Metric values from a model quality report (SageMaker's nested shape or a flat mapping)."""
    if not isinstance(document, Mapping):
        raise ValueError("the report is not a JSON object")
    values: dict[str, float] = {}
    qualified: dict[str, float] = {}
    for key, entry in document.items():
        if key in _NOT_METRICS:
            continue
        number = _number(entry)
        if number is not None:  # flat: {"accuracy": 0.9}
            values[key] = number
        elif isinstance(entry, Mapping):
            number = _number(entry.get("value"))
            if number is not None:  # {"accuracy": {"value": 0.9}}
                values[key] = number
                continue
            for metric, item in entry.items():  # {"binary_classification_metrics": {"accuracy": {"value": 0.9}}}
                number = _number(item.get("value")) if isinstance(item, Mapping) else _number(item)
                if number is not None:
                    qualified[f"{key}.{metric}"] = number
                    values.setdefault(metric, number)
    values.update(qualified)
    return values


def metrics_from_metadata(properties: Mapping[str, str]) -> tuple[dict[str, float], list[str]]:
    """Metrics in customer metadata, and notes on values that are not numbers.

    ``mlstack:metric:<name>`` properties (what the TrainingPipeline's register step writes) are
    metrics; so are other properties outside the ``mlstack:`` namespace whose values are numbers
    (``latency_p99_ms: "41.5"``). Other lineage properties (``mlstack:git-commit``...) are not.
    """
    values: dict[str, float] = {}
    skipped: list[str] = []
    for key, raw in properties.items():
        declared = key.startswith(METRIC_PROPERTY_PREFIX)
        if not declared and key.startswith(LINEAGE_PREFIX):
            continue
        name = key[len(METRIC_PROPERTY_PREFIX) :] if declared else key
        try:
            number = float(raw)
        except (TypeError, ValueError):
            if declared:
                skipped.append(key)
            continue
        if math.isfinite(number):
            values[name] = number
        elif declared:
            skipped.append(key)
    notes = [f"customer metadata {', '.join(map(repr, sorted(skipped)))} is not a finite number, not used" ] if skipped else []
    return values, notes


def _parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise OpsError(f"metrics report location {uri!r} is not an s3://bucket/key URI", exit_code=1)
    return parsed.netloc, parsed.path.lstrip("/")


def read_report(aws: Aws, uri: str, *, label: str) -> Any:
    """The JSON document at ``uri``; OpsError when it cannot be read or parsed."""
    from botocore.exceptions import ClientError

    bucket, key = _parse_s3_uri(uri)
    try:
        body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if is_access_denied(exc):
            raise OpsError(
                f"access denied reading the metrics report of {label} at {uri}; grant the caller s3:GetObject on it "
                "(and kms:Decrypt on its key)",
                exit_code=2,
            ) from None
        if is_not_found(exc):
            raise OpsError(
                f"the metrics report of {label} at {uri} does not exist; re-register the version with its report "
                "or fix ModelMetrics.ModelQuality.Statistics.S3Uri",
                exit_code=1,
            ) from None
        raise
    try:
        return json.loads(body)
    except ValueError as exc:
        raise OpsError(f"the metrics report of {label} at {uri} is not JSON ({exc}); nothing was changed", exit_code=1) from None


def read_metrics(aws: Aws, package: Mapping[str, Any], *, label: str) -> PackageMetrics:
    """Metrics of a described model package (the response of DescribeModelPackage)."""
    out = PackageMetrics()
    uri = (((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}).get("S3Uri")
    if uri:
        document = read_report(aws, uri, label=label)
        try:
            out.values = metrics_from_report(document)
        except ValueError as exc:
            raise OpsError(f"the metrics report of {label} at {uri}: {exc}; nothing was changed", exit_code=1) from None
        out.sources.append(uri)
    metadata = package.get("CustomerMetadataProperties") or {}
    if metadata:
        values, notes = metrics_from_metadata(metadata)
        out.notes += notes
        for name, value in values.items():
            if name in out.values:
                if out.values[name] != value:
                    out.notes.append(f"{name}: report says {out.values[name]:g}, customer metadata {value:g}; using the report")
                continue
            out.values[name] = value
        if values:
            out.sources.append("customer metadata")
    return out
