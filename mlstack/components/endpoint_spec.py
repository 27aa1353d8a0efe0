"""The serving spec shared by mlstack's endpoint backends: one entry of ``mlstack:endpoints``.

One spec, two backends. ``backend: sagemaker`` (the default) builds a SageMaker endpoint
(:class:`mlstack.components.endpoint.Endpoint`); ``backend: kserve`` builds a KServe
InferenceService (:class:`mlstack.components.kserve.InferenceService`). Rollout settings mean
the same thing in both: ``rollout: {type: CANARY, size: {type: CAPACITY_PERCENT, value: 10}}``
sends 10% of the traffic to the new version first.

Example (a stack file)::

    mlstack:endpoints:
      - name: scoring                  # SageMaker endpoint churn-scoring
        model: churn-xgb               # an entry of mlstack:models
        image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-serving@sha256:...
        artifactsUri: s3://example-churn-models/churn-xgb/
        instanceType: ml.g5.xlarge
        instanceCount: 2
        rollout:
          type: CANARY
          size: {type: CAPACITY_PERCENT, value: 10}
          waitIntervalSeconds: 600     # bake time

The spec rejects what SageMaker (or KServe) rejects or silently ignores, every problem at its
own key: instance types not valid for endpoints, GPUs asked of a type without them, a canary
or linear step that the fleet is too small for, wait intervals out of range, more than 10
rollback alarms, rollout types the instance family does not support (Inf1 falls back to
all-at-once), settings of one backend given to the other, and SageMaker rollouts longer than
the AWS provider waits for an endpoint update (:func:`rollout_duration`, :data:`PROVIDER_WAIT_SECONDS`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Literal, Mapping, Optional, Union

from pydantic import AfterValidator, Field, PositiveInt, StringConstraints, field_validator, model_validator

from .. import catalog
from ..errors import SpecProblems
from ..types import S3Uri, Slug, Spec
from .training import VpcSpec

__all__ = [
    "Backend",
    "RolloutType",
    "SizeType",
    "CapacitySize",
    "RolloutSpec",
    "AutoscalingSpec",
    "DataCaptureSpec",
    "ServerlessSpec",
    "ShadowSpec",
    "AsyncInferenceSpec",
    "ModelFormat",
    "Toleration",
    "KServeSettings",
    "EndpointSpec",
    "LATEST_APPROVED",
    "MLSTACK_ROLLBACK_ALARMS",
    "MAX_ROLLBACK_ALARMS",
    "parse_image",
    "check_deployed_variants",
    "check_deployed_instance_type",
    "PROVIDER_WAIT_SECONDS",
    "STARTUP_SECONDS",
    "RolloutDuration",
    "rollout_duration",
    "startup_seconds",
]

#: ``modelVersion`` value that serves the newest Approved version of the model's registry group.
LATEST_APPROVED = "latest-approved"
#: Rollback alarms mlstack creates for every SageMaker endpoint (5xx error rate, model latency).
MLSTACK_ROLLBACK_ALARMS = 2
#: SageMaker's limit on ``AutoRollbackConfiguration.Alarms``.
MAX_ROLLBACK_ALARMS = 10
#: SageMaker's limits on WaitIntervalInSeconds / TerminationWaitInSeconds (botocore's service model).
WAIT_RANGE = (0, 3600)
#: How long the AWS provider waits for an endpoint to be InService after CreateEndpoint or
#: UpdateEndpoint: terraform-provider-aws (behind pulumi-aws) polls with a fixed 60-minute
#: timeout (``waitEndpointInService`` in internal/service/sagemaker/endpoint.go). The resource
#: declares no Timeouts block and uses the ``*WithoutTimeout`` CRUD functions, so Pulumi's
#: ``customTimeouts`` cannot raise it: a longer rollout fails ``pulumi up`` mid-rollout.
PROVIDER_WAIT_SECONDS = 3600
#: MaximumExecutionTimeoutInSeconds: SageMaker accepts 600-28800 (botocore), the AWS provider's
#: schema 600-14400; mlstack stops at PROVIDER_WAIT_SECONDS, as a longer limit would let SageMaker
#: roll out on after ``pulumi up`` gave up waiting.
TIMEOUT_RANGE = (600, PROVIDER_WAIT_SECONDS)
#: Assumed worst-case seconds from "instances requested" to "new fleet passes its health check"
#: (launch, image pull, model download and load, ping): 10 min on CPU types; 20 min on GPU and
#: Neuron types, whose CUDA/Neuron images run to several GB and whose model weights are larger
#: and are loaded onto the devices; 5 min for serverless capacity (no instances to launch).
#: Estimates, not AWS figures: SageMaker publishes none.
STARTUP_SECONDS = {"cpu": 600, "accelerated": 1200, "serverless": 300}

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))$"
)
_QUANTITY = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def parse_image(uri: str) -> dict[str, Optional[str]] | None:
    """Split an ECR image URI into account, region, repository, tag and digest; None if it is not one."""
    match = _ECR_IMAGE.match(uri)
    return match.groupdict() if match else None


def _ecr_image(value: str) -> str:
    if parse_image(value) is None:
        raise ValueError(
            "is not an ECR image URI; write <account>.dkr.ecr.<region>.amazonaws.com/<repository>"
            "@sha256:<digest> (or :<tag>; prod stacks pin images by digest)"
        )
    return value


def _range(lo: int, hi: int, what: str):
    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"{what} must be between {lo} and {hi} seconds")
        return value

    return check


ImageUri = Annotated[
    str,
    Field(json_schema_extra={"pattern": _ECR_IMAGE.pattern}),
    AfterValidator(_ecr_image),
]
VariantName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
AlarmName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^.*\S.*$")]
WaitSeconds = Annotated[
    int,
    Field(json_schema_extra={"minimum": WAIT_RANGE[0], "maximum": WAIT_RANGE[1]}),
    AfterValidator(_range(*WAIT_RANGE, "SageMaker's rollout waits")),
]
def _timeout(value: int) -> int:
    if not TIMEOUT_RANGE[0] <= value <= TIMEOUT_RANGE[1]:
        raise ValueError(
            f"must be between {TIMEOUT_RANGE[0]} and {TIMEOUT_RANGE[1]} seconds: SageMaker needs at least {TIMEOUT_RANGE[0]}, "
            f"and the AWS provider stops waiting for an endpoint update after {PROVIDER_WAIT_SECONDS}, so SageMaker would "
            f"roll out on after pulumi up failed"
        )
    return value


TimeoutSeconds = Annotated[
    int,
    Field(json_schema_extra={"minimum": TIMEOUT_RANGE[0], "maximum": TIMEOUT_RANGE[1]}),
    AfterValidator(_timeout),
]
Quantity = Annotated[str, StringConstraints(pattern=_QUANTITY)]
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=_DNS_LABEL)]


class Backend(str, Enum):
    """Where an endpoint serves."""

    SAGEMAKER = "sagemaker"
    """A SageMaker real-time (or serverless, or async) endpoint."""
    KSERVE = "kserve"
    """A KServe InferenceService on a Kubernetes cluster."""


class RolloutType(str, Enum):
    """How a new model version takes over the traffic."""

    ALL_AT_ONCE = "ALL_AT_ONCE"
    """Blue/green: all traffic moves to the new fleet at once, then the bake time."""
    CANARY = "CANARY"
    """Blue/green: the canary size first, a bake time, then the rest."""
    LINEAR = "LINEAR"
    """Blue/green: equal steps of the given size, a bake time after each."""
    ROLLING = "ROLLING"
    """SageMaker rolling update: batches of instances replaced in place, a bake time after each."""


class SizeType(str, Enum):
    """How a canary, linear step or rolling batch is measured."""

    CAPACITY_PERCENT = "CAPACITY_PERCENT"
    """A percentage of the fleet (SageMaker) or of the traffic (KServe)."""
    INSTANCE_COUNT = "INSTANCE_COUNT"
    """A number of instances (SageMaker only)."""


class CapacitySize(Spec):
    """The size of a canary, a linear step or a rolling batch."""

    type: SizeType = SizeType.CAPACITY_PERCENT
    """CAPACITY_PERCENT (default) or INSTANCE_COUNT."""
    value: PositiveInt
    """The percentage (1-50 for a canary, 10-50 for a linear step, 5-50 for a rolling batch) or the number of instances."""


#: Default sizes when ``rollout.size`` is left out.
DEFAULT_SIZES = {
    RolloutType.CANARY: CapacitySize(type=SizeType.CAPACITY_PERCENT, value=10),
    RolloutType.LINEAR: CapacitySize(type=SizeType.CAPACITY_PERCENT, value=20),
    RolloutType.ROLLING: CapacitySize(type=SizeType.CAPACITY_PERCENT, value=25),
}
#: (min %, max %) of the fleet a step may be, per rollout type (botocore's service model docs).
_PERCENT_BOUNDS = {RolloutType.CANARY: (1, 50), RolloutType.LINEAR: (10, 50), RolloutType.ROLLING: (5, 50)}
_STEP_WORD = {RolloutType.CANARY: "canary", RolloutType.LINEAR: "linear step", RolloutType.ROLLING: "rolling batch"}


class RolloutSpec(Spec):
    """How a new model version is rolled out, and when it is rolled back.

    SageMaker: a blue/green deployment (ALL_AT_ONCE, CANARY, LINEAR) or a rolling update, with
    automatic rollback when any rollback alarm fires during the bake time. mlstack creates two
    rollback alarms per endpoint (the 5xx error rate and the model latency) and adds ``alarms``.
    KServe: CANARY sets ``canaryTrafficPercent``; ALL_AT_ONCE sends all traffic to the new revision.
    """

    type: RolloutType = RolloutType.ALL_AT_ONCE
    """ALL_AT_ONCE (default), CANARY, LINEAR or ROLLING (SageMaker only)."""
    size: Optional[CapacitySize] = None
    """Size of the canary, of each linear step or of each rolling batch (default: 10%, 20% and 25% of capacity)."""
    wait_interval_seconds: WaitSeconds = 300
    """Bake time in seconds (0-3600) after each traffic shift, while the rollback alarms are watched (default 300; SageMaker only)."""
    termination_wait_seconds: WaitSeconds = 0
    """Seconds (0-3600) the old fleet is kept after the rollout completes (default 0; SageMaker only)."""
    maximum_execution_timeout_seconds: Optional[TimeoutSeconds] = None
    """Time limit of the whole rollout in seconds, after which SageMaker rolls it back (600-3600, longer than all bake times together; default 3600, as long as the AWS provider waits; SageMaker only)."""
    max_error_rate_percent: float = Field(default=1.0, gt=0, le=100)
    """The rollback alarm on Invocation5XXErrors fires above this share of requests (default 1%; SageMaker only)."""
    max_latency_ms: float = Field(default=1000, gt=0, le=3_600_000)
    """The rollback alarm on ModelLatency fires above this latency in milliseconds (default 1000; SageMaker only)."""
    latency_statistic: Annotated[str, StringConstraints(pattern=r"^p\d{1,2}(\.\d{1,2})?$")] = "p99"
    """The percentile the latency alarm watches (default p99; SageMaker only)."""
    alarms: list[AlarmName] = Field(default_factory=list)
    """Names of further CloudWatch alarms that roll a deployment back (SageMaker allows 10 in all, 2 are mlstack's)."""

    def effective_size(self) -> Optional[CapacitySize]:
        """The step size in force: ``size``, else the type's default; None for ALL_AT_ONCE."""
        if self.type is RolloutType.ALL_AT_ONCE:
            return None
        return self.size or DEFAULT_SIZES[self.type]


def startup_seconds(instance_type: Optional[str]) -> int:
    """The assumed worst-case start-up of new capacity on ``instance_type`` (None: serverless);
    see :data:`STARTUP_SECONDS`."""
    if instance_type is None:
        return STARTUP_SECONDS["serverless"]
    return STARTUP_SECONDS["accelerated" if catalog.accelerator(instance_type) is not None else "cpu"]


@dataclass(frozen=True)
class RolloutDuration:
    """The worst-case duration of a SageMaker endpoint update, and what it is made of."""

    type: RolloutType
    steps: int
    """Traffic shifts (blue/green) or instance batches (rolling)."""
    wait_seconds: int
    """The bake time after each step (waitIntervalSeconds)."""
    startup_seconds: int
    """One start-up of new capacity (see :data:`STARTUP_SECONDS`)."""
    startups: int
    """Start-ups one after the other: 1 for blue/green (the new fleet starts at once), one per batch for rolling."""
    termination_wait_seconds: int
    """The time the old fleet is kept once traffic has moved (blue/green only)."""

    @property
    def seconds(self) -> int:
        """The whole duration in seconds."""
        return self.startups * self.startup_seconds + self.steps * self.wait_seconds + self.termination_wait_seconds

    def explain(self) -> str:
        """The sum, spelled out: ``600 s start-up + 10 x 600 s bake + 0 s termination wait``."""
        if self.type is RolloutType.ROLLING:
            return f"{self.steps} batch(es) x ({self.startup_seconds} s start-up + {self.wait_seconds} s bake)"
        return (f"{self.startup_seconds} s start-up + {self.steps} step(s) x {self.wait_seconds} s bake"
                f" + {self.termination_wait_seconds} s termination wait")


def rollout_duration(rollout: RolloutSpec, *, instance_type: Optional[str], fleet: Optional[int]) -> RolloutDuration:
    """The worst-case duration of a SageMaker endpoint update rolled out by ``rollout``.

    The rule (S: start-up of ``instance_type``, :func:`startup_seconds`; W: waitIntervalSeconds;
    T: terminationWaitSeconds; ``fleet``: the largest fleet the update may meet, i.e.
    autoscaling.maxCapacity or instanceCount, None when serverless):

    * blue/green (ALL_AT_ONCE, CANARY, LINEAR): SageMaker starts the whole new fleet at once,
      shifts traffic in steps with a bake of W after each, then keeps the old fleet T:
      ``S + steps x W + T``. Steps: ALL_AT_ONCE 1; CANARY 2 (the canary, then the rest);
      LINEAR ``ceil(100 / step %)`` for CAPACITY_PERCENT (traffic moves by weight, so a small
      fleet does not shorten it) or ``ceil(fleet / step instances)`` for INSTANCE_COUNT.
    * ROLLING: each batch starts new instances and bakes before the next batch starts, and
      there is no termination wait: ``batches x (S + W)``. Batches: ``ceil(fleet / batch
      instances)`` for INSTANCE_COUNT; ``ceil(100 / batch %)`` for CAPACITY_PERCENT, at most
      one batch per instance of the fleet.

    A rolled-back update takes longer still, but it fails ``pulumi up`` anyway (the provider
    stops waiting at the RollingBack status), so it is not counted.

    Example: LINEAR, 10 % steps, W = 600 s on ml.m5.large (S = 600 s): 600 + 10 x 600 + 0 = 6600 s.
    """
    size = rollout.effective_size()
    kind = rollout.type
    wait = rollout.wait_interval_seconds
    start = startup_seconds(instance_type)
    if size is None or kind is RolloutType.CANARY:
        steps = 1 if size is None else 2
    elif size.type is SizeType.INSTANCE_COUNT and fleet:
        steps = math.ceil(fleet / size.value)
    else:
        steps = math.ceil(100 / size.value)
        if kind is RolloutType.ROLLING and fleet:
            steps = min(steps, fleet)
    if kind is RolloutType.ROLLING:
        return RolloutDuration(kind, steps, wait, start, steps, 0)
    return RolloutDuration(kind, steps, wait, start, 1, rollout.termination_wait_seconds)


class AutoscalingSpec(Spec):
    """Target-tracking autoscaling of the instances (SageMaker) or replicas (KServe)."""

    min_capacity: PositiveInt
    """The fewest instances or replicas."""
    max_capacity: PositiveInt
    """The most instances or replicas."""
    target_invocations_per_instance: PositiveInt
    """Requests per instance per minute to scale at (SageMakerVariantInvocationsPerInstance; KServe: requests per second x 60)."""
    target_gpu_utilization_percent: Optional[int] = Field(default=None, ge=1, le=100)
    """Also scale on the average utilization of each GPU, in percent (SageMaker GPU instances only)."""
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=86400)
    """Seconds after a scale-in before the next one (default 300; SageMaker only)."""
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=86400)
    """Seconds after a scale-out before the next one (default 60; SageMaker only)."""

    @model_validator(mode="after")
    def _order(self) -> "AutoscalingSpec":
        if self.min_capacity > self.max_capacity:
            raise SpecProblems([(("maxCapacity",), f"must be at least minCapacity ({self.max_capacity} < {self.min_capacity})")])
        return self


