"""ExperimentTracking: a SageMaker managed MLflow tracking server for a team's experiments."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ..specs.base import KmsKeyArn
from ..specs.tracking import TrackingSpec
from .base import Component, ComponentArgs
from .secure import KMS_USE_ACTIONS, create_key, encrypted_bucket, policy_json, service_role

__all__ = ["ExperimentTrackingArgs", "ExperimentTracking", "tracking_server_role_policy", "mlflow_use_statements"]

#: The prefix of the bucket the server keeps its artifacts under.
ARTIFACT_PREFIX = "mlflow"


class ExperimentTrackingArgs(ComponentArgs):
    """Inputs of :class:`ExperimentTracking`."""

    server_name: str = Field(min_length=1, max_length=256, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    """The tracking server's name (botocore TrackingServerName), e.g. churn-mlflow."""
    spec: TrackingSpec = Field(default_factory=TrackingSpec)
    """Size, MLflow version and maintenance window (mlstack:tracking)."""
    kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for the artifact bucket (default: a key of its own, rotated yearly)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every resource, lineage tags included."""


class ExperimentTracking(Component, token="mlstack:index:ExperimentTracking"):
    """A SageMaker managed MLflow tracking server whose artifacts live in a private, versioned,
    KMS-encrypted bucket, reached through a role that may use that bucket and key only.

    Example::

        tracking = ExperimentTracking("mlflow", ExperimentTrackingArgs(server_name="churn-mlflow", tags=lineage.tags()))
        TrainingPipeline("churn-xgb", TrainingPipelineArgs(..., tracking_server_arn=tracking.arn))

    Children: a KMS key (unless ``kms_key_arn``), the artifact bucket, the server's role and its
    policy, and the tracking server (``automatic_model_registration`` off: versions reach the
    registry through the training pipeline's gates only).
    """

    arn: pulumi.Output[str]
    server_name: pulumi.Output[str]
    artifact_store_uri: pulumi.Output[str]

    def __init__(self, name: str, args: ExperimentTrackingArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.args = args
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        if args.kms_key_arn:
            self.key = None
            key_arn: pulumi.Input[str] = args.kms_key_arn
        else:
            self.key = create_key(name, description=f"mlstack MLflow tracking server {args.server_name}: artifacts", tags=tags, parent=self)
            key_arn = self.key.arn
        self.bucket = encrypted_bucket(f"{name}-artifacts", key_arn=key_arn, tags=tags, parent=self)
        self.role = service_role(
            name,
            services=["sagemaker.amazonaws.com"],
            description=f"MLflow tracking server {args.server_name}",
            tags=tags,
            parent=self,
            # The key's ARN names the account without a lookup: SageMaker acts for it only.
            source_account=pulumi.Output.from_input(key_arn).apply(lambda arn: arn.split(":")[4]),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self.bucket.arn, key_arn).apply(lambda a: tracking_server_role_policy(a[0], a[1])),
            opts=child,
        )
        self.artifact_store_uri = self.bucket.name.apply(lambda bucket: f"s3://{bucket}/{ARTIFACT_PREFIX}/")
        spec = args.spec
        self.server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-server",
            tracking_server_name=args.server_name,
            artifact_store_uri=self.artifact_store_uri,
            role_arn=self.role.arn,
            tracking_server_size=spec.size,
            mlflow_version=spec.mlflow_version,
            weekly_maintenance_window_start=spec.maintenance_window,
            automatic_model_registration=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy, self.bucket.policy, self.bucket.encryption]),
        )
        self.arn = self.server.arn
        self.server_name = self.server.tracking_server_name
        self.register_outputs({"arn": self.arn, "server_name": self.server_name, "artifact_store_uri": self.artifact_store_uri})


def tracking_server_role_policy(bucket_arn: str, key_arn: str) -> str:
    """What the tracking server may do: read and write its artifacts under ``mlflow/`` of its
    bucket, with its key — instead of the ``AmazonS3FullAccess`` botocore's
    CreateMlflowTrackingServer documentation suggests."""
    return policy_json(
        [
            {"Sid": "ListArtifactBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
            {
                "Sid": "ReadWriteArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{bucket_arn}/{ARTIFACT_PREFIX}/*",
            },
            {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": KMS_USE_ACTIONS, "Resource": key_arn},
        ]
    )


def mlflow_use_statements(server_arn: str) -> list[dict[str, Any]]:
    """IAM statements letting a training job log runs to the server ``server_arn`` (and no other).

    ``sagemaker-mlflow`` is the service prefix of the MLflow REST API of SageMaker's tracking
    servers (AWS Service Authorization Reference, "Amazon SageMaker with MLflow"); its actions
    take the tracking server ARN as their resource."""
    return [{"Sid": "LogToTrackingServer", "Effect": "Allow", "Action": "sagemaker-mlflow:*", "Resource": server_arn}]
