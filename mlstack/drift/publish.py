"""Publish drift metrics to CloudWatch (namespace ``mlstack/Drift``).

:func:`drift_metric_data` builds the metric data of one run (the contract
is in :mod:`mlstack.drift`), :func:`put_metric_data` sends them with
``PutMetricData`` in batches that respect the API's limits: at most
:data:`MAX_DATUMS_PER_CALL` (1000) metric data items and a request payload
under :data:`MAX_PAYLOAD_BYTES` (1 MB, with a margin). The client made by
:func:`cloudwatch_client` retries throttling and transient errors with the
SDK's standard mode (exponential backoff with jitter).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from mlstack.drift import (
    DIMENSION_ENDPOINT,
    DIMENSION_FEATURE,
    METRIC_CAPTURED_RECORDS,
    METRIC_CORRUPT_FILES,
    METRIC_FEATURES_DRIFTED,
    METRIC_KL,
    METRIC_PSI,
    NAMESPACE,
)

log = logging.getLogger(__name__)

MAX_DATUMS_PER_CALL = 1000
"""PutMetricData's limit of metric data items per request."""

MAX_PAYLOAD_BYTES = 1_000_000
"""PutMetricData's request size limit (1 MB); batches stay under 90% of it."""

MAX_DIMENSION_VALUE = 1024
"""Longest dimension value CloudWatch accepts."""

RETRY_MODE = "standard"
MAX_ATTEMPTS = 8


def client_config(max_attempts: int = MAX_ATTEMPTS, mode: str = RETRY_MODE) -> Any:
    """botocore Config with retries (backoff with jitter) and bounded timeouts."""
    from botocore.config import Config

    return Config(
        retries={"mode": mode, "total_max_attempts": max_attempts},  # attempts, not retries
        connect_timeout=10,
        read_timeout=60,
    )


def cloudwatch_client(session: Any = None, **kwargs: Any) -> Any:
    """A CloudWatch client with :func:`client_config`.

    The standard AWS settings (region, credentials, ``AWS_ENDPOINT_URL``)
    come from the environment as for any boto3 client.
    """
    import boto3

    kwargs.setdefault("config", client_config())
    return (session or boto3).client("cloudwatch", **kwargs)


def _dimension_value(value: str) -> str:
    value = str(value)
    if not value or len(value) > MAX_DIMENSION_VALUE:
        raise ValueError(
            f"a CloudWatch dimension value must have 1 to {MAX_DIMENSION_VALUE} characters: {value[:60]!r}"
        )
    return value


def drift_metric_data(
    endpoint_name: str,
    features: Mapping[str, tuple[float, float]],
    *,
    captured_records: int,
    features_drifted: int | None,
    timestamp: datetime,
    corrupt_files: int = 0,
) -> list[dict[str, Any]]:
    """The metric data of one run.

    ``features`` maps each feature to its ``(psi, kl)``. Per feature,
    ``PopulationStabilityIndex`` and ``KLDivergence`` with dimensions
    ``EndpointName`` and ``Feature``; per run ``CapturedRecords``,
    ``CorruptCaptureFiles`` and, unless ``features_drifted`` is None (nothing
    was measured), ``FeaturesDrifted``, with dimension ``EndpointName``.
    Non-finite values are left out.
    """
    endpoint = _dimension_value(endpoint_name)
    data: list[dict[str, Any]] = []
    for feature, values in features.items():
        dims = [
            {"Name": DIMENSION_ENDPOINT, "Value": endpoint},
            {"Name": DIMENSION_FEATURE, "Value": _dimension_value(feature)},
        ]
        for metric, value in zip((METRIC_PSI, METRIC_KL), values):
            if value is None or not math.isfinite(value):
                log.warning("%s of feature %s is not finite; not published", metric, feature)
                continue
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": dims,
                    "Timestamp": timestamp,
                    "Value": float(value),
                    "Unit": "None",
                }
            )
    run_dims = [{"Name": DIMENSION_ENDPOINT, "Value": endpoint}]
    if features_drifted is not None:
        data.append(
            {
                "MetricName": METRIC_FEATURES_DRIFTED,
                "Dimensions": run_dims,
                "Timestamp": timestamp,
                "Value": float(features_drifted),
                "Unit": "Count",
            }
        )
    data.append(
        {
            "MetricName": METRIC_CAPTURED_RECORDS,
            "Dimensions": run_dims,
            "Timestamp": timestamp,
            "Value": float(captured_records),
            "Unit": "Count",
        }
    )
    data.append(
        {
            "MetricName": METRIC_CORRUPT_FILES,
            "Dimensions": run_dims,
            "Timestamp": timestamp,
            "Value": float(corrupt_files),
            "Unit": "Count",
        }
    )
    return data


def _datum_size(datum: Mapping[str, Any]) -> int:
    """A generous estimate of a datum's share of the request payload.

    The query protocol spells out every field as
    ``MetricData.member.NNNN.Dimensions.member.M.Value=...&``: up to 56 bytes
    of key per value, values URL-encoded (up to 3 bytes a character).
    """
    key = 56
    size = 0
    for name, value in datum.items():
        if name == "Dimensions":
            for dim in value:
                size += 2 * key + 3 * (len(str(dim["Name"])) + len(str(dim["Value"])))
        elif isinstance(value, (list, tuple)):  # Values / Counts
            size += len(value) * (key + 24)
        else:
            size += key + 3 * len(str(value))
    return size


def batches(
    data: Sequence[Mapping[str, Any]],
    max_items: int = MAX_DATUMS_PER_CALL,
    max_bytes: int = int(MAX_PAYLOAD_BYTES * 0.9),
) -> Iterator[list[Mapping[str, Any]]]:
    """Split metric data into batches of at most ``max_items`` and ``max_bytes``."""
    batch: list[Mapping[str, Any]] = []
    size = 0
    for datum in data:
        n = _datum_size(datum)
        if batch and (len(batch) >= max_items or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(datum)
        size += n
    if batch:
        yield batch


def put_metric_data(
    client: Any,
    data: Iterable[Mapping[str, Any]],
    *,
    namespace: str = NAMESPACE,
    max_items: int = MAX_DATUMS_PER_CALL,
) -> int:
    """Send metric data with as few ``PutMetricData`` calls as the limits allow.

    Returns the number of calls made.
    """
    calls = 0
    for batch in batches(list(data), max_items=max_items):
        client.put_metric_data(Namespace=namespace, MetricData=batch)
        calls += 1
    log.debug("published metric data in %d call(s)", calls)
    return calls
