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

Evidence is read fail-closed: the command stops (exit 1, naming the metric and where it came
from) rather than decide on anything it could not read as written —

* a report that is declared but missing, unreadable, larger than 8 MiB, not JSON, with a key
  written twice, or nested beyond reason;
* a metric whose value is NaN or infinite (``NaN``, ``Infinity``, ``1e309`` in a report;
  ``"nan"``, ``"inf"``, ``"1e309"`` in metadata), in any source;
* a metric a gate uses whose value is not a plain number: a string (``"0.95"``), a boolean, an
  object or list, a metadata value with spaces or underscores (``" 0.95"``, ``"0_95"``), or two
  different values under one name;
* the report and the version's own metadata disagreeing on a metric a gate uses (a report
  replaced after registration), a version whose metadata names another model
  (``mlstack:model``) or another report (``mlstack:evaluation-report``).

A version with no metrics at all simply fails every gate.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import urlparse

from ..components.training.definition import METRIC_PROPERTY_PREFIX
from ..specs.base import LINEAGE_PREFIX
from ..specs.gates import finite_number
from .aws import Aws, MalformedResponse, OpsError, is_access_denied, is_not_found, unreadable_answers

__all__ = [
    "PackageMetrics",
    "BadMetric",
    "read_metrics",
    "read_report",
    "metrics_from_report",
    "metrics_from_metadata",
    "scan_report",
    "scan_metadata",
    "report_uri",
    "MAX_REPORT_BYTES",
]

# Top-level numbers in a model quality report that are not metrics.
_NOT_METRICS = {"version"}
#: A metrics report larger than this is not read (SageMaker's own reports are a few KiB).
MAX_REPORT_BYTES = 8 * 1024 * 1024
MODEL_PROPERTY = f"{LINEAGE_PREFIX}model"
REPORT_PROPERTY = f"{LINEAGE_PREFIX}evaluation-report"
# A number as a metadata string: optional sign, digits with an optional fraction, optional exponent.
# No spaces, underscores, hex or words: float() accepts " 0.95", "0_95" and "nan", this does not.
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class BadMetric:
    """A metric found in a source with a value that cannot be used as a number."""

    name: str
    why: str
    """What the value is, e.g. "NaN", "the string ' 0.95'"."""
    non_finite: bool = False
    """NaN or infinite: refused whether or not a gate uses the metric."""


