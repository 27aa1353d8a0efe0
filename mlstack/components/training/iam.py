"""The IAM documents of a TrainingPipeline: its key's policy, the role its pipeline and jobs
assume, and the baseline Lambda's role — each scoped to exactly what it touches."""

from __future__ import annotations

from typing import Any, Optional

from ...specs.base import parse_ecr_image
from ...specs.training import TrainingSpec
from ...stack_aws import dns_suffix
from ..secure import key_use_statements, policy_json, vpc_statements

__all__ = [
    "PIPELINE_JOB_PREFIX", "MODELS_PREFIX", "ECR_PULL_ACTIONS", "arn_parts", "key_policy", "reader_decrypt_statement", "repository_policy",
    "baseline_policy", "pipeline_role_policy",
]

#: Jobs a pipeline starts are named pipelines-<execution>-<step>-<suffix>.
PIPELINE_JOB_PREFIX = "pipelines-"


def arn_parts(arn: str) -> tuple[str, str, str]:
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


#: Where the training jobs write model artifacts in the pipeline's bucket (the definition's
#: OutputDataConfig): the prefix reader accounts may read.
MODELS_PREFIX = "models"
#: What a reader account needs of the serving image's repository to pull it (SageMaker pulls
#: with the reader's execution role, whose own policy must allow the same actions).
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def reader_decrypt_statement(partition: str, region: str, readers: list[str]) -> dict[str, Any]:
    """Reader accounts may decrypt with the key, only through S3 in this region (reading the
    artifacts the bucket policy lets them read) and only as themselves: ``kms:ViaService`` and
    ``kms:CallerAccount`` (AWS KMS developer guide, condition keys)."""
    return {
        "Sid": "CrossAccountReadersDecryptArtifactsThroughS3",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in readers]},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix(region)}", "kms:CallerAccount": list(readers)}},
    }


def repository_policy(partition: str, readers: list[str]) -> str:
    """The serving image repository's policy: reader accounts may pull (and nothing else)."""
    return policy_json(
        [
            {
                "Sid": "CrossAccountReadersPullServingImage",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in readers]},
                "Action": ECR_PULL_ACTIONS,
            }
        ]
    )


def key_policy(partition: str, region: str, account: str, *, logs: bool = True, readers: Optional[list[str]] = None) -> str:
    """The account administers the key through IAM; CloudWatch Logs may use it for this
    account's log groups only (the baseline Lambda's logs are encrypted with it; ``logs``);
    ``readers`` may decrypt through S3 (:func:`reader_decrypt_statement`)."""
    statements = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
    ]
    if logs:
        statements.append(_logs_statement(partition, region, account))
    if readers:
        statements.append(reader_decrypt_statement(partition, region, readers))
    return policy_json(statements)


def _logs_statement(partition: str, region: str, account: str) -> dict[str, Any]:
    return {
        "Sid": "CloudWatchLogsOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.{dns_suffix(region)}"},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"}},
    }


def baseline_policy(group_arn: str, log_group_arn: str) -> str:
    partition, region, account = arn_parts(group_arn)
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


def pipeline_role_policy(
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
        statements += vpc_statements(partition, region, account, training.vpc, sid="JobNetworkInterfaces")
    return policy_json(statements)
