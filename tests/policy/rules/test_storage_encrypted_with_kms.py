"""Tests of ``mlstack-storage-encrypted-with-kms``
(mlstack/policy/rules/storage_encrypted_with_kms.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import KMS, Case, assert_fails_exactly, definition, step, train_on
from ..graphs import KEY_ARN, baseline, iam_baseline, tags


CASES: list[Case] = [
    ("bucket-sse-aes256", "dev", lambda g: g.set("churn-xgb-training-artifacts-encryption", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"), {KMS}),
    ("bucket-sse-aws-managed-key", "dev", lambda g: g.drop("churn-xgb-training-artifacts-encryption", "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId"), {KMS}),
    ("bucket-without-encryption", "prod", lambda g: g.remove("churn-xgb-training-artifacts-encryption"), {KMS}),
    ("bucket-inline-aes256", "prod", lambda g: g.remove("churn-xgb-training-artifacts-encryption").set("churn-xgb-training-artifacts", "serverSideEncryptionConfiguration", {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}), {KMS}),
    ("endpoint-ebs-volume-without-key", "prod", lambda g: g.set("scoring-config", "productionVariants.0.instanceType", "ml.m5.xlarge"), {KMS}),
    ("endpoint-local-nvme-with-key", "prod", lambda g: g.set("scoring-config", "kmsKeyArn", KEY_ARN), {KMS}),
    ("data-capture-without-key", "dev", lambda g: g.drop("scoring-config", "dataCaptureConfig.kmsKeyId"), {KMS}),
    ("async-output-without-key", "dev", lambda g: g.set("scoring-config", "asyncInferenceConfig", {"outputConfig": {"s3OutputPath": "s3://x/out"}}), {KMS}),
    ("online-store-without-key", "staging", lambda g: g.drop("feature-store-customers", "onlineStoreConfig.securityConfig"), {KMS}),
    ("offline-store-without-key", "staging", lambda g: g.drop("feature-store-customers", "offlineStoreConfig.s3StorageConfig.kmsKeyId"), {KMS}),
    ("training-volume-without-key", "dev", definition(train_on("ml.m5.2xlarge", key=False)), {KMS}),
    ("training-local-nvme-with-key", "dev", definition(train_on("ml.g5.2xlarge", key=True)), {KMS}),
    ("processing-volume-without-key", "dev", definition(lambda d: step(d, "Preprocess")["Arguments"]["ProcessingResources"]["ClusterConfig"].pop("VolumeKmsKeyId")), {KMS}),
    ("topic-without-key", "prod", lambda g: g.drop("monitor-topic", "kmsMasterKeyId"), {KMS}),
    ("model-monitor-job-without-key", "dev", lambda g: g.add("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "monitor-data-quality", {"jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGb": 20}}, "tags": tags("dev", model="churn-xgb")}, parent="monitor") and g, {KMS}),
]


IAM_CASES: list[Case] = [
    ("dynamodb-aws-owned-key", "prod", lambda g: g.set("feature-store-index", "serverSideEncryption", {"enabled": False}), {KMS}),
    ("sqs-managed-encryption", "dev", lambda g: g.drop("monitor-dead-letters", "kmsMasterKeyId").set("monitor-dead-letters", "sqsManagedSseEnabled", True), {KMS}),
    ("log-group-without-key", "staging", lambda g: g.drop("monitor-logs", "kmsKeyId"), {KMS}),
    ("notebook-volume-without-key", "dev", lambda g: g.drop("feature-store-notebook", "kmsKeyId"), {KMS}),
    ("model-card-without-key", "prod", lambda g: g.add("aws:sagemaker/modelCard:ModelCard", "churn-xgb-card", {"modelCardName": "churn-churn-xgb", "modelCardStatus": "Draft", "content": "{}", "tags": tags("prod", model="churn-xgb")}, parent="churn-xgb") and g, {KMS}),
    ("model-card-aws-managed-key", "prod", lambda g: g.add("aws:sagemaker/modelCard:ModelCard", "churn-xgb-card", {"modelCardName": "churn-churn-xgb", "modelCardStatus": "Draft", "content": "{}", "securityConfig": {"kmsKeyId": "alias/aws/sagemaker"}, "tags": tags("prod", model="churn-xgb")}, parent="churn-xgb") and g, {KMS}),
    ("efs-unencrypted", "prod", lambda g: g.add("aws:efs/fileSystem:FileSystem", "feature-store-efs", {"tags": tags(g.env)}, parent="feature-store") and g, {KMS}),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)


def test_violation_names_the_resource_and_says_how_to_fix():
    report = baseline("prod").drop("monitor-topic", "kmsMasterKeyId").check()
    (violation,) = report.violations
    assert violation.urn.endswith("mlstack:index:Monitor$aws:sns/topic:Topic::monitor-topic")
    assert violation.resource_type == "aws:sns/topic:Topic"
    assert "must encrypt" in violation.message and "kms_master_key_id" in violation.message


def test_inline_bucket_encryption_with_kms_counts():
    g = baseline("prod").remove("churn-xgb-training-artifacts-encryption")
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}
    g.set("churn-xgb-training-artifacts", "serverSideEncryptionConfiguration", {"rule": rule})
    assert g.check().violations == []


def test_store_check_reports_every_store_type_it_lists():
    from mlstack.policy.kit.stores import STORES

    g = iam_baseline("dev")
    bare = {f"bare-store-{i}": type_ for i, type_ in enumerate(STORES)}
    for name, type_ in bare.items():
        g.add(type_, name, {"tags": tags("dev")}, parent="monitor")
    flagged = {v.resource_name: v.resource_type for v in g.check().violations if v.policy == KMS}
    assert flagged == bare


def test_a_model_card_with_a_customer_key_passes():
    g = iam_baseline("prod")
    g.add("aws:sagemaker/modelCard:ModelCard", "churn-xgb-card", {"modelCardName": "churn-churn-xgb", "modelCardStatus": "Draft", "content": "{}", "securityConfig": {"kmsKeyId": KEY_ARN}, "tags": tags("prod", model="churn-xgb")}, parent="churn-xgb")
    assert g.check().violations == []
