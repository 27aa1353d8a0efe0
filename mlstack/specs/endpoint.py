"""``mlstack:endpoints[]``: one model served behind an endpoint, and the rules between its keys.

One spec, two backends. ``backend: sagemaker`` (the default) builds a SageMaker endpoint
(:class:`mlstack.components.endpoint.Endpoint`); ``backend: kserve`` builds a KServe
InferenceService (:class:`mlstack.components.endpoint.kserve.InferenceService`). Rollout settings
(:mod:`mlstack.specs.rollout`) mean the same thing in both: ``rollout: {type: CANARY, size:
{type: CAPACITY_PERCENT, value: 10}}`` sends 10% of the traffic to the new version first; KServe's
own settings are in :mod:`mlstack.specs.kserve`.

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
own key: instance types not valid for endpoints, GPUs asked of a type without them, settings of
one backend given to the other, a serverless variant with what serverless cannot do, and (with
:func:`~mlstack.specs.rollout.rollout_problems`) rollouts SageMaker or the AWS provider would not
carry out. :func:`check_deployed_variants` and :func:`check_deployed_instance_type` compare the
spec with the endpoint as deployed; the stack program and the Endpoint component call them too.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Mapping, Optional, Union

from pydantic import Field, PositiveInt, StringConstraints, field_validator, model_validator

from .. import catalog
from ..errors import SpecProblems
from .base import EcrImage, EndpointInstanceType, KmsKeyArn, Problems, S3Uri, Slug, Spec, VpcSpec
from .kserve import KServeSpec
from .rollout import KServeRolloutStep, RolloutDuration, RolloutSpec, RolloutType, SizeType, rollout_duration, rollout_problems
from .slo import MIN_SLO_BAKE_SECONDS, SloSpec

__all__ = [
    "Backend",
    "AutoscalingSpec",
    "DataCaptureSpec",
    "ServerlessSpec",
    "ShadowSpec",
    "AsyncInferenceSpec",
    "EndpointSpec",
    "LATEST_APPROVED",
    "VariantName",
    "check_deployed_variants",
    "check_deployed_instance_type",
]

#: ``modelVersion`` value that serves the newest Approved version of the model's registry group.
LATEST_APPROVED = "latest-approved"

VariantName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]


class Backend(str, Enum):
    """Where an endpoint serves."""

    SAGEMAKER = "sagemaker"
    """A SageMaker real-time (or serverless, or async) endpoint."""
    KSERVE = "kserve"
    """A KServe InferenceService on a Kubernetes cluster."""


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
    image: Optional[EcrImage] = None
    """The challenger's image (default: the endpoint's)."""
    model_data_url: Optional[S3Uri] = None
    """Serve this model.tar.gz with the image instead of a registry version."""
    instance_type: Optional[EndpointInstanceType] = None
    """Instance type of the shadow (default: the endpoint's)."""
    instance_count: PositiveInt = 1
    """Instances of the shadow (default 1)."""
    variant_name: VariantName = "shadow"
    """Name of the shadow variant (default shadow); keep it stable across versions."""
    sampling_percent: int = Field(default=100, ge=1, le=100)
    """Share of the production requests copied to the shadow, in percent (default 100)."""

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
    image: Optional[EcrImage] = None
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
    kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for data capture, async results and volumes; default: a key with rotation is created (SageMaker)."""
    shadow: Optional[ShadowSpec] = None
    """A shadow variant for a challenger version (SageMaker)."""
    async_inference: Optional[AsyncInferenceSpec] = None
    """Asynchronous inference instead of real-time (SageMaker)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """How new versions roll out and when they roll back (default: ALL_AT_ONCE with a 300 s bake time)."""
    autoscaling: Optional[AutoscalingSpec] = None
    """Target-tracking autoscaling (default: a fixed instanceCount)."""
    slo: Optional[SloSpec] = None
    """Service-level objective: roll back on error-budget burn rates of the new fleet instead of raw thresholds, and page (with a Monitor) on multi-window burn-rate alarms (SageMaker)."""
    deployed_variants: Optional[list[VariantName]] = None
    """The production variant names offline plans assume the deployed endpoint has (default: not deployed yet); `pulumi up` reads them from SageMaker instead."""
    kserve: Optional[KServeSpec] = None
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

    def kserve_rollout_step(self) -> Optional[KServeRolloutStep]:
        """Where this KServe endpoint's canary stands (None for ALL_AT_ONCE): rolled back with
        ``rollout.rollback``, promoted when ``rollout.promotedVersion`` is ``modelVersion``, else
        a canary of modelVersion."""
        rollout = self.rollout
        if rollout.type is not RolloutType.CANARY:
            return None
        if rollout.rollback:
            return KServeRolloutStep.ROLLED_BACK
        if rollout.promoted_version is not None and rollout.promoted_version == self.model_version:
            return KServeRolloutStep.PROMOTED
        return KServeRolloutStep.CANARY

    def kserve_canary_percent(self) -> Optional[int]:
        """``predictor.canaryTrafficPercent`` of the declared step: the canary's size for a canary,
        0 rolled back, None (absent: all traffic to the latest ready revision) promoted or ALL_AT_ONCE."""
        step = self.kserve_rollout_step()
        if step is KServeRolloutStep.CANARY:
            size = self.rollout.effective_size()
            return size.value if size is not None else None
        return 0 if step is KServeRolloutStep.ROLLED_BACK else None

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


#: Fields that only SageMaker endpoints use (rejected when set on a kserve endpoint).
_SAGEMAKER_ONLY = (
    "image", "model_data_url", "artifacts_uri", "environment", "serverless", "variant_name", "vpc",
    "network_isolation", "data_capture", "kms_key_arn", "shadow", "async_inference", "deployed_variants", "slo",
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
    problems += rollout_problems(spec)
    for field in ("promoted_version", "rollback"):
        if field in spec.rollout.model_fields_set:
            problems.append((("rollout", RolloutSpec.model_fields[field].alias or field),
                             "steps a KServe canary; SageMaker finishes or rolls back a rollout by itself (on its rollback alarms): drop it"))
    problems += _slo_rules(spec)
    if spec.deployed_variants is not None:
        problems += [(("variantName",), text) for text in check_deployed_variants(spec, spec.deployed_variants)]
    return problems


def _slo_rules(spec: EndpointSpec) -> Problems:
    """An SLO replaces the raw rollback thresholds, and its rollback alarms must fit in the bake."""
    if spec.slo is None:
        return []
    problems: Problems = []
    rollout = spec.rollout
    for field in ("max_error_rate_percent", "max_latency_ms", "latency_statistic"):
        if field in rollout.model_fields_set:
            problems.append((("rollout", RolloutSpec.model_fields[field].alias or field),
                             "with slo the deployment rolls back on the error budget's burn rate, not on this threshold; drop it (or drop slo)"))
    if rollout.wait_interval_seconds < MIN_SLO_BAKE_SECONDS:
        problems.append((("rollout", "waitIntervalSeconds"),
                         f"with slo the new fleet is judged on a 5-minute burn-rate window, so each step must bake at least "
                         f"{MIN_SLO_BAKE_SECONDS} s (got {rollout.wait_interval_seconds}); raise it"))
    if rollout.type is RolloutType.ROLLING:
        problems.append((("rollout", "type"),
                         "slo rolls back on the new fleet's own metrics (dimension EndpointConfigName), which SageMaker documents for "
                         "blue/green updates; use ALL_AT_ONCE, CANARY or LINEAR"))
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
                         "KServe does not bake or roll back by itself: the stack steps the canary (rollout.promotedVersion to promote, "
                         "rollout.rollback to roll back); drop it"))
    problems += _kserve_step_rules(spec)
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