class DataCaptureSpec(Spec):
    """Capture of requests and responses to S3 (the Monitor's drift job reads them). Default: on, 10% sampling."""

    enabled: bool = True
    """Capture requests (default true)."""
    sampling_percent: int = Field(default=10, ge=1, le=100)
    """Share of requests captured, in percent (default 10)."""
    capture_responses: bool = True
    """Capture the responses too, not only the requests (default true)."""
    destination: Optional[S3Uri] = None
    """Bring your own S3 prefix; default: a private, KMS-encrypted bucket created for the endpoint."""
    retention_days: int = Field(default=90, ge=1, le=3650)
    """Days captured data is kept in the bucket mlstack creates (default 90)."""


class ServerlessSpec(Spec):
    """A serverless variant instead of instances (SageMaker only: no GPUs, no data capture, no shadow)."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    """Memory of each concurrent invocation: 1024 to 6144 MB in steps of 1024."""
    max_concurrency: int = Field(ge=1, le=200)
    """Most concurrent invocations (1-200)."""
    provisioned_concurrency: Optional[int] = Field(default=None, ge=1, le=200)
    """Invocations kept warm (at most maxConcurrency)."""

    @model_validator(mode="after")
    def _provisioned(self) -> "ServerlessSpec":
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise SpecProblems([(("provisionedConcurrency",), f"must be at most maxConcurrency ({self.provisioned_concurrency} > {self.max_concurrency})")])
        return self


class ShadowSpec(Spec):
    """A shadow variant: a challenger version that receives a copy of live requests; its responses are discarded."""

    model_version: Optional[PositiveInt] = None
    """The registry version of the challenger (required unless modelDataUrl is given)."""
    image: Optional[ImageUri] = None
    """The challenger's image (default: the endpoint's)."""
    model_data_url: Optional[S3Uri] = None
    """Serve this model.tar.gz with the image instead of a registry version."""
    instance_type: Optional[str] = None
    """Instance type of the shadow (default: the endpoint's)."""
    instance_count: PositiveInt = 1
    """Instances of the shadow (default 1)."""
    variant_name: VariantName = "shadow"
    """Name of the shadow variant (default shadow); keep it stable across versions."""
    sampling_percent: int = Field(default=100, ge=1, le=100)
    """Share of the production requests copied to the shadow, in percent (default 100)."""

    @field_validator("instance_type")
    @classmethod
    def _endpoint_type(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else catalog.validate_instance_type(value, catalog.Use.ENDPOINT)

    @model_validator(mode="after")
    def _source(self) -> "ShadowSpec":
        if self.model_version is None and self.model_data_url is None:
            raise SpecProblems([(("modelVersion",), "a shadow needs the challenger's modelVersion (or an image and modelDataUrl)")])
        return self


class AsyncInferenceSpec(Spec):
    """Asynchronous inference: requests queue, results land in S3 (SageMaker only)."""

    output_uri: Optional[S3Uri] = None
    """Where results are written (default: async-output/ in the endpoint's bucket), KMS-encrypted."""
    failure_uri: Optional[S3Uri] = None
    """Where failed requests are written (default: async-failures/ in the endpoint's bucket)."""
    max_concurrent_invocations_per_instance: Optional[int] = Field(default=None, ge=1, le=1000)
    """Requests SageMaker sends each instance at once (default: SageMaker chooses)."""


class ModelFormat(Spec):
    """The model's format; KServe picks the serving runtime from it."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    """sklearn, xgboost, pytorch, tensorflow, onnx, triton, huggingface, ..."""
    version: Optional[str] = None
    """The format's version, e.g. 2 for torchserve's v2."""


class Toleration(Spec):
    """A Kubernetes toleration, e.g. of the taint GPU nodes carry."""

    key: Optional[str] = None
    """The taint key, e.g. nvidia.com/gpu (empty with operator Exists: every taint)."""
    operator: Literal["Exists", "Equal"] = "Exists"
    """Exists (default) or Equal."""
    value: Optional[str] = None
    """The taint value, with operator Equal."""
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = None
    """The taint effect to tolerate (empty: all)."""
    toleration_seconds: Optional[int] = Field(default=None, ge=0)
    """With NoExecute: how long the pod stays after the taint appears."""


class KServeSettings(Spec):
    """What a KServe InferenceService needs beyond the shared spec."""

    namespace: Optional[DnsLabel] = None
    """The Kubernetes namespace (default: the team's name); mlstack does not create it."""
    model_format: ModelFormat
    """The model's format, e.g. {name: pytorch}."""
    storage_uri: Annotated[str, StringConstraints(pattern=r"^(s3|gs|pvc|hf|oci|https)://\S+$")]
    """Where the model is: s3://, gs://, pvc://, hf://, oci:// or https://."""
    runtime: Optional[DnsLabel] = None
    """A ServingRuntime by name (default: KServe picks one for the model format)."""
    protocol_version: Optional[Literal["v1", "v2", "grpc-v1", "grpc-v2"]] = None
    """The inference protocol (default: the runtime's)."""
    deployment_mode: Optional[Literal["Serverless", "Knative", "RawDeployment", "Standard"]] = None
    """Serverless/Knative (revisions, needed for canary; the default with CANARY) or RawDeployment/Standard (the cluster default otherwise)."""
    service_account_name: Optional[DnsLabel] = None
    """The service account the predictor runs as (e.g. one with IAM access to the storage URI)."""
    cpu: Optional[Quantity] = None
    """CPU requested per replica, e.g. "4"."""
    memory: Optional[Quantity] = None
    """Memory requested (and the limit) per replica, e.g. 16Gi."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels replicas must run on (instanceType adds node.kubernetes.io/instance-type)."""
    tolerations: Optional[list[Toleration]] = None
    """Taints replicas tolerate (default with GPUs: nvidia.com/gpu, NoSchedule)."""
    logger_url: Optional[Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]] = None
    """Where KServe's payload logger sends requests and responses (KServe's counterpart of data capture)."""

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}={v}" for k, v in value.items() if not _LABEL_NAME.match(k) or len(v) > 63 or not _LABEL_VALUE.match(v)]
        if bad:
            raise ValueError(f"not valid Kubernetes labels: {', '.join(bad)}")
        return value


class EndpointSpec(Spec):
    """One model served behind an endpoint: an entry of ``mlstack:endpoints``."""

    name: Slug
    """The endpoint's name, unique in the stack; the SageMaker endpoint is <team>-<name>, the InferenceService <name>."""
    model: Slug
    """The model served: the name of an entry of mlstack:models."""
    backend: Backend = Backend.SAGEMAKER
    """sagemaker (default) or kserve."""
    model_version: Union[PositiveInt, Literal["latest-approved"]] = LATEST_APPROVED
    """The registry version served: a number, or latest-approved (default), resolved at deploy time and recorded as mlstack:model-version."""
    image: Optional[ImageUri] = None
    """The serving image in ECR (SageMaker; pin it by digest in prod). With a registry version: the repository its packages' image is pulled from, which the execution role may pull from (default: the model's training.inference.image)."""
    model_data_url: Optional[S3Uri] = None
    """Serve this model.tar.gz with the image instead of a registry version (SageMaker)."""
    artifacts_uri: Optional[S3Uri] = None
    """The S3 prefix of the model's artifacts; the execution role may read only below it (SageMaker; default: the model's training pipeline bucket, else modelDataUrl)."""
    environment: dict[Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", max_length=1024)], Annotated[str, StringConstraints(max_length=1024)]] = Field(default_factory=dict)
    """Environment variables of the serving container (SageMaker)."""
    instance_type: Optional[str] = None
    """SageMaker: an ml.* endpoint instance type. KServe: the EC2 type of the nodes (g5.xlarge), added as a node selector."""
    instance_count: PositiveInt = 1
    """Instances (SageMaker) or replicas (KServe) without autoscaling; the initial count with it (default 1)."""
    gpus: Optional[int] = Field(default=None, ge=0)
    """GPUs per instance or replica: SageMaker checks the instance type has them; KServe requests nvidia.com/gpu."""
    serverless: Optional[ServerlessSpec] = None
    """A serverless variant instead of instances (SageMaker)."""
    variant_name: VariantName = "primary"
    """The production variant's name (default primary); it must not change between versions or SageMaker skips the rollout settings."""
    network_isolation: bool = True
    """Run the container without network access (default true; SageMaker)."""
    vpc: Optional[VpcSpec] = None
    """Run the endpoint's instances in these private subnets and security groups (SageMaker; prod policy asks for it)."""
    data_capture: DataCaptureSpec = Field(default_factory=DataCaptureSpec)
    """Capture of requests and responses (SageMaker; default on, 10% sampling; KServe: kserve.loggerUrl)."""
    kms_key_arn: Optional[Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$")]] = None
    """Bring your own KMS key for data capture, async results and volumes; default: a key with rotation is created (SageMaker)."""
    shadow: Optional[ShadowSpec] = None
    """A shadow variant for a challenger version (SageMaker)."""
    async_inference: Optional[AsyncInferenceSpec] = None
    """Asynchronous inference instead of real-time (SageMaker)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """How new versions roll out and when they roll back (default: ALL_AT_ONCE with a 300 s bake time)."""
    autoscaling: Optional[AutoscalingSpec] = None
    """Target-tracking autoscaling (default: a fixed instanceCount)."""
    deployed_variants: Optional[list[VariantName]] = None
    """The production variant names offline plans assume the deployed endpoint has (default: not deployed yet); `pulumi up` reads them from SageMaker instead."""
    kserve: Optional[KServeSettings] = None
    """KServe settings (required with backend kserve)."""

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: Optional[str], info) -> Optional[str]:
        if value is None:
            return None
        if info.data.get("backend") is Backend.KSERVE:
            if value.startswith("ml."):
                raise ValueError(f"KServe runs on Kubernetes nodes: write the EC2 instance type {value[3:]!r}, not a SageMaker type")
            catalog.family(value)  # shaped like a type name
            catalog.accelerator(value)  # an accelerated type must be known, else gpus cannot be checked
            return value
        return catalog.validate_instance_type(value, catalog.Use.ENDPOINT)

    # ---- derived facts ---------------------------------------------------------------------

    @property
    def is_kserve(self) -> bool:
        """Whether this endpoint is a KServe InferenceService."""
        return self.backend is Backend.KSERVE

    @property
    def serves_registry_version(self) -> bool:
        """Whether the model comes from the registry (a model package) rather than modelDataUrl."""
        return self.model_data_url is None

    @property
    def instance_gpus(self) -> int:
        """GPUs of the instance type (0 for CPU, Neuron, serverless or no type)."""
        return catalog.gpu_count(self.instance_type) if self.instance_type else 0

    @property
    def is_gpu(self) -> bool:
        """Whether the endpoint runs on GPUs."""
        if self.is_kserve:
            return bool(self.gpus) or self.instance_gpus > 0
        return self.instance_gpus > 0

    @property
    def min_fleet(self) -> Optional[int]:
        """The smallest fleet a rollout may meet: autoscaling.minCapacity, else instanceCount (None when serverless)."""
        if self.serverless is not None:
            return None
        return self.autoscaling.min_capacity if self.autoscaling else self.instance_count

    @property
    def max_fleet(self) -> Optional[int]:
        """The largest fleet a rollout may meet: autoscaling.maxCapacity, else instanceCount (None when serverless)."""
        if self.serverless is not None:
            return None
        return self.autoscaling.max_capacity if self.autoscaling else self.instance_count

    def rollout_duration(self) -> RolloutDuration:
        """The worst-case duration of an update of this (SageMaker) endpoint; see :func:`rollout_duration`."""
        return rollout_duration(self.rollout, instance_type=self.instance_type, fleet=self.max_fleet)

    def variant_names(self) -> list[str]:
        """Production and shadow variant names (SageMaker)."""
        return [self.variant_name] + ([self.shadow.variant_name] if self.shadow else [])

    # ---- cross-field rules -------------------------------------------------------------------

    @model_validator(mode="after")
    def _rules(self) -> "EndpointSpec":
        problems = _kserve_rules(self) if self.is_kserve else _sagemaker_rules(self)
        if problems:
            raise SpecProblems(problems)
        return self


Problems = list[tuple[tuple, str]]

#: Fields that only SageMaker endpoints use (rejected when set on a kserve endpoint).
_SAGEMAKER_ONLY = (
    "image", "model_data_url", "artifacts_uri", "environment", "serverless", "variant_name", "vpc",
    "network_isolation", "data_capture", "kms_key_arn", "shadow", "async_inference", "deployed_variants",
)


def _alias(field: str) -> str:
    return EndpointSpec.model_fields[field].alias or field


def _gpu_rules(spec: EndpointSpec, problems: Problems) -> None:
    if not spec.gpus:
        return
    if spec.instance_type is None:
        if not spec.is_kserve:
            problems.append((("gpus",), f"asks for {spec.gpus} GPU(s) but a serverless endpoint has none; choose a GPU instanceType such as ml.g5.xlarge"))
        return
    facts = catalog.accelerator(spec.instance_type)
    if facts is None:
        problems.append((("gpus",), f"asks for {spec.gpus} GPU(s) but {spec.instance_type} is a CPU instance type; choose a GPU type (`mlstack catalog endpoint --accelerated`) or drop gpus"))
    elif facts.kind != "GPU":
        problems.append((("gpus",), f"asks for {spec.gpus} GPU(s) but {spec.instance_type} has {facts.count} {facts.kind} device(s), not GPUs; drop gpus or choose a GPU type"))
    elif spec.gpus > facts.count:
        problems.append((("gpus",), f"asks for {spec.gpus} GPUs but {spec.instance_type} has {facts.count}; choose a larger type or ask for at most {facts.count}"))


def _minutes(seconds: int) -> str:
    return f"{seconds} s ({seconds / 60:.0f} min)" if seconds % 60 else f"{seconds} s ({seconds // 60} min)"


def _fit_advice(spec: EndpointSpec, duration: RolloutDuration) -> str:
    """How to bring ``duration`` within PROVIDER_WAIT_SECONDS: bigger steps, a shorter bake or termination wait."""
    rollout = spec.rollout
    kind = rollout.type
    size = rollout.effective_size()
    start, wait, steps, keep = duration.startup_seconds, duration.wait_seconds, duration.steps, duration.termination_wait_seconds
    if kind is RolloutType.ROLLING:
        max_wait = PROVIDER_WAIT_SECONDS // steps - start
        fitting_steps = PROVIDER_WAIT_SECONDS // (start + wait)
    else:
        budget = PROVIDER_WAIT_SECONDS - start  # what is left for the bakes and the termination wait
        max_wait = (budget - keep) // steps if budget >= keep else -1
        fitting_steps = (budget - keep) // wait if wait else steps
    advice = []
    if kind in (RolloutType.LINEAR, RolloutType.ROLLING) and size is not None and fitting_steps >= 2:
        if size.type is SizeType.CAPACITY_PERCENT and math.ceil(100 / fitting_steps) <= 50:
            advice.append(f"bigger steps (rollout.size.value: {math.ceil(100 / fitting_steps)} or more)")
        elif size.type is SizeType.INSTANCE_COUNT and spec.max_fleet:
            value = math.ceil(spec.max_fleet / fitting_steps)
            if 2 * value <= (spec.min_fleet or 0):
                advice.append(f"bigger steps (rollout.size.value: {value} instances or more)")
    if max_wait >= 0:
        advice.append(f"a shorter bake (rollout.waitIntervalSeconds: at most {max_wait})")
    if kind is not RolloutType.ROLLING and keep and budget - steps * wait >= 0:
        advice.append(f"a shorter termination wait (rollout.terminationWaitSeconds: at most {budget - steps * wait})")
    if kind is RolloutType.LINEAR:
        advice.append("a CANARY rollout (two steps)")
    if kind is RolloutType.ROLLING and not advice:
        advice.append("a blue/green rollout (ALL_AT_ONCE, CANARY or LINEAR), which starts the new fleet once")
    if not advice:
        advice.append(f"shorter waits (together at most {PROVIDER_WAIT_SECONDS - start} s)")
    return "use " + " or ".join(advice)


def _rollout_rules(spec: EndpointSpec, problems: Problems) -> None:
    rollout = spec.rollout
    kind = rollout.type
    size = rollout.effective_size()
    fleet = spec.min_fleet
    fleet_key = ("autoscaling", "minCapacity") if spec.autoscaling else ("instanceCount",)
    fleet_words = f"{'autoscaling.minCapacity' if spec.autoscaling else 'instanceCount'} {fleet}"

    if kind is RolloutType.ALL_AT_ONCE:
        if rollout.size is not None:
            problems.append((("rollout", "size"), "ALL_AT_ONCE shifts all traffic in one step and takes no size; drop it or choose CANARY or LINEAR"))
    else:
        assert size is not None
        word = _STEP_WORD[kind]
        if spec.instance_type and catalog.family(spec.instance_type) == "inf1":
            problems.append((("rollout", "type"), f"{kind.value} is not supported on Inf1 instances: SageMaker falls back to all-at-once with no bake time; use ALL_AT_ONCE or another instance family"))
        if kind is RolloutType.ROLLING and spec.serverless is not None:
            problems.append((("rollout", "type"), "ROLLING is not supported for serverless endpoints; use ALL_AT_ONCE, CANARY or LINEAR"))
        if kind is RolloutType.ROLLING and spec.shadow is not None:
            problems.append((("rollout", "type"), "ROLLING is not supported for endpoints with several variants (a shadow); use a blue/green type (ALL_AT_ONCE, CANARY, LINEAR)"))
        lo, hi = _PERCENT_BOUNDS[kind]
        if size.type is SizeType.CAPACITY_PERCENT and not lo <= size.value <= hi:
            problems.append((("rollout", "size", "value"), f"a {word} must be {lo}-{hi}% of capacity (got {size.value}%)"))
        if size.type is SizeType.INSTANCE_COUNT and spec.serverless is not None:
            problems.append((("rollout", "size", "type"), f"a serverless endpoint has no instances; size the {word} as CAPACITY_PERCENT"))
        if fleet is not None:
            if fleet < 2:
                problems.append((fleet_key, f"a {kind.value} rollout needs at least 2 instances ({fleet_words}): with one instance the {word} is the whole fleet; raise it to 2 or use ALL_AT_ONCE"))
            elif size.type is SizeType.INSTANCE_COUNT:
                if fleet < 2 * size.value:
                    problems.append((fleet_key, f"a {word} of {size.value} instance(s) needs at least {2 * size.value} instances, as it may be at most 50% of the fleet ({fleet_words}); raise it or size the {word} as CAPACITY_PERCENT"))
                elif fleet * lo > size.value * 100:
                    problems.append((("rollout", "size", "value"), f"a {word} of {size.value} instance(s) is under {lo}% of {fleet} instances; use at least {math.ceil(fleet * lo / 100)}"))
    if kind is RolloutType.ROLLING and "termination_wait_seconds" in rollout.model_fields_set:
        problems.append((("rollout", "terminationWaitSeconds"), "a rolling update replaces instances in place and keeps no old fleet to wait on; drop it (it applies to ALL_AT_ONCE, CANARY and LINEAR)"))
    duration = spec.rollout_duration()
    if duration.seconds > PROVIDER_WAIT_SECONDS:
        problems.append((("rollout",), f"on {spec.instance_type or 'serverless capacity'} this {kind.value} rollout takes up to "
                         f"{_minutes(duration.seconds)} ({duration.explain()}), longer than the {_minutes(PROVIDER_WAIT_SECONDS)} the AWS "
                         f"provider waits for an endpoint update (a fixed limit that customTimeouts cannot raise), so pulumi up would fail "
                         f"mid-rollout; {_fit_advice(spec, duration)}"))
    timeout = rollout.maximum_execution_timeout_seconds
    if timeout is not None:
        waits = duration.steps * duration.wait_seconds + duration.termination_wait_seconds
        if timeout <= waits:
            what = "batches" if kind is RolloutType.ROLLING else "steps"
            problems.append((("rollout", "maximumExecutionTimeoutSeconds"), f"{timeout} s does not cover the rollout's waits ({duration.steps} {what} x {duration.wait_seconds} s bake + {duration.termination_wait_seconds} s termination wait = {waits} s); raise it or shorten the waits"))
    extra = len(rollout.alarms)
    if extra + MLSTACK_ROLLBACK_ALARMS > MAX_ROLLBACK_ALARMS:
        problems.append((("rollout", "alarms"), f"SageMaker accepts at most {MAX_ROLLBACK_ALARMS} rollback alarms and mlstack adds {MLSTACK_ROLLBACK_ALARMS} (5xx error rate, latency): list at most {MAX_ROLLBACK_ALARMS - MLSTACK_ROLLBACK_ALARMS} (got {extra})"))
    dupes = sorted({a for a in rollout.alarms if rollout.alarms.count(a) > 1})
    if dupes:
        problems.append((("rollout", "alarms"), f"lists {', '.join(map(repr, dupes))} more than once"))


def _sagemaker_rules(spec: EndpointSpec) -> Problems:
    problems: Problems = []
    if spec.kserve is not None:
        problems.append((("kserve",), "KServe settings need backend: kserve; drop them for a SageMaker endpoint"))
    # Model source (a registry version's image and artifacts may come from the model's training
    # pipeline: StackSpec checks that, as it knows the models).
    if spec.model_data_url is not None and spec.image is None:
        problems.append((("image",), "serving modelDataUrl needs the serving image (an ECR URI, pinned by digest in prod)"))
    if spec.shadow is not None and spec.shadow.model_data_url is not None and spec.shadow.image is None and spec.image is None:
        problems.append((("shadow", "image"), "a shadow serving modelDataUrl needs an image (its own or the endpoint's)"))
    if spec.model_data_url is not None and spec.artifacts_uri is not None and not spec.model_data_url.startswith(spec.artifacts_uri):
        problems.append((("artifactsUri",), f"{spec.artifacts_uri!r} does not hold modelDataUrl {spec.model_data_url!r}; drop artifactsUri or make it a prefix of modelDataUrl"))
    # Capacity.
    if spec.serverless is None and spec.instance_type is None:
        problems.append((("instanceType",), "a SageMaker endpoint needs an instanceType (e.g. ml.m5.large or ml.g5.xlarge) or serverless settings"))
    if spec.serverless is not None:
        if spec.instance_type is not None:
            problems.append((("serverless",), f"a variant is either serverless or on {spec.instance_type} instances; drop one"))
        if spec.data_capture.enabled:
            problems.append((("dataCapture", "enabled"), "serverless endpoints cannot capture data; set dataCapture.enabled: false or use instances"))
        if spec.shadow is not None:
            problems.append((("shadow",), "serverless endpoints cannot have a shadow variant; use instances"))
        if spec.async_inference is not None:
            problems.append((("asyncInference",), "serverless endpoints cannot run asynchronous inference; use instances"))
        if spec.autoscaling is not None:
            problems.append((("autoscaling",), "serverless endpoints scale by themselves (serverless.maxConcurrency); drop autoscaling"))
        if spec.vpc is not None:
            problems.append((("vpc",), "serverless endpoints cannot run in a VPC; use instances or drop vpc"))
    _gpu_rules(spec, problems)
    # Shadow.
    if spec.shadow is not None:
        if spec.shadow.variant_name == spec.variant_name:
            problems.append((("shadow", "variantName"), f"the shadow and production variants are both named {spec.variant_name!r}; name them apart"))
    # Autoscaling.
    scaling = spec.autoscaling
    if scaling is not None:
        if not scaling.min_capacity <= spec.instance_count <= scaling.max_capacity:
            problems.append((("instanceCount",), f"{spec.instance_count} is outside autoscaling's {scaling.min_capacity}-{scaling.max_capacity}; start within the range"))
        if scaling.target_gpu_utilization_percent is not None and spec.instance_gpus == 0 and spec.instance_type:
            problems.append((("autoscaling", "targetGpuUtilizationPercent"), f"{spec.instance_type} has no GPUs to scale on; drop it or choose a GPU instance type"))
        if spec.async_inference is not None:
            problems.append((("autoscaling",), "asynchronous endpoints publish no Invocations metric to scale on; drop autoscaling (backlog-based scaling is not supported yet)"))
    _rollout_rules(spec, problems)
    if spec.deployed_variants is not None:
        problems += [(("variantName",), text) for text in check_deployed_variants(spec, spec.deployed_variants)]
    return problems


def _kserve_rules(spec: EndpointSpec) -> Problems:
    problems: Problems = []
    given = spec.model_fields_set
    if spec.kserve is None:
        problems.append((("kserve",), "a kserve endpoint needs kserve settings: at least modelFormat and storageUri"))
    for field in _SAGEMAKER_ONLY:
        if field in given:
            problems.append(((_alias(field),),
                             "KServe captures payloads through kserve.loggerUrl; drop dataCapture" if field == "data_capture"
                             else f"{_alias(field)} applies to SageMaker endpoints only; drop it or use backend: sagemaker"))
    if "model_version" in given and spec.model_version == LATEST_APPROVED:
        problems.append((("modelVersion",), "a KServe endpoint serves kserve.storageUri, not a registry lookup; pin modelVersion to the version that URI holds, or drop it"))
    _gpu_rules(spec, problems)
    rollout = spec.rollout
    if rollout.type not in (RolloutType.ALL_AT_ONCE, RolloutType.CANARY):
        problems.append((("rollout", "type"), f"KServe rolls out by canaryTrafficPercent: use CANARY or ALL_AT_ONCE (got {rollout.type.value})"))
    size = rollout.effective_size()
    if rollout.type is RolloutType.CANARY and size is not None:
        if size.type is SizeType.INSTANCE_COUNT:
            problems.append((("rollout", "size", "type"), "KServe splits traffic, not instances: size the canary as CAPACITY_PERCENT"))
        elif not 1 <= size.value <= 50:
            problems.append((("rollout", "size", "value"), f"a canary must be 1-50% (got {size.value}%)"))
        mode = spec.kserve.deployment_mode if spec.kserve else None
        if mode in ("RawDeployment", "Standard"):
            problems.append((("kserve", "deploymentMode"), f"KServe canaries need revisions, which {mode} mode lacks; use Serverless (Knative) or ALL_AT_ONCE"))
    if rollout.type is RolloutType.ALL_AT_ONCE and rollout.size is not None:
        problems.append((("rollout", "size"), "ALL_AT_ONCE takes no size; drop it or choose CANARY"))
    sagemaker_rollout = [f for f in ("wait_interval_seconds", "termination_wait_seconds", "maximum_execution_timeout_seconds",
                                     "max_error_rate_percent", "max_latency_ms", "latency_statistic", "alarms") if f in rollout.model_fields_set]
    for field in sagemaker_rollout:
        problems.append((("rollout", RolloutSpec.model_fields[field].alias or field),
                         "KServe does not bake or roll back by itself: the canary keeps its share until the next deployment promotes it (or sets rollout back); drop it"))
    scaling = spec.autoscaling
    if scaling is not None:
        if scaling.target_gpu_utilization_percent is not None:
            problems.append((("autoscaling", "targetGpuUtilizationPercent"), "KServe scales on requests, not GPU utilization; drop it"))
        for field in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            if field in scaling.model_fields_set:
                problems.append((("autoscaling", AutoscalingSpec.model_fields[field].alias or field), "applies to SageMaker endpoints only; drop it"))
        if not scaling.min_capacity <= spec.instance_count <= scaling.max_capacity and "instance_count" in given:
            problems.append((("instanceCount",), f"{spec.instance_count} is outside autoscaling's {scaling.min_capacity}-{scaling.max_capacity}; drop it (replicas come from autoscaling)"))
    return problems


def check_deployed_variants(spec: EndpointSpec, deployed: list[str] | tuple[str, ...]) -> list[str]:
    """Problems with ``spec``'s production variant against the variants deployed now.

    SageMaker applies blue/green and rolling settings only when the new endpoint config keeps
    the variant names of the old one; otherwise the update runs without them (and without
    rollback). An endpoint not deployed yet (``deployed`` empty) has nothing to keep.
    """
    if not deployed or list(deployed) == [spec.variant_name]:
        return []
    names = ", ".join(map(repr, deployed))
    keep = deployed[0] if len(deployed) == 1 else None
    fix = f"keep variantName: {keep}" if keep else "keep one production variant with the deployed name"
    return [
        f"variant {spec.variant_name!r} would replace the deployed variant(s) {names} of endpoint {spec.name!r}; "
        f"SageMaker skips the rollout and rollback settings when variant names change: {fix} (to rename, delete and recreate the endpoint)"
    ]


def check_deployed_instance_type(spec: EndpointSpec, deployed: Mapping[str, str]) -> list[str]:
    """Problems with changing the instance type of an autoscaled variant.

    SageMaker's UpdateEndpoint fails when it would change the instance type of a variant that
    is an Application Auto Scaling target (a new model version on the same type is fine); the
    target has to be deregistered first.
    """
    current = deployed.get(spec.variant_name)
    if spec.autoscaling is None or current is None or spec.instance_type in (None, current):
        return []
    return [
        f"endpoint {spec.name!r} would change autoscaled variant {spec.variant_name!r} from {current} to "
        f"{spec.instance_type}, which SageMaker refuses while the variant is an autoscaling target: deploy once "
        f"without autoscaling (that deregisters it), then change instanceType, then restore autoscaling"
    ]
