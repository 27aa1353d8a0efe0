"""The stores beyond S3, SageMaker and SNS that ``mlstack-storage-encrypted-with-kms`` judges:
each must name a customer KMS key (an AWS-managed ``alias/aws/...`` key does not count: its key
policy cannot be restricted, and services such as CloudWatch alarms cannot be granted its use).

==============================  =====================================================================
DynamoDB table                  ``server_side_encryption={"enabled": True, "kms_key_arn": ...}``
                                (disabled: an AWS-owned key; enabled without a key: ``aws/dynamodb``)
SQS queue                       ``kms_master_key_id`` (``sqs_managed_sse_enabled`` is SQS's own key)
CloudWatch log group            ``kms_key_id``
EFS file system                 ``encrypted=True`` and ``kms_key_id``
Kinesis stream                  ``encryption_type="KMS"`` and ``kms_key_id``
Secrets Manager secret          ``kms_key_id`` (default: ``aws/secretsmanager``)
ECR repository                  ``encryption_configurations=[{"encryption_type": "KMS", "kms_key": ...}]``
EBS volume                      ``encrypted=True`` and ``kms_key_id``
RDS instance / cluster          ``storage_encrypted=True`` and ``kms_key_id``
SageMaker notebook instance     ``kms_key_id`` (its ML storage volume)
SageMaker Studio domain         ``kms_key_id`` (its EFS home directories)
SageMaker model card            ``security_config={"kms_key_id": ...}`` (default: an AWS-owned key)
==============================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .values import UNKNOWN, get, is_set, plain
from .iam import is_aws_managed_key

__all__ = ["STORES", "store_problems", "customer_key_problem"]


def customer_key_problem(value: Any, field: str) -> str | None:
    """Why ``value`` is not a customer KMS key (None when it is, or is not known yet)."""
    if not is_set(value):
        return f"{field} is not set"
    if is_aws_managed_key(value):
        return f"{field} is {value!r}, an AWS-managed key whose policy cannot be restricted"
    return None


def _flag(props: Any, field: str, want: Any = True) -> str | None:
    value = get(props, field)
    if value is UNKNOWN or value == want:
        return None
    return f"{field} is not set" if value is None else f"{field} is {value!r}"


def _dynamodb(props: Any) -> Iterator[str]:
    sse = get(props, "serverSideEncryption")
    if sse is UNKNOWN:
        return
    if get(sse, "enabled") is not True and get(sse, "enabled") is not UNKNOWN:
        yield "serverSideEncryption.enabled is not true (the table uses an AWS-owned key)"
        return
    problem = customer_key_problem(get(sse, "kmsKeyArn"), "serverSideEncryption.kmsKeyArn")
    if problem:
        yield problem


def _key(field: str) -> Callable[[Any], Iterator[str]]:
    def check(props: Any) -> Iterator[str]:
        problem = customer_key_problem(get(props, field), field)
        if problem:
            yield problem

    return check


def _key_at(*path: str) -> Callable[[Any], Iterator[str]]:
    def check(props: Any) -> Iterator[str]:
        problem = customer_key_problem(get(props, *path), ".".join(path))
        if problem:
            yield problem

    return check


def _flag_and_key(flag: str, want: Any, field: str) -> Callable[[Any], Iterator[str]]:
    def check(props: Any) -> Iterator[str]:
        problem = _flag(props, flag, want) or customer_key_problem(get(props, field), field)
        if problem:
            yield problem

    return check


def _ecr(props: Any) -> Iterator[str]:
    configs = plain(get(props, "encryptionConfigurations", default=[]))
    if configs is UNKNOWN:
        return
    config = configs[0] if isinstance(configs, list) and configs and isinstance(configs[0], dict) else {}
    if config.get("encryptionType") not in ("KMS", "KMS_DSSE", UNKNOWN):
        yield f"encryptionConfigurations[0].encryptionType is {config.get('encryptionType', 'AES256 (the default)')!r}"
        return
    problem = customer_key_problem(config.get("kmsKey"), "encryptionConfigurations[0].kmsKey")
    if problem:
        yield problem


#: type -> (what it is, check yielding problems, how to fix).
STORES: dict[str, tuple[str, Callable[[Any], Iterator[str]], str]] = {
    "aws:dynamodb/table:Table": ("DynamoDB table", _dynamodb, "set server_side_encryption={'enabled': True, 'kms_key_arn': <key>.arn}"),
    "aws:sqs/queue:Queue": ("SQS queue", _key("kmsMasterKeyId"), "set kms_master_key_id=<key>.arn"),
    "aws:cloudwatch/logGroup:LogGroup": (
        "CloudWatch log group",
        _key("kmsKeyId"),
        "set kms_key_id=<key>.arn (its key policy must let logs.<region>.amazonaws.com use it, conditioned on "
        "kms:EncryptionContext:aws:logs:arn)",
    ),
    "aws:efs/fileSystem:FileSystem": ("EFS file system", _flag_and_key("encrypted", True, "kmsKeyId"), "set encrypted=True and kms_key_id=<key>.arn"),
    "aws:kinesis/stream:Stream": ("Kinesis stream", _flag_and_key("encryptionType", "KMS", "kmsKeyId"), "set encryption_type='KMS' and kms_key_id=<key>.arn"),
    "aws:secretsmanager/secret:Secret": ("secret", _key("kmsKeyId"), "set kms_key_id=<key>.arn"),
    "aws:ecr/repository:Repository": ("ECR repository", _ecr, "set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': <key>.arn}]"),
    "aws:ebs/volume:Volume": ("EBS volume", _flag_and_key("encrypted", True, "kmsKeyId"), "set encrypted=True and kms_key_id=<key>.arn"),
    "aws:rds/instance:Instance": ("RDS instance", _flag_and_key("storageEncrypted", True, "kmsKeyId"), "set storage_encrypted=True and kms_key_id=<key>.arn"),
    "aws:rds/cluster:Cluster": ("RDS cluster", _flag_and_key("storageEncrypted", True, "kmsKeyId"), "set storage_encrypted=True and kms_key_id=<key>.arn"),
    "aws:sagemaker/notebookInstance:NotebookInstance": ("SageMaker notebook instance", _key("kmsKeyId"), "set kms_key_id=<key>.arn"),
    "aws:sagemaker/domain:Domain": ("SageMaker domain", _key("kmsKeyId"), "set kms_key_id=<key>.arn"),
    "aws:sagemaker/modelCard:ModelCard": ("SageMaker model card", _key_at("securityConfig", "kmsKeyId"), "set security_config={'kms_key_id': <key>.arn}"),
}


def store_problems(index: Any) -> Iterator[tuple[Any, str]]:
    """(resource, message) for every store of :data:`STORES` without a customer KMS key."""
    for type_, (what, check, fix) in STORES.items():
        for resource in index.of_type(type_):
            for problem in check(resource.props):
                yield resource, f"{what} {resource.name!r} must encrypt its data with a customer KMS key, but {problem}; {fix}."
