"""mlstack's data-drift job and its metric contract.

The job (``python -m mlstack.drift``) runs on a schedule as a SageMaker
processing job. It reads the requests an endpoint captured to S3, compares
them with the training baseline feature by feature, and publishes the
population stability index (PSI) and the KL divergence of each feature as
CloudWatch custom metrics.

This module holds only the names of those metrics, so that the Monitor
component can import them (to build alarms and dashboards) without pulling
in numpy or boto3:

- ``PopulationStabilityIndex`` (dimensions ``EndpointName``, ``Feature``):
  the PSI of one feature.
- ``KLDivergence`` (dimensions ``EndpointName``, ``Feature``): the KL
  divergence KL(production || baseline) of one feature.
- ``FeaturesDrifted`` (dimension ``EndpointName``): how many features have a
  PSI above the run's threshold.
- ``CapturedRecords`` (dimension ``EndpointName``): how many captured input
  rows the run analysed (0 when the window held no data).
- ``CorruptCaptureFiles`` (dimension ``EndpointName``): how many capture
  files the run skipped because they could not be read at all (0 normally);
  the Monitor alarms when it is above 0.

All five are in the namespace ``mlstack/Drift``; the two per-feature
metrics have unit ``None``, the three per-run counts unit ``Count``. A run that
finds no captured data in its window publishes only ``CapturedRecords`` = 0,
so an alarm on the drift metrics should treat missing data as "not
breaching", and an alarm on ``CapturedRecords`` can tell an idle endpoint.

The program itself lives in :mod:`mlstack.drift.stats` (PSI / KL and the
:class:`~mlstack.drift.stats.BaselineProfile`), :mod:`mlstack.drift.capture`
(data-capture reading), :mod:`mlstack.drift.publish` (CloudWatch) and
:mod:`mlstack.drift.job` (:func:`~mlstack.drift.job.run`).
"""

from __future__ import annotations

from ..lazy import lazy_exports

NAMESPACE = "mlstack/Drift"
"""CloudWatch namespace of every metric the drift job publishes."""

METRIC_PSI = "PopulationStabilityIndex"
"""Per-feature PSI; dimensions ``EndpointName`` and ``Feature``."""

METRIC_KL = "KLDivergence"
"""Per-feature KL(production || baseline); dimensions ``EndpointName`` and ``Feature``."""

METRIC_FEATURES_DRIFTED = "FeaturesDrifted"
"""Per-run count of features whose PSI is above the threshold; dimension ``EndpointName``."""

METRIC_CAPTURED_RECORDS = "CapturedRecords"
"""Per-run count of captured input rows analysed (0 when the window is empty); dimension ``EndpointName``."""

METRIC_CORRUPT_FILES = "CorruptCaptureFiles"
"""Per-run count of capture files skipped as unreadable (0 when none); dimension ``EndpointName``."""

DIMENSION_ENDPOINT = "EndpointName"
"""Dimension holding the SageMaker endpoint name (on every metric)."""

DIMENSION_FEATURE = "Feature"
"""Dimension holding the feature name (on the per-feature metrics only)."""

PER_FEATURE_METRICS = (METRIC_PSI, METRIC_KL)
PER_RUN_METRICS = (METRIC_FEATURES_DRIFTED, METRIC_CAPTURED_RECORDS, METRIC_CORRUPT_FILES)

DEFAULT_PSI_THRESHOLD = 0.2
"""PSI above which a feature counts as drifted.

The usual rule of thumb: below 0.1 stable, 0.1 to 0.2 moderate, above 0.2 significant.
"""

DEFAULT_WINDOW_HOURS = 1
"""How many hours of captured data one run reads by default."""

__all__ = [
    "DEFAULT_PSI_THRESHOLD",
    "DEFAULT_WINDOW_HOURS",
    "DIMENSION_ENDPOINT",
    "DIMENSION_FEATURE",
    "METRIC_CAPTURED_RECORDS",
    "METRIC_CORRUPT_FILES",
    "METRIC_FEATURES_DRIFTED",
    "METRIC_KL",
    "METRIC_PSI",
    "NAMESPACE",
    "PER_FEATURE_METRICS",
    "PER_RUN_METRICS",
    "BaselineProfile",
    "DriftReport",
    "run",
]

_LAZY = {
    "BaselineProfile": "mlstack.drift.stats",
    "DriftReport": "mlstack.drift.job",
    "run": "mlstack.drift.job",
}


# The heavy parts (numpy, boto3) are imported only when they are asked for.
__getattr__ = lazy_exports(__name__, _LAZY)
