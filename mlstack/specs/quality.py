"""``mlstack:monitors[].quality``: production model quality, fairness by slice, concept drift and
ground-truth health of one endpoint, judged by mlstack's quality job (``python -m
mlstack.drift.quality``) on the captured predictions joined with labels that arrive late.

Example (a stack file)::

    mlstack:monitors:
      - endpoint: scoring
        quality:
          groundTruthUri: s3://churn-data/ground-truth/scoring/   # SageMaker ground-truth JSON Lines
          problemType: binary
          predictionField: "0"      # the first value of a CSV response (or a JSON key: score)
          threshold: 0.5
          labelLagHours: 720        # churned or not is known 30 days later
          windowHours: 24
          slices: [contract, region]
          minSliceSize: 200

The alarms it creates (mlstack names, usable in ``retrain.alarms`` and ``composite``):
``quality-<metric>`` per metric a model gate or ``thresholds`` bounds, ``bias-gap`` (with
slices), ``output-drift`` (with a baseline), ``labels-stale``, ``label-coverage-low``,
``quality-job-stalled`` and, when a gate compares with ``last-approved``,
``quality-reference-missing``. :func:`quality_alarm_names` lists them.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

from pydantic import Field, StringConstraints, model_validator

from .. import catalog
from ..errors import SpecProblems
from .base import ContainerImage, KmsKeyArn, Problems, S3Uri, Spec, VpcSpec, did_you_mean

__all__ = [
    "ProblemType",
    "QualitySpec",
    "PROBLEM_METRICS",
    "LOWER_IS_BETTER",
    "SEED_BIAS_DELTA",
    "BIAS_GAP",
    "OUTPUT_DRIFT",
    "LABELS_STALE",
    "LABEL_COVERAGE_LOW",
    "QUALITY_JOB_STALLED",
    "QUALITY_REFERENCE_MISSING",
    "quality_alarm",
    "quality_alarm_names",
    "gated_quality_metrics",
    "bias_threshold",
]

#: The metrics each problem type produces (kept equal to mlstack.drift.quality.metrics, which a test checks).
PROBLEM_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "precision", "recall", "f1", "auc"),
    "multiclass": ("accuracy", "precision", "recall", "f1"),
    "regression": ("rmse", "mae"),
}
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
SEED_BIAS_DELTA = 0.01
"""The seed rule when the model has no ``bias_delta`` gate: at most one point between slices."""
BIAS_DELTA_METRIC = "bias_delta"

BIAS_GAP = "bias-gap"
OUTPUT_DRIFT = "output-drift"
LABELS_STALE = "labels-stale"
LABEL_COVERAGE_LOW = "label-coverage-low"
QUALITY_JOB_STALLED = "quality-job-stalled"
QUALITY_REFERENCE_MISSING = "quality-reference-missing"

FeatureName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def quality_alarm(metric: str) -> str:
    """mlstack name of the alarm on one quality metric (``quality-accuracy``)."""
    return f"quality-{metric}"


class ProblemType(str, Enum):
    """What the model predicts."""

    BINARY = "binary"
    """A score for the positive class (predicted positive at score >= threshold): accuracy, precision, recall, f1, auc."""
    MULTICLASS = "multiclass"
    """A class label: accuracy and macro precision, recall, f1."""
    REGRESSION = "regression"
    """A number: rmse, mae."""


class QualitySpec(Spec):
    """Production quality of the endpoint's model, judged against labels that arrive late.

    The job joins each captured prediction with its label (by data capture's inference id, or
    the request's ``idColumn``) and judges the predictions made between ``labelLagHours +
    windowHours`` and ``labelLagHours`` hours before each run: by then their labels should have
    arrived. It publishes to CloudWatch ``mlstack/Quality``.
    """

    ground_truth_uri: S3Uri
    """Where labels land: an S3 prefix of JSON Lines files in SageMaker's ground-truth format ({"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<inference id>"}}), ideally under YYYY/MM/DD/HH/ of their arrival."""
    ground_truth_kms_key_arn: Optional[KmsKeyArn] = None
    """The KMS key the labels are encrypted with, when it is a customer key (the job may then decrypt with it)."""
    problem_type: ProblemType
    """binary, multiclass or regression."""
    prediction_field: FieldName = "0"
    """Where the prediction is in the captured response: a JSON key (score) or a 0-based CSV column; default 0, the first value."""
    threshold: float = Field(default=0.5, ge=0, le=1)
    """binary: a score at or above it predicts the positive class; default 0.5."""
    positive_label: Optional[Label] = None
    """The positive class as labels spell it: binary default "1" (the negative class is negativeLabel); multiclass: the class the bias metrics count as a positive prediction."""
    negative_label: Label = "0"
    """binary: the negative class as labels spell it; default "0". Any other label is counted invalid, never read as negative."""
    id_column: Optional[FeatureName] = None
    """Key labels by this column of the request instead of data capture's inference id (InvokeEndpoint's InferenceId, else its eventId)."""
    request_columns: list[FeatureName] = Field(default_factory=list, max_length=1000)
    """The columns of a CSV request, in order (needed to read slices or idColumn from CSV requests; JSON requests are read by key)."""
    window_hours: float = Field(default=24, gt=0, le=24 * 90)
    """Hours of predictions each run judges; default 24."""
    label_lag_hours: float = Field(default=0, ge=0, le=24 * 365)
    """How long labels take to arrive: each run judges the predictions made windowHours before the last labelLagHours; default 0."""
    interval_hours: int = Field(default=24, ge=1, le=168)
    """Run the quality job every this many hours; default 24."""
    slices: list[FeatureName] = Field(default_factory=list, max_length=20)
    """Request features whose values split the predictions into slices for fairness (age_band, region); each must be a feature the endpoint captures."""
    min_slice_size: int = Field(default=100, ge=1)
    """A slice with fewer labelled predictions in a window is not judged (its numbers would be noise); default 100."""
    tolerance: float = Field(default=0.02, ge=0, le=1)
    """Slack between the model's evaluation and production: a gate accuracy >= X alarms below X - tolerance in production; default 0.02."""
    thresholds: dict[str, float] = Field(default_factory=dict)
    """Alarm bounds of your own per metric, besides the model's gates: the floor of a metric where higher is better, the ceiling of rmse and mae."""
    bias_delta: Optional[float] = Field(default=None, gt=0, le=1)
    """Alarm bias-gap above this worst gap between slices (default: the model's bias_delta gate, else 0.01)."""
    baseline_uri: Optional[S3Uri] = None
    """The model's outputs on its validation data: a CSV with a header holding the columns prediction and label; turns on output-drift and the label-conditional error change."""
    output_psi_threshold: float = Field(default=0.2, gt=0)
    """Alarm output-drift when the PSI of the model's outputs against the baseline's is above this; default 0.2."""
    min_label_coverage_percent: float = Field(default=50, ge=0, le=100)
    """Alarm label-coverage-low when fewer than this percent of the judged predictions have a label; default 50."""
    labels_stale_hours: Optional[float] = Field(default=None, gt=0, le=24 * 365)
    """Alarm labels-stale when the newest label is older than this many hours (default: twice intervalHours, at least 48)."""
    image: Optional[ContainerImage] = None
    """An image with mlstack installed (default: drift.image; pinned by @sha256 digest in prod)."""
    instance_type: str = "ml.m5.large"
    """Processing instance type of each run; default ml.m5.large."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    """Storage volume of each run in GB (KMS-encrypted); default 30."""
    max_runtime_minutes: int = Field(default=60, ge=1, le=1440)
    """A run is stopped after this many minutes; default 60."""
    report_uri: Optional[S3Uri] = None
    """Where each run writes its JSON report (per-slice detail included); default: none."""
    vpc: Optional[VpcSpec] = None
    """Run in these private subnets (default: drift.vpc, else SageMaker's network)."""

    @model_validator(mode="after")
    def _consistent(self) -> "QualitySpec":
        problems: Problems = []
        produced = PROBLEM_METRICS[self.problem_type.value]
        for metric in self.thresholds:
            if metric not in produced:
                problems.append(
                    (
                        ("thresholds", metric),
                        f"a {self.problem_type.value} model does not produce {metric!r}; it produces {', '.join(produced)}"
                        + did_you_mean(metric, list(produced)),
                    )
                )
        for metric, value in self.thresholds.items():
            if value != value or value in (float("inf"), float("-inf")):
                problems.append((("thresholds", metric), f"{value!r} is not a finite number"))
        if self.problem_type is ProblemType.REGRESSION:
            for field, given in (("positiveLabel", self.positive_label is not None), ("biasDelta", self.bias_delta is not None)):
                if given:
                    problems.append(((field,), f"{field} has no meaning for regression (no positive prediction); remove it"))
        if self.problem_type is not ProblemType.BINARY and self.threshold != 0.5:
            problems.append((("threshold",), "threshold applies to binary scores only; remove it"))
        if self.positive_label is not None and self.positive_label == self.negative_label:
            problems.append((("positiveLabel",), f"{self.positive_label!r} is also negativeLabel; the two classes must differ"))
        for key, names in (("slices", self.slices), ("requestColumns", self.request_columns)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(((key,), f"lists {', '.join(map(repr, dupes))} more than once"))
        if self.request_columns:
            for i, name in enumerate(self.slices):
                if name not in self.request_columns:
                    problems.append(
                        (
                            ("slices", i),
                            f"{name!r} is not a column of the request (requestColumns: {', '.join(self.request_columns)})"
                            + did_you_mean(name, self.request_columns),
                        )
                    )
            if self.id_column and self.id_column not in self.request_columns:
                problems.append(
                    (("idColumn",), f"{self.id_column!r} is not a column of the request (requestColumns: {', '.join(self.request_columns)})")
                )
        if self.id_column and self.id_column in self.slices:
            problems.append((("slices",), f"{self.id_column!r} is the id column; an id per slice judges nothing"))
        message = catalog.check_instance_type(self.instance_type, catalog.Use.PROCESSING)
        if message:
            problems.append((("instanceType",), message))
        if self.baseline_uri and self.baseline_uri.endswith("/"):
            problems.append((("baselineUri",), f"{self.baseline_uri!r} is a prefix; the job reads one CSV object with columns prediction and label"))
        if problems:
            raise SpecProblems(problems)
        return self

    @property
    def produced(self) -> tuple[str, ...]:
        """The metrics this problem type produces."""
        return PROBLEM_METRICS[self.problem_type.value]

    @property
    def positive(self) -> Optional[str]:
        """The positive class (binary: default "1")."""
        if self.problem_type is ProblemType.BINARY:
            return self.positive_label or "1"
        return self.positive_label

    def stale_hours(self) -> float:
        """Hours after which the newest label counts as stale."""
        return self.labels_stale_hours if self.labels_stale_hours is not None else float(max(48, 2 * self.interval_hours))


def gated_quality_metrics(quality: QualitySpec, gates: Any) -> list[str]:
    """The metrics with a quality alarm: those the model's gates bound (and the problem type
    produces), then those of ``quality.thresholds``, each once."""
    names: list[str] = []
    for gate in gates or ():
        if gate.metric in quality.produced and gate.op != "==" and gate.metric not in names:
            names.append(gate.metric)
    for metric in quality.thresholds:
        if metric not in names:
            names.append(metric)
    return names


def bias_threshold(quality: QualitySpec, gates: Any) -> float:
    """The bias-gap bound: quality.biasDelta, else the model's bias_delta gate, else the seed rule."""
    if quality.bias_delta is not None:
        return quality.bias_delta
    for gate in gates or ():
        if gate.metric == BIAS_DELTA_METRIC and gate.op in ("<=", "<") and not gate.relative:
            return float(gate.threshold)
    return SEED_BIAS_DELTA


def quality_alarm_names(quality: QualitySpec, gates: Any = None, *, all_possible: bool = False) -> list[str]:
    """mlstack names of the alarms ``quality`` creates given the model's ``gates``
    (``all_possible``: with a quality alarm for every metric the problem type produces, for
    checks that do not know the gates)."""
    metrics = list(quality.produced) if all_possible else gated_quality_metrics(quality, gates)
    names = [quality_alarm(m) for m in metrics]
    if quality.slices:
        names.append(BIAS_GAP)
    if quality.baseline_uri:
        names.append(OUTPUT_DRIFT)
    names += [LABELS_STALE, LABEL_COVERAGE_LOW, QUALITY_JOB_STALLED]
    if all_possible or any(getattr(g, "relative", False) and g.metric in quality.produced for g in gates or ()):
        names.append(QUALITY_REFERENCE_MISSING)
    return names
