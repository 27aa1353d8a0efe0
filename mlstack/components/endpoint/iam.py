"""The execution role's policy of an Endpoint: exactly the image repositories, the artifacts,
the capture and async prefixes, the endpoint's key, its log group and metrics, its VPC network
interfaces and its rollback alarms."""

from __future__ import annotations

import json
from typing import Any, Optional

from ...specs.base import parse_ecr_image
from ...specs.endpoint import EndpointSpec
from ..secure import vpc_statements
from .metrics import INSTANCE_NAMESPACE

__all__ = ["execution_policy"]


def _s3_object_arn(partition: str, uri: str, *, prefix: bool) -> str:
    path = uri[len("s3://") :]
    return f"arn:{partition}:s3:::{path}{'*' if prefix else ''}"


def execution_policy(
    spec: EndpointSpec,
    *,
    endpoint_name: str,
    account: str,
    region: str,
    partition: str,
    key_arn: str,
    write_uris: list[str],
    alarm_names: list[str],
    artifacts_bucket_arn: Optional[str] = None,
    artifacts_key_arn: Optional[str] = None,
    serving_image: Optional[str] = None,
) -> str:
    """The execution role's policy: the image repositories, the artifacts, the write prefixes,
    the key, the endpoint's logs and the rollback alarms, and nothing else."""
    statements: list[dict[str, Any]] = []
    repositories = []
    for image in filter(None, [spec.image or serving_image, spec.shadow.image if spec.shadow else None]):
        parts = parse_ecr_image(image)
        assert parts is not None  # EcrImage
        arn = parts.repository_arn(partition)
        if arn not in repositories:
            repositories.append(arn)
    if repositories:
        statements.append(
            {"Sid": "PullServingImage", "Effect": "Allow",
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
             "Resource": repositories}
        )
        # ECR's token call has no resource to scope it to; the pull itself is scoped above.
        statements.append({"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"})
    reads = []
    if spec.artifacts_uri:
        reads.append(_s3_object_arn(partition, spec.artifacts_uri, prefix=True))
    elif artifacts_bucket_arn and (spec.serves_registry_version or (spec.shadow and spec.shadow.model_data_url is None)):
        reads.append(f"{artifacts_bucket_arn}/*")
    for url in filter(None, [spec.model_data_url, spec.shadow.model_data_url if spec.shadow else None]):
        if not spec.artifacts_uri or not url.startswith(spec.artifacts_uri):
            reads.append(_s3_object_arn(partition, url, prefix=False))
    if reads:
        statements.append({"Sid": "ReadModelArtifacts", "Effect": "Allow", "Action": "s3:GetObject", "Resource": reads})
    if write_uris:
        statements.append(
            {"Sid": "WriteCaptureAndResults", "Effect": "Allow", "Action": "s3:PutObject",
             "Resource": [_s3_object_arn(partition, u.rstrip("/") + "/", prefix=True) for u in write_uris]}
        )
    statements.append(
        {"Sid": "UseEndpointKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": key_arn}
    )
    if artifacts_key_arn and artifacts_key_arn != key_arn:
        statements.append({"Sid": "DecryptModelArtifacts", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": artifacts_key_arn})
    log_group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint_name}"
    statements.append(
        {"Sid": "WriteEndpointLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": [log_group, f"{log_group}:*"]}
    )
    statements.append(
        {"Sid": "PublishEndpointMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": INSTANCE_NAMESPACE}}}
    )
    if spec.vpc is not None:
        statements += vpc_statements(partition, region, account, spec.vpc, sid="EndpointNetworkInterfaces")
    statements.append(
        {"Sid": "ReadRollbackAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
         "Resource": [f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{a}" for a in alarm_names]}
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
