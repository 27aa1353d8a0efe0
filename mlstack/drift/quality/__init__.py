"""mlstack's model-quality job and its metric contract (namespace ``mlstack/Quality``).

The job (``python -m mlstack.drift.quality``) runs on a schedule as a SageMaker processing job,
like the drift job. It joins the predictions an endpoint captured with the labels that have
arrived (:mod:`.join`), computes quality, fairness by slice, concept drift and ground-truth
health (:mod:`.metrics`), and publishes (:mod:`.job`). This module holds the metric names only,
so that the Monitor can build alarms and dashboards without numpy or boto3.

Every metric has the dimension ``EndpointName``; further dimensions below.

- ``ModelQuality`` (+ ``Metric``): accuracy, precision, recall, f1, auc | rmse, mae of the window.
- ``QualityGateMargin`` (+ ``Metric``): how far production is inside the bound of a gate or
  threshold (value - bound for a floor, bound - value for a ceiling); below 0 breaches.
- ``SliceQuality`` (+ ``Feature``, ``Slice``): the primary metric (accuracy | rmse) of one slice.
- ``DemographicParityDifference``, ``EqualOpportunityDifference``, ``WorstSliceGap``
  (+ ``Feature``); ``BiasDelta``: the largest of the two differences over every slice feature.
- ``OutputPSI``: PSI of the model's outputs against its validation baseline;
  ``ConditionalErrorChange``: the largest change of an error rate given the label.
- ``LabelCoverage`` (Percent): labelled share of the judged predictions;
  ``NewestLabelAgeHours``; ``MedianLabelLagHours`` (prediction to label).
- ``JudgedPredictions``, ``LabelledPredictions``, ``UnmatchedLabels``, ``DuplicateLabels``,
  ``InvalidPredictions``, ``InvalidLabels`` (Count) every run; ``GateReferenceMissing``
  (Count) when a gate compares with the approved version and its metric could not be read.

An undefined metric (no labels, one class only) is not published: alarms on quality treat
missing data as not breaching, and the label alarms say why there is nothing to judge.
"""

from __future__ import annotations

NAMESPACE = "mlstack/Quality"
DIMENSION_ENDPOINT = "EndpointName"
DIMENSION_METRIC = "Metric"
DIMENSION_FEATURE = "Feature"
DIMENSION_SLICE = "Slice"

METRIC_QUALITY = "ModelQuality"
METRIC_GATE_MARGIN = "QualityGateMargin"
METRIC_SLICE_QUALITY = "SliceQuality"
METRIC_PARITY = "DemographicParityDifference"
METRIC_OPPORTUNITY = "EqualOpportunityDifference"
METRIC_WORST_SLICE_GAP = "WorstSliceGap"
METRIC_BIAS_DELTA = "BiasDelta"
METRIC_OUTPUT_PSI = "OutputPSI"
METRIC_CONDITIONAL_ERROR_CHANGE = "ConditionalErrorChange"
METRIC_LABEL_COVERAGE = "LabelCoverage"
METRIC_NEWEST_LABEL_AGE = "NewestLabelAgeHours"
METRIC_MEDIAN_LABEL_LAG = "MedianLabelLagHours"
METRIC_JUDGED = "JudgedPredictions"
METRIC_LABELLED = "LabelledPredictions"
METRIC_UNMATCHED_LABELS = "UnmatchedLabels"
METRIC_DUPLICATE_LABELS = "DuplicateLabels"
METRIC_INVALID_PREDICTIONS = "InvalidPredictions"
METRIC_INVALID_LABELS = "InvalidLabels"
METRIC_REFERENCE_MISSING = "GateReferenceMissing"

MAX_SLICES_PUBLISHED = 50
"""Slices per feature published as SliceQuality (the largest first); the report holds them all."""

__all__ = [name for name in dir() if name.isupper()]
