"""``mlstack:models[].training``: a model's training pipeline (preprocess, train, evaluate, gate,
register), and the rule that its gates use metrics the evaluation reports.

Example (a stack file)::

    mlstack:models:
      - name: churn-xgb
        gates:
          - {metric: accuracy, op: ">=", threshold: last-approved, tolerance: 0.005}
        training:
          preprocess: {image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-prep:1.4}
          train:
            image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-train:1.4
            instanceType: ml.g5.2xlarge
            spot: {enabled: true, maxWaitMinutes: 240}
          evaluation:
            image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-eval:1.4
            metrics: [accuracy, auc, bias_delta]
          inference: {image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:1.4}
          schedule: cron(0 3 ? * MON *)

Hyperparameters and container environments are checked against the limits of the SageMaker
call that receives them, read from botocore's service model (:func:`sagemaker_map_problems`).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Optional, Union

from pydantic import Field, StringConstraints, field_validator, model_validator
from typing_extensions import Annotated

from ..errors import SpecProblems
from .base import (
    EcrImage,
    EndpointInstanceType,
    KmsKeyArn,
    ProcessingInstanceType,
    ScheduleExpression,
    Slug,
    Spec,
    TaggableS3Uri,
    TimeZone,
    TrainingInstanceType,
    VpcSpec,
)
from .gates import GateSpec, MetricName

__all__ = [
    "ProcessingSpec",
    "EvaluationSpec",
    "SpotSpec",
    "TrainSpec",
    "InferenceSpec",
    "TrainingSpec",
    "check_gates",
    "hyperparameter_problems",
    "sagemaker_map_problems",
    "serialized_hyperparameter",
]

MimeType = Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$")]


class ProcessingSpec(Spec):
    """A processing job of the pipeline (bring your own image)."""

    image: EcrImage
    """ECR image URI of the job, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-prep:1.4."""
    instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    """A SageMaker processing instance type (see `mlstack catalog processing`)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    """Instances for the job."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    """Storage volume per instance in GB (KMS-encrypted with the pipeline's key)."""
    max_runtime_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    """Stop the job after this long."""
    entrypoint: Optional[list[str]] = None
    """Command of the container (default: the image's entrypoint)."""
    arguments: list[str] = Field(default_factory=list)
    """Arguments passed to the container."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the container."""

    @field_validator("environment")
    @classmethod
    def _processing_environment(cls, value: dict[str, str]) -> dict[str, str]:
        return _environment("ProcessingEnvironmentMap", value)


class EvaluationSpec(ProcessingSpec):
    """The evaluation job: reads the model and the test split, writes the metrics report."""

    metrics: list[MetricName] = Field(min_length=1, max_length=50)
    """Metrics the report holds, e.g. [accuracy, auc, bias_delta]; gates may only use these."""
    report: str = Field(default="evaluation.json", pattern=r"^[\w.-]+\.json$")
    """File name of the report in /opt/ml/processing/evaluation: {"metrics": {"<name>": {"value": <number>}}}."""

    @field_validator("metrics")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted({m for m in value if value.count(m) > 1})
        if dupes:
            raise ValueError(f"metrics {', '.join(map(repr, dupes))} appear more than once; list each metric once")
        return value


class SpotSpec(Spec):
    """Managed spot training: cheaper, interruptible, resumed from checkpoints."""

    enabled: bool = False
    """Train on spot capacity (checkpoints go to the pipeline's bucket and are resumed after an interruption)."""
    max_wait_minutes: Optional[int] = Field(default=None, ge=1, le=28 * 24 * 60)
    """How long to wait for spot capacity plus training time; at least maxRuntimeMinutes (default: twice it)."""


class TrainSpec(Spec):
    """The training job."""

    image: EcrImage
    """ECR image URI of the training container."""
    instance_type: TrainingInstanceType
    """A SageMaker training instance type, GPU (ml.g5.2xlarge, ml.p4d.24xlarge) or CPU (ml.m5.xlarge)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    """Instances for distributed training (traffic between them is encrypted when more than one)."""
    volume_size_gb: int = Field(default=50, ge=1, le=16384)
    """Storage volume per instance in GB (KMS-encrypted)."""
    max_runtime_minutes: int = Field(default=24 * 60, ge=1, le=28 * 24 * 60)
    """Stop training after this long."""
    spot: SpotSpec = Field(default_factory=SpotSpec)
    """Managed spot training settings (off by default)."""
    hyperparameters: dict[str, Union[str, int, float, bool]] = Field(default_factory=dict)
    """Hyperparameters passed to the training container (as strings; at most 100, within SageMaker's key and value lengths)."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the training container."""

    @field_validator("environment")
    @classmethod
    def _training_environment(cls, value: dict[str, str]) -> dict[str, str]:
        return _environment("TrainingEnvironmentMap", value)

    @field_validator("hyperparameters")
    @classmethod
    def _within_sagemaker_limits(cls, value: dict[str, Union[str, int, float, bool]]) -> dict[str, Union[str, int, float, bool]]:
        problems = hyperparameter_problems(value)
        if problems:
            raise SpecProblems(problems)
        return value

    @model_validator(mode="after")
    def _spot_wait(self) -> "TrainSpec":
        wait = self.spot.max_wait_minutes
        if self.spot.enabled and wait is not None and wait < self.max_runtime_minutes:
            raise ValueError(
                f"spot.maxWaitMinutes ({wait}) is below maxRuntimeMinutes ({self.max_runtime_minutes}); "
                "SageMaker needs the wait to cover the run: raise maxWaitMinutes or lower maxRuntimeMinutes"
            )
        return self

    @property
    def max_wait_minutes(self) -> Optional[int]:
        """How long a spot job may wait and run in all (None without spot)."""
        if not self.spot.enabled:
            return None
        return self.spot.max_wait_minutes or min(2 * self.max_runtime_minutes, 28 * 24 * 60)


class InferenceSpec(Spec):
    """How registered versions are served (recorded in the model package)."""

    image: EcrImage
    """ECR image URI of the inference container."""
    content_types: list[MimeType] = Field(default_factory=lambda: ["text/csv"], min_length=1)
    """Request MIME types the model accepts."""
    response_types: list[MimeType] = Field(default_factory=lambda: ["text/csv"], min_length=1)
    """Response MIME types the model returns."""
    instance_types: list[EndpointInstanceType] = Field(default_factory=list)
    """Endpoint instance types the version supports (recorded in the package)."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the inference container."""

    @field_validator("environment")
    @classmethod
    def _model_environment(cls, value: dict[str, str]) -> dict[str, str]:
        return _environment("EnvironmentMap", value)


class TrainingSpec(Spec):
    """A model's training pipeline: preprocess, train, evaluate, gate, register."""

    preprocess: ProcessingSpec
    """The preprocessing job: reads the input, writes train/validation/test splits."""
    train: TrainSpec
    """The training job."""
    evaluation: EvaluationSpec
    """The evaluation job and the metrics it reports."""
    inference: InferenceSpec
    """The inference container recorded with every registered version."""
    input: Optional[TaggableS3Uri] = None
    """Input data of preprocessing (default: the model's dataset.uri); the pipeline parameter InputDataUri overrides it per run; recorded as the mlstack:dataset tag."""
    feature_group: Optional[Slug] = None
    """Read the offline store of this feature group (of mlstack:featureGroups) instead of input."""
    vpc: Optional[VpcSpec] = None
    """Run every job in these subnets and security groups (default: no VPC)."""
    network_isolation: bool = True
    """Cut the containers off the network (data still flows through SageMaker's channels); default on."""
    schedule: Optional[ScheduleExpression] = None
    """Also run on a schedule, e.g. cron(0 3 ? * MON *) or rate(7 days)."""
    schedule_timezone: TimeZone = "UTC"
    """Time zone of a cron schedule: an IANA name such as Europe/Berlin (default UTC)."""
    kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for volumes, outputs and the bucket (default: the pipeline creates one, rotated yearly)."""

    @model_validator(mode="after")
    def _one_source(self) -> "TrainingSpec":
        if self.input and self.feature_group:
            raise ValueError("give input or featureGroup, not both: the pipeline reads one source")
        return self


def serialized_hyperparameter(value: Union[str, int, float, bool]) -> str:
    """A hyperparameter as the training job receives it: strings as they are, anything else as
    JSON (``true``, ``0.1``), as the sagemaker SDK's ModelTrainer sends them (``safe_serialize``)."""
    return value if isinstance(value, str) else json.dumps(value)


@functools.cache
def _map_limits(shape_name: str) -> tuple[int, tuple[int, int, str], tuple[int, int, str]]:
    """(most entries, (key min, key max, key pattern), (value min, value max, value pattern)) of a
    map shape in botocore's SageMaker service model, e.g. ``HyperParameters`` (CreateTrainingJob);
    kept in the on-disk cache (:mod:`mlstack.botodata`)."""
    from ..botodata import derived

    most, key, value = derived(f"sagemaker-map-limits:{shape_name}", lambda: _load_map_limits(shape_name))
    return int(most), (int(key[0]), int(key[1]), str(key[2])), (int(value[0]), int(value[1]), str(value[2]))


def _load_map_limits(shape_name: str) -> tuple[int, tuple[int, int, str], tuple[int, int, str]]:
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for(shape_name)

    def limits(member: Any) -> tuple[int, int, str]:
        meta = member.metadata
        return int(meta.get("min", 0)), int(meta["max"]), str(meta.get("pattern", ".*"))

    return int(shape.metadata["max"]), limits(shape.key), limits(shape.value)


# What Java's "." (SageMaker's patterns are Java regexes) does not match: line terminators.
_JAVA_LINE_TERMINATORS = "\n\r\u0085\u2028\u2029"


def _java_pattern(pattern: str) -> re.Pattern[str]:
    """Python's reading of a Java pattern such as ``.*``: a ``.`` outside a class matches
    anything but a Java line terminator."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "." and not in_class:
            out.append(f"[^{_JAVA_LINE_TERMINATORS}]")
        else:
            out.append(char)
    return re.compile("".join(out))


def sagemaker_map_problems(
    shape_name: str, mapping: dict[str, Any], *, noun: str, serialize: Any = str
) -> list[tuple[tuple[str | int, ...], str]]:
    """What SageMaker would refuse in ``mapping`` sent as the botocore map shape ``shape_name``
    (``HyperParameters``, ``TrainingEnvironmentMap``, ...), each problem at its key: the number
    of entries, the key and value lengths and patterns, all read from botocore's service model.
    ``serialize`` turns a value into the string SageMaker receives."""
    if not mapping:
        return []
    most, (key_min, key_max, key_pattern), (value_min, value_max, value_pattern) = _map_limits(shape_name)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if len(mapping) > most:
        problems.append(((), f"holds {len(mapping)} {noun}; SageMaker accepts at most {most}"))
    key_re, value_re = _java_pattern(key_pattern), _java_pattern(value_pattern)

    def mismatch(text: str, pattern: str, what: str) -> str:
        if any(c in text for c in _JAVA_LINE_TERMINATORS) and "." in pattern:
            return f"{what} {text[:40]!r} holds a line break, which SageMaker refuses"
        return f"{what} {text[:40]!r} does not match SageMaker's pattern {pattern}"

    for key, raw in mapping.items():
        value = serialize(raw)
        if not key_min <= len(key) <= key_max:
            problems.append(((key,), f"the name {key[:40]!r}... is {len(key)} characters; SageMaker allows {key_min} to {key_max}"))
        elif not key_re.fullmatch(key):
            problems.append(((key,), mismatch(key, key_pattern, "the name")))
        if not value_min <= len(value) <= value_max:
            problems.append(((key,), f"the value is {len(value)} characters; SageMaker allows {value_min} to {value_max}"))
        elif not value_re.fullmatch(value):
            problems.append(((key,), mismatch(value, value_pattern, "the value")))
    return problems


def hyperparameter_problems(hyperparameters: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What SageMaker's CreateTrainingJob would refuse in ``hyperparameters`` (see
    :func:`sagemaker_map_problems`), values measured as the job receives them."""
    problems = sagemaker_map_problems("HyperParameters", hyperparameters, noun="hyperparameters", serialize=serialized_hyperparameter)
    return [(path, f"{message}: pass the rest in a config file the image reads" if not path else message) for path, message in problems]


def _environment(shape_name: str, value: dict[str, str]) -> dict[str, str]:
    problems = sagemaker_map_problems(shape_name, value, noun="environment variables")
    if problems:
        raise SpecProblems(problems)
    return value


def check_gates(gates: list[GateSpec], training: Optional[TrainingSpec]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with ``gates`` given the metrics ``training``'s evaluation produces, each with
    its key path below the model (``("gates", 1, "metric")``)."""
    if training is None:
        return []
    produced = training.evaluation.metrics
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, gate in enumerate(gates):
        if gate.metric not in produced:
            problems.append(
                (
                    ("gates", i, "metric"),
                    f"gate {gate.describe()!r} uses metric {gate.metric!r}, which the evaluation does not produce "
                    f"(training.evaluation.metrics: {', '.join(produced)}); add {gate.metric!r} there or fix the gate",
                )
            )
    return problems
