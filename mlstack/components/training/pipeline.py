"""TrainingPipeline: a SageMaker pipeline that preprocesses, trains (GPU or CPU), evaluates,
checks the model's promotion gates and registers passing versions in its ModelRegistry.

Declared per model as ``mlstack:models[].training`` (an example: :mod:`mlstack.specs.training`);
the gates are the model's own ``mlstack:models[].gates`` (the same ones ``mlstack promote``
evaluates).

The spec (:mod:`mlstack.specs.training`) holds the steps' settings; this module builds them.
The pipeline definition is generated with the sagemaker SDK offline (see
:mod:`mlstack.components.training.definition`). The evaluation step writes a JSON report
``{"metrics": {"<name>": {"value": <number>}}}``; every gate is a condition on it. Gates with
``threshold: last-approved`` compare with the bound a small Lambda step reads from the registry
at execution start (the newest Approved version's ``mlstack:metric:<name>``), so scheduled and
drift-triggered runs are gated exactly like manual ones.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field, model_validator

from ...errors import SpecProblems
from ...specs.base import Slug, Spec, parse_ecr_image
from ...specs.card import ModelCardSpec
from ...specs.gates import GateSpec
from ...specs.training import TrainingSpec, check_gates
from ..base import Component, ComponentArgs, ComponentError
from ..names import bounded
from ..registry import ModelRegistry
from ..secure import create_key, encrypted_bucket, policy_json, service_role
from .definition import DefinitionInputs, build_definition
from .iam import MODELS_PREFIX, arn_parts, baseline_policy, key_policy, pipeline_role_policy, repository_policy
from .sdk import SDK_EXTRA, sdk_missing

__all__ = ["TrainingPipelineArgs", "TrainingPipeline", "MODELS_PREFIX"]

def _card_json(card: Optional[ModelCardSpec], group: str, input_uri: Any, purpose: Optional[str]) -> Optional[str]:
    if card is None:
        return None
    import json

    from ...cards import card_content

    datasets = [input_uri] if isinstance(input_uri, str) and len(input_uri) <= 1024 else []
    return json.dumps(card_content(card, group=group, purpose=purpose, datasets=datasets), sort_keys=True)


def _role_policy(training: TrainingSpec, a: dict[str, Any]) -> str:
    tracking = a.pop("tracking", None)
    if tracking:
        from ..tracking import mlflow_use_statements

        a = {**a, "extra": [*a["extra"], *mlflow_use_statements(tracking)]}
    return pipeline_role_policy(training, **a)


class TrainingPipelineArgs(ComponentArgs):
    """Inputs of :class:`TrainingPipeline`."""

    model_config = ConfigDict(**{**Spec.model_config, "arbitrary_types_allowed": True})

    model: Slug
    """The model's name."""
    training: TrainingSpec
    """The pipeline's steps and settings."""
    registry: ModelRegistry
    """The model's registry: versions are registered in its group with the status its approval mode implies."""
    gates: list[GateSpec] = Field(default_factory=list)
    """Promotion gates: each becomes a condition before registration."""
    feature_store: Any = None
    """The FeatureStore holding training.featureGroup: the pipeline reads that group's offline store, and may."""
    input_uri: Any = None
    """(pulumi.Input[str]) Input data of preprocessing when neither training.input nor a feature group is set (the model's dataset URI)."""
    input_read_statements: Any = None
    """(pulumi.Input[list[dict]]) Bring your own: IAM statements that let the pipeline read input_uri when it is not an S3 URI the pipeline can scope itself."""
    card: Optional[ModelCardSpec] = None
    """The model card every registered version carries (its content in SageMaker's model package card schema); `mlstack promote` adds the evaluation when it approves one."""
    tracking_server_arn: Any = None
    """(pulumi.Input[str]) An MLflow tracking server (ExperimentTracking's arn): the training job gets it as MLFLOW_TRACKING_URI and MLFLOW_TRACKING_ARN, the role may log to it, and each registered version records the run id its evaluation report names (mlflow.run_id) as mlstack:mlflow-run-id."""
    dataset_version: str = "unversioned"
    """Dataset version recorded with every registered version (the DatasetVersion parameter's default)."""
    git_commit: str = "unknown"
    """Commit of the stack repository, recorded with every registered version."""
    pipeline_name: Optional[str] = Field(default=None, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    """SageMaker pipeline name (default: <registry group>-training)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every resource, lineage tags included."""

    @model_validator(mode="after")
    def _gates_and_input(self) -> "TrainingPipelineArgs":
        problems = check_gates(self.gates, self.training)
        group = self.training.feature_group
        if group and self.feature_store is None and self.input_uri is None:
            problems.append((("feature_store",), f"model {self.model!r} trains on feature group {group!r}: pass the FeatureStore that holds it"))
        elif group and self.feature_store is not None and group not in self.feature_store.groups:
            problems.append((("feature_store",), f"has no feature group {group!r} (it has {', '.join(sorted(self.feature_store.groups)) or 'none'})"))
        if not (self.training.input or group or self.input_uri):
            problems.append((("input_uri",), f"model {self.model!r}: training needs data: set training.input, training.featureGroup or the model's dataset.uri"))
        if problems:
            raise SpecProblems(problems)
        return self


class TrainingPipeline(Component, token="mlstack:index:TrainingPipeline"):
    """A SageMaker training pipeline for one model, feeding its ModelRegistry.

    Example::

        pipeline = TrainingPipeline("churn-xgb", TrainingPipelineArgs(
            model="churn-xgb",
            training=TrainingSpec.model_validate({...}),
            gates=[GateSpec(metric="accuracy", op=">=", threshold="last-approved")],
            registry=registry,                       # a ModelRegistry
            input_uri="s3://churn-data/features/v3/",  # or feature_store=store with training.featureGroup
            tags=lineage.tags(model="churn-xgb"),
        ))
        pipeline.arn, pipeline.trigger_role_arn     # what a retraining trigger needs

    Children: a KMS key (unless ``kms_key_arn``), a private versioned encrypted bucket for the
    splits, checkpoints, models and reports, the role the pipeline and its jobs assume (scoped
    to that bucket and key, the input, the images' repositories and the model package group),
    the pipeline, a role EventBridge and EventBridge Scheduler may assume to start it (only
    it), an optional schedule, and — with last-approved gates — the Lambda that reads the last
    Approved version's metrics, its role and its encrypted log group.
    """

    pipeline_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    trigger_role_arn: pulumi.Output[str]
    model_name: str
    models_uri: pulumi.Output[str]
    """Where its training jobs write model artifacts (s3://<bucket>/models/): a reader account's artifactsUri."""
    artifacts_bucket_arn: pulumi.Output[str]
    """The bucket its jobs write the models to (an Endpoint serving its versions reads them)."""
    key_arn: pulumi.Output[str]
    """The KMS key of the bucket, volumes and logs."""
    serving_image: str
    """The image its registered versions are served with (training.inference.image)."""

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        missing = sdk_missing()
        if missing:  # before registering anything
            raise ComponentError.bad(None, f"trains with a SageMaker pipeline, but {missing}", fix=f"run: {SDK_EXTRA}")
        super().__init__(name, opts)
        self.args = args
        self.model_name = args.model
        training = args.training
        registry = args.registry
        group_name = registry.args.group_name
        pipeline_name = args.pipeline_name or bounded(f"{group_name}-training", 256)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        # The registry group's ARN tells the partition, region and account without a lookup.
        where = registry.arn.apply(arn_parts)
        account = where.apply(lambda w: w[2])

        relative = any(g.relative for g in args.gates)
        # Accounts that deploy this model's versions (ModelRegistry cross_account_readers): they may
        # read the artifacts below models/ (bucket policy), decrypt them through S3 (key policy)
        # and pull the serving image (repository policy) — nothing else.
        readers = list(getattr(registry.args, "cross_account_readers", None) or [])
        if training.kms_key_arn:
            self.key = None
            key_arn: pulumi.Output[str] = pulumi.Output.from_input(training.kms_key_arn)
        else:
            self.key = create_key(
                name,
                description=f"mlstack training pipeline {pipeline_name}: volumes, outputs, artifacts and logs",
                alias=f"alias/mlstack/{pipeline_name}"[:256],
                # The baseline Lambda's log group is encrypted with this key: CloudWatch Logs must use it.
                policy=where.apply(lambda w: key_policy(*w, logs=relative, readers=readers)) if relative or readers else None,
                tags=tags,
                parent=self,
            )
            key_arn = self.key.arn
        self.key_arn = key_arn

        self.bucket = encrypted_bucket(f"{name}-artifacts", key_arn=key_arn, tags=tags, parent=self, readers=readers, read_prefix=MODELS_PREFIX)
        self.artifacts_bucket_arn = self.bucket.arn
        self.models_uri = self.bucket.name.apply(lambda b: f"s3://{b}/{MODELS_PREFIX}/")
        self.serving_image = training.inference.image
        self.repository_policy: Optional[aws.ecr.RepositoryPolicy] = None
        if readers:
            image = parse_ecr_image(training.inference.image)
            assert image is not None  # EcrImage
            self.repository_policy = aws.ecr.RepositoryPolicy(
                f"{name}-serving-image-readers",
                repository=image.repository,
                policy=where.apply(lambda w: repository_policy(w[0], readers)),
                opts=child,
            )

        self.role = service_role(
            name,
            services=["sagemaker.amazonaws.com"],
            description=f"SageMaker pipeline {pipeline_name} and its jobs",
            tags=tags,
            parent=self,
            source_account=account,
        )

        input_uri: pulumi.Input[str] = training.input or args.input_uri  # type: ignore[assignment]
        input_read = args.input_read_statements
        store, group = args.feature_store, training.feature_group
        if group and store is not None and not training.input:
            input_uri, input_read = store.offline_uri(group), store.offline_read_statements(group)

        self.baseline_function: Optional[aws.lambda_.Function] = None
        if relative:
            self._baseline(name, pipeline_name, group_name, registry, key_arn, tags)

        baseline_arn = self.baseline_function.arn if self.baseline_function else None
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                where=where,
                role_arn=self.role.arn,
                bucket_arn=self.bucket.arn,
                key_arn=key_arn,
                group_arn=registry.arn,
                input_uri=input_uri,
                extra=input_read or [],
                baseline=baseline_arn,
                tracking=args.tracking_server_arn,
            ).apply(lambda a: _role_policy(training, a)),
            opts=child,
        )

        definition = pulumi.Output.all(
            role_arn=self.role.arn,
            bucket=self.bucket.name,
            key_arn=key_arn,
            where=where,
            input_uri=input_uri,
            baseline=baseline_arn,
            tracking=args.tracking_server_arn,
        ).apply(
            lambda a: build_definition(
                DefinitionInputs(
                    pipeline_name=pipeline_name,
                    model=args.model,
                    region=a["where"][1],
                    role_arn=a["role_arn"],
                    bucket=a["bucket"],
                    key_arn=a["key_arn"],
                    group_name=group_name,
                    approval_status=registry.approval_mode.initial_status,
                    git_commit=args.git_commit,
                    input_uri=a["input_uri"],
                    dataset_version=args.dataset_version,
                    training=training.model_dump(mode="json"),
                    gates=[g.model_dump(mode="json") for g in args.gates],
                    baseline_function_arn=a["baseline"],
                    tracking_server_arn=a["tracking"],
                    model_card=_card_json(args.card, group_name, a["input_uri"], getattr(registry.args, "description", None)),
                    model_card_status=args.card.status if args.card else "Draft",
                )
            )
        )
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=f"Trains, evaluates, gates and registers {args.model} in {group_name}",
            role_arn=self.role.arn,
            pipeline_definition=definition,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.role_policy, self.bucket.policy, self.bucket.encryption, self.bucket.public_access_block],
            ),
        )
        self.pipeline_name = self.pipeline.pipeline_name
        self.arn = self.pipeline.arn

        self.trigger_role = service_role(
            f"{name}-trigger",
            services=["events.amazonaws.com", "scheduler.amazonaws.com"],
            description=f"Lets EventBridge and EventBridge Scheduler start pipeline {pipeline_name} (only it)",
            tags=tags,
            parent=self,
            source_account=account,
        )
        self.trigger_policy = aws.iam.RolePolicy(
            f"{name}-trigger-policy",
            role=self.trigger_role.id,
            policy=self.pipeline.arn.apply(
                lambda arn: policy_json(
                    [{"Sid": "StartThisPipeline", "Effect": "Allow", "Action": "sagemaker:StartPipelineExecution", "Resource": arn}]
                )
            ),
            opts=child,
        )
        self.trigger_role_arn = self.trigger_role.arn

        self.schedule: Optional[aws.scheduler.Schedule] = None
        if training.schedule:
            self.schedule = aws.scheduler.Schedule(
                f"{name}-schedule",
                description=f"Retrains {args.model}: starts pipeline {pipeline_name}",
                schedule_expression=training.schedule,
                schedule_expression_timezone=training.schedule_timezone,
                flexible_time_window={"mode": "OFF"},
                kms_key_arn=key_arn,
                target={
                    "arn": self.pipeline.arn,
                    "role_arn": self.trigger_role.arn,
                    "retry_policy": {"maximum_retry_attempts": 0},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.trigger_policy]),
            )

        self.register_outputs(
            {
                "pipeline_name": self.pipeline_name,
                "arn": self.arn,
                "trigger_role_arn": self.trigger_role_arn,
                "role_arn": self.role.arn,
                "bucket_name": self.bucket.name,
            }
        )

    def _baseline(self, name: str, pipeline_name: str, group_name: str, registry: ModelRegistry, key_arn: pulumi.Output[str], tags: dict[str, str]) -> None:
        function_name = bounded(f"{pipeline_name}-last-approved", 64)
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-baseline-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=365,
            kms_key_id=key_arn,
            tags=tags,
            opts=child,
        )
        role = service_role(
            f"{name}-baseline",
            services=["lambda.amazonaws.com"],
            description=f"Reads the last Approved version's metrics of {group_name} for pipeline {pipeline_name}",
            tags=tags,
            parent=self,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-baseline-policy",
            role=role.id,
            policy=pulumi.Output.all(registry.arn, log_group.arn).apply(lambda a: baseline_policy(a[0], a[1])),
            opts=child,
        )
        source = resources.files("mlstack.components.training.lambdas").joinpath("last_approved.py").read_text(encoding="utf-8")
        self.baseline_function = aws.lambda_.Function(
            f"{name}-baseline",
            name=function_name,
            description=f"Last Approved metrics of {group_name} for the gates of {pipeline_name}",
            runtime="python3.12",
            handler="index.handler",
            architectures=["arm64"],
            timeout=30,
            memory_size=128,
            role=role.arn,
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(source)}),
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