def _kserve_step_rules(spec: EndpointSpec) -> Problems:
    """promotedVersion and rollback: only on a CANARY, against a pinned modelVersion, not both at once."""
    rollout = spec.rollout
    problems: Problems = []
    stepped = [f for f in ("promoted_version", "rollback") if f in rollout.model_fields_set and getattr(rollout, f) not in (None, False)]
    if not stepped:
        return problems
    if rollout.type is not RolloutType.CANARY:
        for field in stepped:
            problems.append((("rollout", RolloutSpec.model_fields[field].alias or field),
                             f"steps a canary, and rollout.type is {rollout.type.value}; set rollout.type: CANARY or drop it"))
        return problems
    if rollout.promoted_version is not None and not isinstance(spec.model_version, int):
        problems.append((("rollout", "promotedVersion"),
                         f"names the version serving the traffic the canary does not ({rollout.promoted_version}), but modelVersion is not pinned, "
                         "so mlstack cannot tell a promotion from a canary; pin modelVersion to the version kserve.storageUri holds"))
    if rollout.rollback and rollout.promoted_version is not None and rollout.promoted_version == spec.model_version:
        problems.append((("rollout", "rollback"),
                         f"rolls version {spec.model_version} back, but rollout.promotedVersion says it is promoted; "
                         f"set promotedVersion to the version to return to, or drop rollback"))
    return problems