@dataclass
class PackageMetrics:
    """Metric values of one model version and where they came from."""

    values: dict[str, float] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: Optional[str] = None
    """The S3 URI of the version's metrics report, when it declares one."""


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _what(value: Any) -> str:
    """How a value that is not a usable number reads in a message."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, (int, float)):
        return "infinite" if isinstance(value, float) else f"a number too large for a float ({_shown(value)})"
    if isinstance(value, str):
        return f"the string {_shown(value)}"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object without a numeric 'value'"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and finite_number(value) is None


def scan_report(document: Any) -> tuple[dict[str, float], dict[str, BadMetric]]:
    """Metric values of a model quality report, and the metrics whose values cannot be used.

    Metric positions: a top-level number (flat), a top-level ``{"value": ...}``, and
    ``<group>.<metric>`` as a number or ``{"value": ...}``. Other keys (``standard_deviation``,
    a confusion matrix) are not metrics. A name given two different values is ambiguous.
    """
    if not isinstance(document, Mapping):
        raise ValueError("the report is not a JSON object")
    values: dict[str, float] = {}
    bad: dict[str, BadMetric] = {}
    qualified: dict[str, float] = {}
    unqualified: dict[str, list[float]] = {}

    def take(name: str, raw: Any, into: dict[str, float]) -> None:
        number = finite_number(raw)
        if number is None:
            bad.setdefault(name, BadMetric(name, _what(raw), _is_non_finite(raw)))
        else:
            into[name] = number

    for key, entry in document.items():
        if key in _NOT_METRICS:
            continue
        if isinstance(entry, Mapping) and "value" in entry:  # {"accuracy": {"value": 0.9}}
            take(key, entry["value"], values)
        elif isinstance(entry, Mapping):  # {"binary_classification_metrics": {"accuracy": {"value": 0.9}}}
            for metric, item in entry.items():
                name = f"{key}.{metric}"
                if isinstance(item, Mapping) and "value" not in item:
                    continue  # e.g. a confusion matrix: not a metric
                raw = item["value"] if isinstance(item, Mapping) else item
                take(name, raw, qualified)
                if name in qualified:
                    unqualified.setdefault(str(metric), []).append(qualified[name])
                elif name in bad:
                    bad.setdefault(str(metric), BadMetric(str(metric), bad[name].why, bad[name].non_finite))
        else:  # flat: {"accuracy": 0.9}
            take(key, entry, values)
    for metric, numbers in unqualified.items():
        if metric in values or metric in bad:
            if metric in values and any(n != values[metric] for n in numbers):
                bad[metric] = BadMetric(metric, f"given two different values ({values[metric]:g} and {numbers[0]:g})")
                del values[metric]
            continue
        if len(set(numbers)) > 1:
            bad[metric] = BadMetric(metric, f"given different values in different groups ({', '.join(f'{n:g}' for n in numbers)})")
        else:
            values[metric] = numbers[0]
    values.update(qualified)
    return values, bad


def metrics_from_report(document: Any) -> dict[str, float]:
    """Metric values from a model quality report (SageMaker's nested shape or a flat mapping);
    values that are not finite numbers are left out (see :func:`scan_report`)."""
    return scan_report(document)[0]


def _metadata_number(raw: Any) -> tuple[Optional[float], Optional[BadMetric]]:
    if not isinstance(raw, str):
        return None, BadMetric("", _what(raw))
    if _NUMBER.match(raw):
        number = float(raw)
        if math.isfinite(number):
            return number, None
        return None, BadMetric("", f"infinite (the string {_shown(raw)})", non_finite=True)
    try:
        loose = float(raw)
    except ValueError:
        return None, BadMetric("", _what(raw))
    if not math.isfinite(loose):
        return None, BadMetric("", f"{'NaN' if math.isnan(loose) else 'infinite'} (the string {_shown(raw)})", non_finite=True)
    return None, BadMetric("", f"the string {_shown(raw)}, not a plain number")


def scan_metadata(properties: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, BadMetric], set[str]]:
    """Metrics in customer metadata, the metrics whose values cannot be used, and the names
    that are declared metrics (``mlstack:metric:<name>``).

    ``mlstack:metric:<name>`` properties (what the TrainingPipeline's register step writes) are
    metrics; so are other properties outside the ``mlstack:`` namespace whose values are plain
    numbers (``latency_p99_ms: "41.5"``). Other lineage properties (``mlstack:git-commit``...)
    are not metrics.
    """
    values: dict[str, float] = {}
    bad: dict[str, BadMetric] = {}
    declared_names: set[str] = set()
    for key, raw in properties.items():
        declared = key.startswith(METRIC_PROPERTY_PREFIX)
        if not declared and key.startswith(LINEAGE_PREFIX):
            continue
        name = key[len(METRIC_PROPERTY_PREFIX) :] if declared else key
        number, problem = _metadata_number(raw)
        if declared:
            declared_names.add(name)
        if number is not None:
            if name in values and values[name] != number:  # owner-set "accuracy" and mlstack:metric:accuracy
                bad[name] = BadMetric(name, f"given two different values ({values[name]:g} and {number:g})")
                del values[name]
            elif name not in bad:
                values[name] = number
        elif problem is not None:
            bad[name] = BadMetric(name, problem.why, problem.non_finite)
            values.pop(name, None)
    return values, bad, declared_names


def metrics_from_metadata(properties: Mapping[str, str]) -> tuple[dict[str, float], list[str]]:
    """Metrics in customer metadata, and notes on declared metrics that are not numbers."""
    values, bad, declared = scan_metadata(properties)
    skipped = sorted(f"{METRIC_PROPERTY_PREFIX}{name}" for name in bad if name in declared)
    notes = [f"customer metadata {', '.join(map(repr, skipped))} is not a finite number, not used"] if skipped else []
    return values, notes


def _parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/") or parsed.query or parsed.fragment:
        raise OpsError(f"metrics report location {uri!r} is not an s3://bucket/key URI", exit_code=1)
    return parsed.netloc, parsed.path.lstrip("/")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} is written twice (which one counts is up to the reader)")
        out[key] = value
    return out


def parse_report(body: bytes) -> Any:
    """A report's JSON; ValueError when it is not JSON, repeats a key or is nested too deep.

    ``NaN``/``Infinity`` and numbers beyond a float's range are parsed (as NaN and infinities) so
    that :func:`scan_report` can name the metric that holds them.
    """
    try:
        return json.loads(body, object_pairs_hook=_refuse_duplicates)
    except RecursionError:
        raise ValueError("it is nested too deeply to read") from None


def read_report(aws: Aws, uri: str, *, label: str) -> Any:
    """The JSON document at ``uri``; OpsError when it cannot be read or parsed."""
    from botocore.exceptions import ClientError

    bucket, key = _parse_s3_uri(uri)
    try:
        with unreadable_answers("S3 GetObject"):
            response = aws.client("s3").get_object(Bucket=bucket, Key=key)
            size = response.get("ContentLength")
            if isinstance(size, int) and not isinstance(size, bool) and size > MAX_REPORT_BYTES:
                raise OpsError(
                    f"the metrics report of {label} at {uri} is {size} bytes, more than the {MAX_REPORT_BYTES} mlstack reads; "
                    "nothing was changed",
                    exit_code=1,
                )
            body = response["Body"].read(MAX_REPORT_BYTES + 1)
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
    aws.check_deadline(f"reading {uri}")
    if not isinstance(body, bytes) or len(body) > MAX_REPORT_BYTES:
        raise OpsError(f"the metrics report of {label} at {uri} is larger than the {MAX_REPORT_BYTES} bytes mlstack reads; nothing was changed", exit_code=1)
    try:
        return parse_report(body)
    except ValueError as exc:
        raise OpsError(f"the metrics report of {label} at {uri} is not JSON ({exc}); nothing was changed", exit_code=1) from None


def report_uri(package: Mapping[str, Any], *, label: str) -> Optional[str]:
    """``ModelMetrics.ModelQuality.Statistics.S3Uri`` of a described package, None when it declares
    no statistics; :class:`MalformedResponse` when the structure is there but not readable."""
    node: Any = package
    for key in ("ModelMetrics", "ModelQuality", "Statistics"):
        node = node.get(key) if isinstance(node, Mapping) else node
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise MalformedResponse(f"the model package of {label} has a {key} that is not an object ({_shown(node)})")
    uri = node.get("S3Uri")
    if not isinstance(uri, str) or not uri:
        raise MalformedResponse(f"the model package of {label} declares ModelQuality.Statistics without an S3Uri ({_shown(uri)})")
    return uri


def _refuse(bad: BadMetric, where: str, label: str) -> OpsError:
    return OpsError(
        f"metric {bad.name!r} of {label}, in {where}, is {bad.why}; mlstack decides only on finite numbers written as numbers. "
        "Fix the evaluation (or the registered version) and promote again; nothing was changed",
        exit_code=1,
    )


def read_metrics(
    aws: Aws,
    package: Mapping[str, Any],
    *,
    label: str,
    model: Optional[str] = None,
    gated: Iterable[str] = (),
) -> PackageMetrics:
    """Metrics of a described model package (the response of DescribeModelPackage).

    ``gated``: the metrics a gate uses (a value of these that is not a plain finite number stops
    the command). ``model``: the model being promoted (a version whose ``mlstack:model`` metadata
    names another one stops the command).
    """
    gated = set(gated)
    out = PackageMetrics()
    metadata = package.get("CustomerMetadataProperties") or {}
    if not isinstance(metadata, Mapping):
        raise MalformedResponse(f"the model package of {label} has CustomerMetadataProperties that are not a map ({_shown(metadata)})")
    owner = metadata.get(MODEL_PROPERTY)
    if model is not None and owner is not None and owner != model:
        raise OpsError(
            f"{label} was registered for model {owner!r} ({MODEL_PROPERTY} in its customer metadata), not {model!r}; "
            "its metrics are not evidence for this model. Register the version under the right model; nothing was changed",
            exit_code=1,
        )
    uri = report_uri(package, label=label)
    report_values: dict[str, float] = {}
    if uri:
        declared_report = metadata.get(REPORT_PROPERTY)
        if isinstance(declared_report, str) and declared_report and declared_report != uri:
            raise OpsError(
                f"{label} declares the metrics report {uri} but was registered with {declared_report} "
                f"({REPORT_PROPERTY}); the report was changed after registration. Nothing was changed",
                exit_code=1,
            )
        document = read_report(aws, uri, label=label)
        try:
            report_values, report_bad = scan_report(document)
        except ValueError as exc:
            raise OpsError(f"the metrics report of {label} at {uri}: {exc}; nothing was changed", exit_code=1) from None
        for bad in sorted(report_bad.values(), key=lambda b: b.name):
            if bad.non_finite or bad.name in gated:
                raise _refuse(bad, f"its metrics report {uri}", label)
        out.values = dict(report_values)
        out.sources.append(uri)
        out.report = uri
    if metadata:
        values, meta_bad, declared = scan_metadata(metadata)
        for bad in sorted(meta_bad.values(), key=lambda b: b.name):
            is_declared = bad.name in declared
            if (bad.non_finite and is_declared) or bad.name in gated:
                key = f"{METRIC_PROPERTY_PREFIX}{bad.name}" if is_declared else bad.name
                raise _refuse(bad, f"its customer metadata ({key})", label)
            if is_declared:
                out.notes.append(f"customer metadata {METRIC_PROPERTY_PREFIX}{bad.name} is {bad.why}, not used")
        for name, value in values.items():
            if name in out.values:
                if not math.isclose(out.values[name], value, rel_tol=1e-9, abs_tol=1e-12):
                    if name in gated:
                        raise OpsError(
                            f"metric {name!r} of {label}: its metrics report {uri} says {out.values[name]:g}, the customer metadata "
                            f"registered with it says {value:g}; the evidence disagrees, so nothing is decided. Nothing was changed",
                            exit_code=1,
                        )
                    out.notes.append(f"{name}: report says {out.values[name]:g}, customer metadata {value:g}; using the report")
                continue
            out.values[name] = value
        if values:
            out.sources.append("customer metadata")
    return out
