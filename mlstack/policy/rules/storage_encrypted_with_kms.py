"""Checks that data at rest is encrypted with a customer KMS key
(``mlstack-storage-encrypted-with-kms``)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ... import catalog
from ...catalog import has_local_storage
from ..kit.index import StackIndex
from ..kit.pipelines import jobs
from ..kit.resource_types import BUCKET_TYPES, ENDPOINT_CONFIG
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, stack_environment
from ..kit.stores import customer_key_problem, store_problems
from ..kit.values import UNKNOWN, get, is_set, plain

__all__ = ["POLICY", "NAME", "SSE_TYPES"]

NAME = "mlstack-storage-encrypted-with-kms"

SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
TOPIC = "aws:sns/topic:Topic"

SSE_FIX = (
    "add aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{'apply_server_side_encryption_by_default': "
    "{'sse_algorithm': 'aws:kms', 'kms_master_key_id': <key>.arn}, 'bucket_key_enabled': True}])"
)

def _sse_rule_problems(rules: Any) -> list[str]:
    rules = plain(rules)
    if rules is UNKNOWN:
        return []
    if not isinstance(rules, list) or not rules:
        return ["it has no encryption rule"]
    problems = []
    for rule in rules:
        default = get(rule, "applyServerSideEncryptionByDefault", default={})
        if default is UNKNOWN:
            continue
        algorithm = get(default, "sseAlgorithm")
        if algorithm is not UNKNOWN and algorithm not in KMS_ALGORITHMS:
            problems.append(f"sseAlgorithm is {algorithm!r}, not aws:kms")
        elif not is_set(get(default, "kmsMasterKeyId")):
            problems.append("kmsMasterKeyId is not set (the AWS-managed aws/s3 key cannot be restricted by a key policy)")
    return problems


def _check_buckets(index: StackIndex, report: ReportViolation) -> None:
    configs = index.of_type(*SSE_TYPES)
    for sse in configs:
        for problem in _sse_rule_problems(get(sse.props, "rules")):
            report(f"S3 default encryption must use a customer KMS key, but {problem}; {SSE_FIX}.", sse.urn)
    for bucket in index.of_type(*BUCKET_TYPES):
        inline = get(bucket.props, "serverSideEncryptionConfiguration")  # deprecated inline form: one "rule"
        if is_set(inline):
            rule = get(inline, "rule")
            problems = _sse_rule_problems(UNKNOWN if UNKNOWN in (inline, rule) else [plain(rule)] if rule else [])
            if not problems:
                continue
        if any(index.linked(sse, bucket) for sse in configs):
            continue
        report(f"S3 bucket {bucket.name!r} must be encrypted by default with a customer KMS key; {SSE_FIX}.", bucket.urn)


def _known_type(itype: Any) -> bool:
    """Whether SageMaker knows the type for some use (typos are the instance policy's to report)."""
    return isinstance(itype, str) and any(itype in catalog.instance_types(use) for use in catalog.Use)


def _check_endpoint_config(resource: Any, report: ReportViolation) -> None:
    props = resource.props
    variants = [*(plain(get(props, "productionVariants", default=[])) or []), *(plain(get(props, "shadowProductionVariants", default=[])) or [])]
    types = [v.get("instanceType") for v in variants if isinstance(v, dict) and isinstance(v.get("instanceType"), str)]
    if not all(_known_type(t) for t in types):
        types = []
    local = [t for t in types if has_local_storage(t)]
    key = get(props, "kmsKeyArn")
    if local and is_set(key):
        report(
            f"endpoint configuration {resource.name!r} must not set kmsKeyArn: {', '.join(sorted(set(local)))} keep "
            "their volumes on local NVMe storage, which the hardware encrypts, and SageMaker rejects a KMS key for them "
            "(CreateEndpointConfig fails). Remove kmsKeyArn, or choose EBS-backed instance types and keep it.",
            resource.urn,
        )
    elif types and not local and not is_set(key):
        report(
            f"endpoint configuration {resource.name!r} must encrypt its ML storage volumes with a customer KMS key; "
            "set kms_key_arn to the stack's KMS key ARN.",
            resource.urn,
        )
    capture = get(props, "dataCaptureConfig")
    if is_set(capture) and capture is not UNKNOWN and get(capture, "enableCapture") is not False:
        if not is_set(get(capture, "kmsKeyId")):
            report(
                f"endpoint configuration {resource.name!r} must encrypt captured requests and responses with a customer "
                "KMS key; set data_capture_config.kms_key_id to the stack's KMS key ARN.",
                resource.urn,
            )
    output = get(props, "asyncInferenceConfig", "outputConfig")
    if is_set(output) and output is not UNKNOWN and not is_set(get(output, "kmsKeyId")):
        report(
            f"endpoint configuration {resource.name!r} must encrypt asynchronous inference results with a customer KMS "
            "key; set async_inference_config.output_config.kms_key_id.",
            resource.urn,
        )


def _check_feature_group(resource: Any, report: ReportViolation) -> None:
    props = resource.props
    online = get(props, "onlineStoreConfig")
    if is_set(online) and online is not UNKNOWN and get(online, "enableOnlineStore") is True:
        if not is_set(get(online, "securityConfig", "kmsKeyId")):
            report(
                f"feature group {resource.name!r} must encrypt its online store with a customer KMS key; set "
                "online_store_config.security_config.kms_key_id.",
                resource.urn,
            )
    offline = get(props, "offlineStoreConfig")
    if is_set(offline) and offline is not UNKNOWN and not is_set(get(offline, "s3StorageConfig", "kmsKeyId")):
        report(
            f"feature group {resource.name!r} must encrypt its offline store with a customer KMS key; set "
            "offline_store_config.s3_storage_config.kms_key_id.",
            resource.urn,
        )


def _check_job_volumes(resource: Any, report: ReportViolation) -> None:
    for where, use, itype, key in jobs(resource):
        if isinstance(itype, str) and not _known_type(itype):
            continue  # a typo: the instance policy reports it
        if isinstance(itype, str) and has_local_storage(itype):
            if is_set(key):
                report(
                    f"{use} job at {where} must not set VolumeKmsKeyId: {itype} keeps its volume on local NVMe "
                    "storage, which the hardware encrypts, and SageMaker rejects a KMS key for it. Remove "
                    "VolumeKmsKeyId, or choose an EBS-backed instance type and keep it.",
                    resource.urn,
                )
        elif not is_set(key):
            report(
                f"{use} job at {where} must encrypt its storage volume with a customer KMS key; set VolumeKmsKeyId "
                "(e.g. volume_kms_key in the sagemaker SDK) to the stack's KMS key ARN.",
                resource.urn,
            )


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    if not applies(args.get_config(), stack_environment(args.resources, args.stack_tags)):
        return
    index = StackIndex(args.resources)
    _check_buckets(index, report_violation)
    for resource in index.of_type(ENDPOINT_CONFIG):
        _check_endpoint_config(resource, report_violation)
    for resource in index.of_type(FEATURE_GROUP):
        _check_feature_group(resource, report_violation)
    for resource in index.of_type(TOPIC):
        problem = customer_key_problem(get(resource.props, "kmsMasterKeyId"), "kmsMasterKeyId")
        if problem:
            report_violation(
                f"SNS topic {resource.name!r} must encrypt messages with a customer KMS key, but {problem}; set "
                "kms_master_key_id to the stack's KMS key (its key policy must let CloudWatch alarms use it).",
                resource.urn,
            )
    for resource, message in store_problems(index):
        report_violation(message, resource.urn)
    for resource in index.resources:
        if resource.resource_type.startswith("aws:") and resource.resource_type not in (ENDPOINT_CONFIG, FEATURE_GROUP):
            _check_job_volumes(resource, report_violation)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that data at rest is encrypted with a customer KMS key: S3 buckets, SageMaker endpoint "
        "storage, data capture and async output, feature store online and offline stores, training, "
        "processing and transform volumes, SNS topics, and DynamoDB tables, SQS queues, log groups, EFS, Kinesis, "
        "secrets, ECR repositories, EBS volumes, RDS, notebook instances, Studio domains and model cards (AWS-managed keys do not count)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["encryption"],
    display_name="Storage is encrypted with customer KMS keys",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(ENVIRONMENTS, "data at rest must be encrypted with KMS")}
    ),
    remediation_steps="Create one aws.kms.Key per stack (rotation on) and pass its ARN to every store and job.",
)
