"""Endpoint: a SageMaker endpoint with blue/green or rolling rollout and automatic rollback.

Children (``<name>`` is the component's name), each ``parent=self`` and tagged with lineage:

* ``<name>-key``: a KMS key with rotation (unless ``kmsKeyArn`` is given), for captured data,
  async results and, on EBS-backed instance types, the ML storage volumes;
* ``<name>-data``: a private bucket for data capture and async results (unless both bring their
  own S3 prefix), made by ``secure.encrypted_bucket`` (``-versioning``, ``-encryption``
  SSE-KMS with the key, ``-public-access-block``, ``-ownership`` BucketOwnerEnforced,
  ``-policy`` denying plain HTTP and other keys), plus ``-lifecycle`` (captured data expires
  after ``dataCapture.retentionDays``);
* ``<name>-role`` and ``<name>-role-policy``: the execution role (SageMaker may assume it for
  this account only), allowed exactly the image's ECR repository, the artifacts (prefix, or the
  training pipeline's bucket and key), the capture/async prefixes, the endpoint key, the
  endpoint's log group, the rollback alarms and, with ``vpc``, network interfaces in those
  subnets; never a managed ``*FullAccess`` policy. Unscoped: ``ecr:GetAuthorizationToken`` and
  EC2 ``Describe*`` (no resource-level permissions exist), ``cloudwatch:PutMetricData``
  (pinned to the ``/aws/sagemaker/Endpoints`` namespace);
* ``<name>-model`` (and ``<name>-shadow-model``): the SageMaker models, autonamed;
* ``<name>-config``: the endpoint configuration, autonamed, because every field of it forces
  replacement: a new version is a new config, and changing the endpoint's config is what runs
  the rollout; production variant names come from the spec and stay the same across versions.
  No volume KMS key on instance types with local NVMe storage (SageMaker refuses one there);
* ``<name>-errors`` and ``<name>-latency``: the rollback alarms (Invocation5XXErrors average
  rate, ModelLatency percentile in microseconds), scoped to the endpoint and production variant;
  with ``slo`` instead (:mod:`.slo`): ``<name>-slo-rollback-5m`` and ``-bake``, error-budget burn
  rates of the new fleet (dimension EndpointConfigName), and ``<name>-slo-burn-{1h,5m,6h,30m}``
  on the whole variant, the members of the pages a Monitor creates (``slo_burn_alarms``);
* ``<name>-endpoint``: the endpoint, named ``<team>-<endpoint name>`` so day-2 commands find it,
  with the deployment config (blue/green or rolling, auto-rollback on the alarms above plus the
  user's, a MaximumExecutionTimeoutInSeconds no longer than the AWS provider waits for the
  update: ``mlstack.specs.rollout.PROVIDER_WAIT_SECONDS``, which customTimeouts cannot raise);
* with autoscaling: ``<name>-scaling`` (target), ``<name>-scaling-invocations`` and optionally
  ``<name>-scaling-gpu`` (target-tracking policies).

Modules: :mod:`.rollout` (deployment config, rollback alarms), :mod:`.autoscaling`,
:mod:`.iam` (the execution role's policy), :mod:`.metrics` (the metric verbs).

Public contract (other components build on it): ``endpoint_name``, ``arn``,
``endpoint_config_name``, ``variant_names``, ``instance_type``, ``is_gpu``, ``alarm_names``,
``data_capture_uri``, ``spec``, ``model_name`` and the metric helpers ``metric()``,
``metric_invocations()``, ``metric_5xx_errors()``, ``metric_4xx_errors()``,
``metric_model_latency()``, ``metric_gpu_utilization()``, ``metric_gpu_memory_utilization()``
(plain dicts usable as ``aws.cloudwatch.MetricAlarm`` keyword arguments), and
``grant_invoke(role)``.

Notes on that contract: ``alarm_names`` is a plain ``list[str]`` (the rollback alarm names,
mlstack's two then the user's, are deterministic); ``variant_names`` holds the production
variant(s) only, a shadow variant is ``shadow_variant_name``; ``data_capture_uri`` is None
when capture is off; ``instance_type`` is None for a serverless endpoint.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field, StringConstraints

from ... import catalog
from ...specs.endpoint import EndpointSpec, check_deployed_variants
from ..base import ArgumentProblem, Component, ComponentArgs, ComponentError
from ..secure import EncryptedBucket, create_key, encrypted_bucket, service_role
from .autoscaling import autoscaling
from .iam import execution_policy
from .metrics import EndpointMetrics
from .rollout import deployment_config, rollback_alarm_names, rollback_alarms
from .slo import slo_alarms, slo_rollback_alarm_names

__all__ = ["Endpoint", "EndpointArgs", "rollback_alarm_names"]

CAPTURE_PREFIX = "datacapture"
ASYNC_OUTPUT_PREFIX = "async-output"
ASYNC_FAILURE_PREFIX = "async-failures"

EndpointName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]


class EndpointArgs(ComponentArgs):
    """Inputs of :class:`Endpoint`: the validated spec, the model's registry and pipeline as
    objects, and what the stack program resolved at deploy time.

    A registry version is served from ``registry`` (a ModelRegistry); its artifacts and image
    come from ``pipeline`` (the model's TrainingPipeline) unless the spec names them. The
    ``*_arn`` and ``serving_image`` fields are the bring-your-own alternative for a registry or
    pipeline this program does not build (another stack's)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: EndpointSpec
    """The endpoint as declared in mlstack:endpoints."""
    endpoint_name: EndpointName
    """The SageMaker endpoint's name (<team>-<endpoint name>)."""
    registry: Optional[Any] = None
    """The model's ModelRegistry: serves version model_version of its group (and a registry shadow's spec.shadow.modelVersion)."""
    model_version: Optional[int] = None
    """The registry version served, recorded as mlstack:model-version (default: spec.modelVersion when pinned)."""
    pipeline: Optional[Any] = None
    """The model's TrainingPipeline: its artifacts bucket and key (read access) and inference image, where the spec names none."""
    deployed_variants: Optional[list[str]] = None
    """The production variant names of the deployed endpoint (None: not deployed yet)."""
    model_package_arn: Optional[Any] = None
    """Bring your own, instead of registry: pulumi.Input[str], the model package served."""
    shadow_package_arn: Optional[Any] = None
    """Bring your own, instead of registry: pulumi.Input[str], the registry shadow's model package."""
    serving_image: Optional[str] = None
    """Bring your own, instead of pipeline: the image the registered versions use (scopes ECR pulls)."""
    artifacts_bucket_arn: Optional[Any] = None
    """Bring your own, instead of pipeline: pulumi.Input[str], the bucket holding the versions' artifacts."""
    artifacts_key_arn: Optional[Any] = None
    """Bring your own, instead of pipeline: pulumi.Input[str], the KMS key of those artifacts, for kms:Decrypt."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every child, lineage tags included (see mlstack.lineage)."""

    def version(self) -> Optional[int]:
        """The registry version served: model_version, else a version the spec pins."""
        if self.model_version is not None:
            return self.model_version
        return self.spec.model_version if isinstance(self.spec.model_version, int) else None

    def package_arn(self) -> Any:
        """The model package served (None when the spec gives modelDataUrl)."""
        if not self.spec.serves_registry_version:
            return None
        if self.model_package_arn is not None:
            return self.model_package_arn
        version = self.version()
        return self.registry.model_package_arn(version) if self.registry is not None and version is not None else None

    def shadow_arn(self) -> Any:
        """The registry shadow's model package (None without one)."""
        shadow = self.spec.shadow
        if shadow is None or shadow.model_data_url is not None:
            return None
        if self.shadow_package_arn is not None:
            return self.shadow_package_arn
        return self.registry.model_package_arn(shadow.model_version) if self.registry is not None else None

    def image(self) -> Optional[str]:
        """The image of the registered versions (serving_image, else the pipeline's inference image)."""
        return self.serving_image or (self.pipeline.serving_image if self.pipeline is not None else None)

    def artifacts_bucket(self) -> Any:
        return self.artifacts_bucket_arn if self.artifacts_bucket_arn is not None else (self.pipeline.artifacts_bucket_arn if self.pipeline is not None else None)

    def artifacts_key(self) -> Any:
        return self.artifacts_key_arn if self.artifacts_key_arn is not None else (self.pipeline.key_arn if self.pipeline is not None else None)


class Endpoint(Component, EndpointMetrics, token="mlstack:index:Endpoint"):
    """A SageMaker endpoint serving one model version, rolled out blue/green (ALL_AT_ONCE,
    CANARY, LINEAR) or rolling, rolled back automatically when an alarm fires.

    Example::

        endpoint = Endpoint("scoring", EndpointArgs(
            spec=EndpointSpec(name="scoring", model="churn-xgb", instance_type="ml.g5.xlarge", instance_count=2,
                              rollout={"type": "CANARY", "size": {"type": "CAPACITY_PERCENT", "value": 10}}),
            endpoint_name="churn-scoring",
            registry=registry,                # a ModelRegistry: serves version 7 of its group
            model_version=7,
            pipeline=pipeline,                # a TrainingPipeline: its artifacts and inference image
            tags=lineage.tags(model="churn-xgb", model_version="7"),
        ))
        aws.cloudwatch.MetricAlarm("p99", threshold=250_000, comparison_operator="GreaterThanThreshold",
                                   evaluation_periods=3, **endpoint.metric_model_latency("p99"))
        endpoint.grant_invoke(caller_role)
    """

    endpoint_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    variant_names: list[str]
    instance_type: Optional[str]
    is_gpu: bool
    alarm_names: list[str]
    data_capture_uri: Optional[pulumi.Output[str]]
    spec: EndpointSpec
    model_name: str

    def __init__(self, name: str, args: EndpointArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        _check(args)  # before anything is registered
        super().__init__(name, opts)
        spec = args.spec

        EndpointMetrics.__init__(self, args.endpoint_name, spec.variant_name)
        self.args = args
        self.spec = spec
        self.model_name = spec.model
        self.model_package_arn = args.package_arn()
        """pulumi.Input[str]: the model package served (None for modelDataUrl); the quality job reads its evaluation metrics."""
        self._resource_name = name
        self.instance_type = spec.instance_type
        self.is_gpu = spec.is_gpu
        self.variant_names = [spec.variant_name]
        self.shadow_variant_name = spec.shadow.variant_name if spec.shadow else None
        own = slo_rollback_alarm_names(args.endpoint_name) if spec.slo else rollback_alarm_names(args.endpoint_name, spec.rollout.latency_statistic)
        self.alarm_names = own + list(spec.rollout.alarms)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._env = pulumi.Output.all(caller.account_id, region.region, partition.partition)

        # Key: bring your own, or one with rotation.
        self.key: Optional[aws.kms.Key] = None
        if spec.kms_key_arn:
            key_arn: pulumi.Input[str] = spec.kms_key_arn
        else:
            self.key = create_key(
                name,
                description=f"mlstack endpoint {args.endpoint_name}: data capture, async results, volumes",
                tags=tags,
                parent=self,
            )
            key_arn = self.key.arn
        self.kms_key_arn = pulumi.Output.from_input(key_arn)

        # Bucket for data capture and async results, unless both bring their own prefix.
        capture = spec.data_capture
        capturing = capture.enabled
        async_spec = spec.async_inference
        needs_bucket = (capturing and capture.destination is None) or (
            async_spec is not None and (async_spec.output_uri is None or async_spec.failure_uri is None)
        )
        self.bucket: Optional[EncryptedBucket] = None
        bucket_name: Optional[pulumi.Output[str]] = None
        if needs_bucket:
            self.bucket = encrypted_bucket(f"{name}-data", key_arn=key_arn, tags=tags, parent=self)
            bucket_name = self.bucket.name
            if capturing and capture.destination is None:
                self._expire_captured_data(name, capture.retention_days)

        def in_bucket(prefix: str) -> pulumi.Output[str]:
            assert bucket_name is not None
            return bucket_name.apply(lambda b: f"s3://{b}/{prefix}")

        self.data_capture_uri: Optional[pulumi.Output[str]] = None
        if capturing:
            self.data_capture_uri = pulumi.Output.from_input(capture.destination) if capture.destination else in_bucket(CAPTURE_PREFIX)
        async_output = async_failure = None
        if async_spec is not None:
            async_output = pulumi.Output.from_input(async_spec.output_uri) if async_spec.output_uri else in_bucket(ASYNC_OUTPUT_PREFIX)
            async_failure = pulumi.Output.from_input(async_spec.failure_uri) if async_spec.failure_uri else in_bucket(ASYNC_FAILURE_PREFIX)

        # Execution role, scoped to exactly what this endpoint touches.
        self.role = service_role(
            name,
            services=["sagemaker.amazonaws.com"],
            description=f"SageMaker execution role of endpoint {args.endpoint_name} (mlstack)",
            tags=tags,
            parent=self,
            source_account=caller.account_id,
        )
        writes = [u for u in (self.data_capture_uri, async_output, async_failure) if u is not None]
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self._env, key_arn, args.artifacts_bucket(), args.artifacts_key(), *writes).apply(
                lambda values: execution_policy(
                    spec,
                    endpoint_name=args.endpoint_name,
                    account=values[0][0],
                    region=values[0][1],
                    partition=values[0][2],
                    key_arn=values[1],
                    artifacts_bucket_arn=values[2],
                    artifacts_key_arn=values[3],
                    serving_image=args.image(),
                    write_uris=list(values[4:]),
                    alarm_names=self.alarm_names,
                )
            ),
            opts=child,
        )

        # Models (autonamed: a new version is a new model, hence a new config and a rollout).
        model_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy])
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.role.arn,
            enable_network_isolation=spec.network_isolation,
            primary_container=_container(spec.image, spec.model_data_url, args.package_arn(), spec.environment),
            vpc_config=_vpc(spec),
            tags=tags,
            opts=model_opts,
        )
        self.shadow_model: Optional[aws.sagemaker.Model] = None
        if spec.shadow is not None:
            shadow = spec.shadow
            self.shadow_model = aws.sagemaker.Model(
                f"{name}-shadow-model",
                execution_role_arn=self.role.arn,
                enable_network_isolation=spec.network_isolation,
                primary_container=_container(shadow.image or spec.image, shadow.model_data_url, args.shadow_arn(), spec.environment),
                vpc_config=_vpc(spec),
                tags=tags,
                opts=model_opts,
            )

        # Endpoint configuration: autonamed, never a fixed name (every field forces replacement).
        self.config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[self._variant(spec.variant_name, self.model.name, spec.instance_type, spec.instance_count, 1.0)],
            shadow_production_variants=(
                [
                    self._variant(
                        spec.shadow.variant_name,
                        self.shadow_model.name,  # type: ignore[union-attr]
                        spec.shadow.instance_type or spec.instance_type,
                        spec.shadow.instance_count,
                        spec.shadow.sampling_percent / 100,
                    )
                ]
                if spec.shadow
                else None
            ),
            kms_key_arn=key_arn if self._volume_key_allowed() else None,
            data_capture_config=(
                aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                    enable_capture=True,
                    initial_sampling_percentage=capture.sampling_percent,
                    destination_s3_uri=self.data_capture_uri,
                    kms_key_id=key_arn,
                    capture_options=[
                        aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=mode)
                        for mode in (["Input", "Output"] if capture.capture_responses else ["Input"])
                    ],
                    # Captured as text, not base64, so the drift job can read CSV and JSON payloads.
                    capture_content_type_header=aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureContentTypeHeaderArgs(
                        csv_content_types=["text/csv"],
                        json_content_types=["application/json", "application/jsonlines"],
                    ),
                )
                if capturing
                else None
            ),
            async_inference_config=(
                aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs(
                    output_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigOutputConfigArgs(
                        s3_output_path=async_output,
                        s3_failure_path=async_failure,
                        kms_key_id=key_arn,
                    ),
                    client_config=(
                        aws.sagemaker.EndpointConfigurationAsyncInferenceConfigClientConfigArgs(
                            max_concurrent_invocations_per_instance=async_spec.max_concurrent_invocations_per_instance
                        )
                        if async_spec.max_concurrent_invocations_per_instance
                        else None
                    ),
                )
                if async_spec is not None
                else None
            ),
            tags=tags,
            opts=child,
        )
        self.endpoint_config_name = self.config.name

        # Rollback alarms: with an SLO, burn rates of the new fleet (and the paging members on the
        # whole variant); otherwise raw thresholds scoped to the endpoint and its production variant.
        self.slo_burn_alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        if spec.slo is not None:
            self.slo_burn_alarms, self.alarms = slo_alarms(
                name, spec, endpoint_name=args.endpoint_name, dimensions=self.dimensions(), config_name=self.config.name, tags=tags, parent=self
            )
        else:
            self.error_alarm, self.latency_alarm = rollback_alarms(
                name, spec, endpoint_name=args.endpoint_name, alarm_names=self.alarm_names, dimensions=self.dimensions(), tags=tags, parent=self
            )
            self.alarms = [self.error_alarm, self.latency_alarm]

        # The endpoint: a deterministic name, the rollout and the rollback wiring.
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=self.config.name,
            deployment_config=deployment_config(spec, [alarm.name for alarm in self.alarms]),
            tags=tags,
            opts=child,
        )
        self.endpoint_name = self.endpoint.name
        self.arn = self.endpoint.arn

        self.scaling_target: Optional[aws.appautoscaling.Target] = None
        self.scaling_policies: list[aws.appautoscaling.Policy] = []
        if spec.autoscaling is not None:
            self.scaling_target, self.scaling_policies = autoscaling(
                name, spec, endpoint=self.endpoint, endpoint_name=args.endpoint_name, metrics=self, tags=tags, parent=self
            )

        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "arn": self.arn,
                "endpoint_config_name": self.endpoint_config_name,
                "variant_names": self.variant_names,
                "shadow_variant_name": self.shadow_variant_name,
                "alarm_names": self.alarm_names,
                "data_capture_uri": self.data_capture_uri,
            }
        )

    # ---- children ----------------------------------------------------------------------------

    def _volume_key_allowed(self) -> bool:
        types = [t for t in (self.spec.instance_type, self.spec.shadow.instance_type if self.spec.shadow else None) if t]
        return bool(types) and not any(catalog.has_local_storage(t) for t in types)

    def _variant(self, variant: str, model_name, instance_type: Optional[str], count: int, weight: float):
        spec = self.spec
        if spec.serverless is not None:
            return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name=variant,
                model_name=model_name,
                initial_variant_weight=weight,
                serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                    memory_size_in_mb=spec.serverless.memory_size_mb,
                    max_concurrency=spec.serverless.max_concurrency,
                    provisioned_concurrency=spec.serverless.provisioned_concurrency,
                ),
            )
        return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=variant,
            model_name=model_name,
            instance_type=instance_type,
            initial_instance_count=count,
            initial_variant_weight=weight,
        )

    def _expire_captured_data(self, name: str, days: int) -> None:
        assert self.bucket is not None
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-data-lifecycle",
            bucket=self.bucket.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-captured-data",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{CAPTURE_PREFIX}/"),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=days),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    # ---- grants ------------------------------------------------------------------------------

    def grant_invoke(self, role: aws.iam.Role, *, name: Optional[str] = None) -> aws.iam.RolePolicy:
        """Let ``role`` invoke this endpoint (and only it): an inline policy on the role."""
        actions = ["sagemaker:InvokeEndpoint"]
        if self.spec.async_inference is not None:
            actions.append("sagemaker:InvokeEndpointAsync")
        label = name or role.pulumi_resource_name
        return aws.iam.RolePolicy(
            f"{self._resource_name}-invoke-{label}",
            role=role.id,
            policy=self.arn.apply(
                lambda arn: json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Sid": "InvokeEndpoint", "Effect": "Allow", "Action": actions, "Resource": arn}]}
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _check(args: EndpointArgs) -> None:
    """Every rule between the arguments, raised at once."""
    spec = args.spec
    if spec.is_kserve:
        raise ComponentError.bad("spec.backend", f"endpoint {spec.name!r} has backend kserve", fix="build it with mlstack.components.InferenceService")
    problems = [ArgumentProblem("deployed_variants", text) for text in check_deployed_variants(spec, args.deployed_variants or [])]
    for given, alternative in (("model_package_arn", "registry"), ("shadow_package_arn", "registry"), ("serving_image", "pipeline"),
                               ("artifacts_bucket_arn", "pipeline"), ("artifacts_key_arn", "pipeline")):
        if getattr(args, given) is not None and getattr(args, alternative) is not None:
            problems.append(ArgumentProblem(given, f"is given with {alternative}, which provides it", f"pass {alternative} or {given}, not both"))
    if spec.serves_registry_version and args.package_arn() is None:
        if args.registry is None:
            problems.append(ArgumentProblem("registry", f"endpoint {spec.name!r} serves a registry version", "pass the model's ModelRegistry (or model_package_arn)"))
        else:
            problems.append(
                ArgumentProblem("model_version", f"is needed: spec.model_version is {spec.model_version!r}, which the stack program resolves at deploy time",
                                "pass the Approved version to serve (mlstack.lookups.latest_approved_model_package finds it)")
            )
    if spec.shadow is not None and spec.shadow.model_data_url is None and args.shadow_arn() is None:
        problems.append(ArgumentProblem("registry", f"endpoint {spec.name!r} has a registry shadow", "pass the model's ModelRegistry (or shadow_package_arn)"))
    if spec.image is None and args.image() is None and (spec.serves_registry_version or spec.shadow is not None):
        problems.append(ArgumentProblem("pipeline", "is needed without spec.image", "pass the model's TrainingPipeline (its inference image), give spec.image, or serving_image"))
    if spec.serves_registry_version and spec.artifacts_uri is None and args.artifacts_bucket() is None:
        problems.append(ArgumentProblem("pipeline", "is needed without spec.artifacts_uri", "pass the model's TrainingPipeline (its artifacts bucket), give spec.artifacts_uri, or artifacts_bucket_arn"))
    if problems:
        raise ComponentError.of(problems)


def _container(image, model_data_url, package_arn, environment):
    if model_data_url is not None:
        return aws.sagemaker.ModelPrimaryContainerArgs(image=image, model_data_url=model_data_url, environment=environment or None)
    return aws.sagemaker.ModelPrimaryContainerArgs(model_package_name=package_arn, environment=environment or None)


def _vpc(spec: EndpointSpec):
    if spec.vpc is None:
        return None
    return aws.sagemaker.ModelVpcConfigArgs(subnets=spec.vpc.subnet_ids, security_group_ids=spec.vpc.security_group_ids)
