"""The drift job: read captured requests and the baseline, compute, publish.

:func:`run` is what ``python -m mlstack.drift`` calls once per schedule
tick, inside a SageMaker processing job:

1. load the baseline: a precomputed profile (``*.json``, see
   :class:`~mlstack.drift.stats.BaselineProfile`) or raw baseline data
   (CSV with a header, profiled on the fly), from S3 or a local path;
2. read the endpoint's data capture of the last ``window_hours`` hours
   (:mod:`mlstack.drift.capture`);
3. compute PSI and KL per feature (:mod:`mlstack.drift.stats`);
4. publish them to CloudWatch (:mod:`mlstack.drift.publish`);
5. return a :class:`DriftReport`, optionally written as JSON to a local
   directory (the processing output) or S3.

A window without captured data is not an error: the run publishes
``CapturedRecords`` = 0 (and ``CorruptCaptureFiles``) only, and returns a
report without features. Neither is a corrupt capture file: it is skipped,
named in the log and the report, and counted in ``CorruptCaptureFiles``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlstack.drift import DEFAULT_PSI_THRESHOLD, DEFAULT_WINDOW_HOURS, METRIC_CORRUPT_FILES, NAMESPACE
from mlstack.drift.capture import (
    endpoint_capture_uri,
    is_s3_uri,
    local_path,
    read_bytes,
    read_capture,
    split_s3_uri,
    window_bounds,
)
from mlstack.drift.publish import client_config, cloudwatch_client as make_cloudwatch_client
from mlstack.drift.publish import drift_metric_data, put_metric_data
from mlstack.drift.stats import DEFAULT_BINS, EPSILON, BaselineProfile, FeatureDrift

log = logging.getLogger(__name__)

REPORT_FORMAT = "mlstack.drift.report/1"


class DriftConfigError(ValueError):
    """The job's settings cannot work (unknown feature, invalid baseline, ...)."""


class DriftInputError(RuntimeError):
    """The baseline or the captured data could not be read (missing object, access denied, ...)."""


@dataclass
class DriftReport:
    """What one run measured and published."""

    endpoint_name: str
    generated_at: datetime
    capture_uri: str
    baseline_uri: str
    psi_threshold: float
    window_hours: float | None
    window_start: datetime | None
    window_end: datetime | None
    capture: dict[str, Any]
    features: dict[str, FeatureDrift] = field(default_factory=dict)
    metrics_published: int = 0
    epsilon: float = EPSILON

    @property
    def captured_records(self) -> int:
        """Input rows analysed (the ``CapturedRecords`` metric)."""
        return int(self.capture.get("rows", 0))

    @property
    def corrupt_files(self) -> int:
        """Capture files skipped as unreadable (the ``CorruptCaptureFiles`` metric)."""
        return int(self.capture.get("corrupt_files", 0))

    @property
    def drifted(self) -> list[str]:
        """Features whose PSI is above the threshold."""
        return [name for name, d in self.features.items() if d.psi > self.psi_threshold]

    @property
    def features_drifted(self) -> int:
        """How many features drifted (the ``FeaturesDrifted`` metric)."""
        return len(self.drifted)

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "format": REPORT_FORMAT,
            "endpoint_name": self.endpoint_name,
            "generated_at": iso(self.generated_at),
            "capture_uri": self.capture_uri,
            "baseline_uri": self.baseline_uri,
            "window_hours": self.window_hours,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "psi_threshold": self.psi_threshold,
            "epsilon": self.epsilon,
            "namespace": NAMESPACE,
            "captured_records": self.captured_records,
            "corrupt_files": self.corrupt_files,
            "capture": self.capture,
            "features_drifted": self.features_drifted if self.features else None,
            "drifted": self.drifted,
            "metrics_published": self.metrics_published,
            "features": {name: d.to_dict() for name, d in self.features.items()},
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def report_name(self) -> str:
        return f"drift-report-{self.endpoint_name}-{self.generated_at.strftime('%Y%m%dT%H%M%SZ')}.json"

    def write(self, uri: str, s3_client: Any = None) -> str:
        """Write the report as JSON; returns where.

        ``uri`` ending in ``.json`` is the file itself; anything else is a
        directory (or S3 prefix) that gets ``drift-report-<endpoint>-<time>.json``.
        """
        body = (self.to_json() + "\n").encode("utf-8")
        if is_s3_uri(uri):
            bucket, key = split_s3_uri(uri)
            if not key.endswith(".json"):
                key = (key.rstrip("/") + "/" if key else "") + self.report_name()
            client = s3_client or _s3_client()
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
            where = f"s3://{bucket}/{key}"
        else:
            path = local_path(uri)
            if not path.endswith(".json"):
                path = os.path.join(path, self.report_name())
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(body)
            where = path
        log.info("drift report written to %s", where)
        return where


def _s3_client() -> Any:
    import boto3

    return boto3.client("s3", config=client_config())


def load_baseline(
    uri: str,
    *,
    s3_client: Any = None,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    bins: int = DEFAULT_BINS,
) -> BaselineProfile:
    """A baseline profile from ``*.json`` (precomputed) or CSV data (profiled now).

    ``uri`` is ``s3://bucket/key`` or a local path; ``.gz`` files are
    gunzipped. ``features``, ``categorical`` and ``bins`` only apply when
    profiling CSV data.
    """
    try:
        data = read_bytes(uri, s3_client)
    except Exception as exc:  # botocore errors, OSError
        raise DriftInputError(f"cannot read the baseline {uri}: {exc}") from exc
    name = uri[:-3] if uri.endswith(".gz") else uri
    try:
        if name.endswith(".json"):
            profile = BaselineProfile.from_json(data)
        else:
            profile = BaselineProfile.from_csv(
                data, features=features, categorical=categorical, bins=bins
            )
    except ValueError as exc:
        raise DriftConfigError(f"baseline {uri}: {exc}") from None
    log.info("baseline %s: %d feature(s), %d column(s)", uri, len(profile.features), len(profile.columns))
    return profile


