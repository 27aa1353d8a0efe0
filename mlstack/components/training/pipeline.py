"""TrainingPipeline: a SageMaker pipeline that preprocesses, trains (GPU or CPU), evaluates,
checks the model's promotion gates and registers passing versions in its ModelRegistry.

Declared per model as ``mlstack:models[].training``; the gates are the model's own
``mlstack:models[].gates`` (the same ones ``mlstack promote`` evaluates)::

    mlstack:models:
      - name: churn-xgb
        gates:
          - {metric: accuracy, op: ">=", threshold: last-approved, tolerance: 0.005}
          - {metric: bias_delta, op: "<=", threshold: 0.01}
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

The spec (:mod:`mlstack.specs.training`) holds the steps' settings; this module builds them.
The pipeline definition is generated with the sagemaker SDK offline (see
:mod:`mlstack.components._pipeline_definition`). The evaluation step writes a JSON report
``{"metrics": {"<name>": {"value": <number>}}}``; every gate is a condition on it. Gates with
``threshold: last-approved`` compare with the bound a small Lambda step reads from the registry
at execution start (the newest Approved version's ``mlstack:metric:<name>``), so scheduled and
drift-triggered runs are gated exactly like manual ones.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field, model_validator

from ..errors import SpecProblems
from ..stack_aws import dns_suffix
from ..specs.base import Slug, Spec, parse_ecr_image
from ..specs.gates import GateSpec
from ..specs.training import TrainingSpec, check_gates
from ._pipeline_definition import SDK_EXTRA, DefinitionInputs, build_definition, require_sdk, sdk_missing
from ._secure import create_key, encrypted_bucket, key_use_statements, policy_json, service_role
from .base import Component, ComponentArgs, ComponentError
from .registry import ModelRegistry

__all__ = ["TrainingPipelineArgs", "TrainingPipeline", "require_sdk"]

#: Jobs a pipeline starts are named pipelines-<execution>-<step>-<suffix>.
PIPELINE_JOB_PREFIX = "pipelines-"


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


def _bounded(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def _arn_parts(arn: str) -> tuple[str, str, str]:
    parts = arn.split(":")
    return parts[1], parts[3], parts[4]


def _s3_read_statements(uri: str, partition: str, sid: str) -> list[dict[str, Any]]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    statements: list[dict[str, Any]] = [
        {"Sid": f"{sid}Objects", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*"},
        {"Sid": f"{sid}List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:{partition}:s3:::{bucket}"},
    ]
    if prefix:
        statements[1]["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    return statements


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
        pipeline_name = args.pipeline_name or _bounded(f"{group_name}-training", 256)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        # The registry group's ARN tells the partition, region and account without a lookup.
        where = registry.arn.apply(_arn_parts)
        account = where.apply(lambda w: w[2])

        relative = any(g.relative for g in args.gates)
        if training.kms_key_arn:
            self.key = None
            key_arn: pulumi.Output[str] = pulumi.Output.from_input(training.kms_key_arn)
        else:
            self.key = create_key(
                name,
                description=f"mlstack training pipeline {pipeline_name}: volumes, outputs, artifacts and logs",
                alias=f"alias/mlstack/{pipeline_name}"[:256],
                # The baseline Lambda's log group is encrypted with this key: CloudWatch Logs must use it.
                policy=where.apply(lambda w: _key_policy(*w)) if relative else None,
                tags=tags,
                parent=self,
            )
            key_arn = self.key.arn
        self.key_arn = key_arn

        self.bucket = encrypted_bucket(f"{name}-artifacts", key_arn=key_arn, tags=tags, parent=self)
        self.artifacts_bucket_arn = self.bucket.arn
        self.serving_image = training.inference.image

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
            ).apply(lambda a: _pipeline_role_policy(training, **a)),
            opts=child,
        )

        definition = pulumi.Output.all(
            role_arn=self.role.arn,
            bucket=self.bucket.name,
            key_arn=key_arn,
            where=where,
            input_uri=input_uri,
            baseline=baseline_arn,
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
        function_name = _bounded(f"{pipeline_name}-last-approved", 64)
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
            policy=pulumi.Output.all(registry.arn, log_group.arn).apply(lambda a: _baseline_policy(a[0], a[1])),
            opts=child,
        )
        source = resources.files("mlstack.components.lambdas").joinpath("last_approved.py").read_text(encoding="utf-8")
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


def _key_policy(partition: str, region: str, account: str) -> str:
    """The account administers the key through IAM; CloudWatch Logs may use it for this
    account's log groups only (the baseline Lambda's logs are encrypted with it)."""
    return policy_json(
        [
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix(region)}"},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"}},
            },
        ]
    )


def _baseline_policy(group_arn: str, log_group_arn: str) -> str:
    partition, region, account = _arn_parts(group_arn)
    group = group_arn.rsplit("/", 1)[-1]
    return policy_json(
        [
            {
                # ListModelPackages has no resource-level permissions in IAM.
                "Sid": "FindApprovedVersions",
                "Effect": "Allow",
                "Action": "sagemaker:ListModelPackages",
                "Resource": "*",
            },
            {
                "Sid": "ReadVersionsOfThisGroup",
                "Effect": "Allow",
                "Action": "sagemaker:DescribeModelPackage",
                "Resource": f"arn:{partition}:sagemaker:{region}:{account}:model-package/{group}/*",
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn.removesuffix(':*')}:*",
            },
        ]
    )


def _pipeline_role_policy(
    training: TrainingSpec,
    *,
    where: tuple[str, str, str],
    role_arn: str,
    bucket_arn: str,
    key_arn: str,
    group_arn: str,
    input_uri: str,
    extra: list,
    baseline: Optional[str],
) -> str:
    """The pipeline role's policy: its bucket and key, its input, its images, its jobs and its group."""
    partition, region, account = where
    sagemaker = f"arn:{partition}:sagemaker:{region}:{account}"
    group = group_arn.rsplit("/", 1)[-1]
    images = sorted({training.preprocess.image, training.train.image, training.evaluation.image, training.inference.image})
    statements: list[dict[str, Any]] = [
        {"Sid": "ArtifactsBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": bucket_arn},
        {
            "Sid": "ArtifactsObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": f"{bucket_arn}/*",
        },
        *key_use_statements("PipelineKey", key_arn, grants_sid="PipelineKeyGrantsForVolumes"),
        {
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": sorted({parse_ecr_image(i).repository_arn(partition) for i in images}),  # type: ignore[union-attr]
        },
        # GetAuthorizationToken has no resource-level permissions in IAM.
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "JobLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [
                f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs",
                f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs:*",
                f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs",
                f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:*",
            ],
        },
        {
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            "Sid": "JobMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        },
        {
            "Sid": "RunThisPipelinesJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
            ],
            "Resource": [f"{sagemaker}:processing-job/{PIPELINE_JOB_PREFIX}*", f"{sagemaker}:training-job/{PIPELINE_JOB_PREFIX}*"],
        },
        {
            "Sid": "RegisterInThisGroup",
            "Effect": "Allow",
            "Action": ["sagemaker:AddTags", "sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            "Resource": [group_arn, f"{sagemaker}:model-package/{group}/*"],
        },
        {
            "Sid": "PassOwnRoleToJobs",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    ]
    if input_uri.startswith("s3://"):
        statements += _s3_read_statements(input_uri, partition, "ReadInput")
    statements += list(extra)
    if baseline:
        statements.append({"Sid": "InvokeBaselineLookup", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": baseline})
    if training.vpc:
        ec2 = f"arn:{partition}:ec2:{region}:{account}"
        statements += [
            {
                # EC2 Describe* calls have no resource-level permissions.
                "Sid": "DescribeVpc",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                "Resource": "*",
            },
            {
                "Sid": "JobNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                "Resource": [
                    f"{ec2}:network-interface/*",
                    *[f"{ec2}:subnet/{s}" for s in training.vpc.subnet_ids],
                    *[f"{ec2}:security-group/{g}" for g in training.vpc.security_group_ids],
                ],
            },
        ]
    return policy_json(statements)