def run(
    endpoint_name: str,
    capture_uri: str,
    baseline_uri: str,
    *,
    features: Sequence[str] | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    window_hours: float | None = DEFAULT_WINDOW_HOURS,
    s3_client: Any = None,
    cloudwatch_client: Any = None,
    now: datetime | None = None,
    report_uri: str | None = None,
    categorical: Sequence[str] = (),
    bins: int = DEFAULT_BINS,
    epsilon: float = EPSILON,
) -> DriftReport:
    """Compute and publish the drift of one endpoint's captured data.

    Parameters
    ----------
    endpoint_name
        The SageMaker endpoint; the ``EndpointName`` dimension.
    capture_uri
        ``s3://bucket/prefix`` or a local directory with data-capture files
        (searched recursively): the capture destination (then only its
        ``<endpoint_name>/`` part is read, when there is one) or any prefix
        below it.
    baseline_uri
        The baseline: ``*.json`` profile or CSV data with a header.
    features
        Features to measure (default: all of the baseline's).
    psi_threshold
        A feature with PSI above it counts in ``FeaturesDrifted``.
    window_hours
        Read the capture partitions of the last ``window_hours`` hours
        before ``now``; 0 or None reads everything.
    s3_client, cloudwatch_client
        boto3 clients; made from the environment when not given.
    now
        The run's time (UTC; default: the current time): end of the window
        and timestamp of the metrics.
    report_uri
        Where to write the report as JSON (see :meth:`DriftReport.write`).
    categorical, bins, epsilon
        Profiling and smoothing settings (see :mod:`mlstack.drift.stats`).
    """
    if not endpoint_name:
        raise DriftConfigError("the endpoint name is empty")
    if not psi_threshold > 0:
        raise DriftConfigError("the PSI threshold must be > 0")
    if window_hours is not None and window_hours < 0:
        raise DriftConfigError("the window must be >= 0 hours")
    now = now or datetime.now(UTC)
    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
    if s3_client is None and (is_s3_uri(capture_uri) or is_s3_uri(baseline_uri) or is_s3_uri(report_uri or "")):
        s3_client = _s3_client()

    profile = load_baseline(
        baseline_uri, s3_client=s3_client, features=features, categorical=categorical, bins=bins
    )
    names = list(features) if features else list(profile.features)
    unknown = [n for n in names if n not in profile.features]
    if unknown:
        raise DriftConfigError(f"features not in the baseline: {', '.join(unknown)}")
    if not names:
        raise DriftConfigError("the baseline has no features")

    window = window_bounds(now, window_hours)
    try:
        source = endpoint_capture_uri(capture_uri, endpoint_name, s3_client)
        if source != capture_uri:
            log.info("reading the captures of endpoint %s under %s", endpoint_name, source)
        captured = read_capture(
            source,
            profile.columns,
            {n: profile.features[n].kind for n in names},
            window=window,
            s3_client=s3_client,
        )
    except Exception as exc:  # botocore errors, OSError
        raise DriftInputError(f"cannot read the captured data under {capture_uri}: {exc}") from exc
    summary = captured.summary()
    log.info(
        "read %d file(s), %d capture record(s), %d row(s) (%d malformed, %d unsupported)",
        captured.files,
        captured.records,
        captured.rows,
        captured.malformed,
        captured.unsupported,
    )
    if captured.corrupt_files:
        log.warning(
            "skipped %d corrupt capture file(s), published as %s: %s%s",
            captured.corrupt_files,
            METRIC_CORRUPT_FILES,
            ", ".join(captured.corrupt),
            " ..." if captured.corrupt_files > len(captured.corrupt) else "",
        )

    report = DriftReport(
        endpoint_name=endpoint_name,
        generated_at=now,
        capture_uri=capture_uri,
        baseline_uri=baseline_uri,
        psi_threshold=psi_threshold,
        window_hours=window_hours or None,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        capture=summary,
        epsilon=epsilon,
    )
    if captured.rows == 0:
        where = f"in the last {window_hours:g} hour(s)" if window else "at all"
        log.warning(
            "no captured data for endpoint %s under %s %s: publishing CapturedRecords=0 only",
            endpoint_name,
            capture_uri,
            where,
        )
    else:
        report.features = profile.compare(captured.columns, features=names, epsilon=epsilon)
        for name, d in report.features.items():
            log.info("feature %s: PSI %.4f, KL %.4f (%d rows, %d missing)", name, d.psi, d.kl, d.count, d.missing)
        log.info(
            "%d of %d feature(s) drifted (PSI > %g): %s",
            report.features_drifted,
            len(report.features),
            psi_threshold,
            ", ".join(report.drifted) or "none",
        )

    data = drift_metric_data(
        endpoint_name,
        {name: (d.psi, d.kl) for name, d in report.features.items()},
        captured_records=report.captured_records,
        features_drifted=report.features_drifted if report.features else None,
        timestamp=now,
        corrupt_files=report.corrupt_files,
    )
    if cloudwatch_client is None:
        cloudwatch_client = make_cloudwatch_client()
    calls = put_metric_data(cloudwatch_client, data)
    report.metrics_published = len(data)
    log.info("published %d metric data item(s) to %s in %d call(s)", len(data), NAMESPACE, calls)

    if report_uri:
        report.write(report_uri, s3_client=s3_client)
    return report
