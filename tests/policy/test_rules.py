"""Each policy against a compliant baseline and one-field violations of it.

Every case changes one thing in the baseline graph (see graphs.py) and names the policies that
must then fail — and only those: a rule that also fires elsewhere, or a baseline that is not
clean, fails the test too.
"""

from __future__ import annotations

import json
from typing import Callable

import pytest

from .graphs import KEY_ARN, PACKAGE_ARN, Graph, baseline, tags

LINEAGE = "mlstack-resource-has-lineage-tags"
KMS = "mlstack-storage-encrypted-with-kms"
S3_PUBLIC = "mlstack-s3-bucket-blocks-public-access"
VPC = "mlstack-sagemaker-runs-in-vpc"
ROLLOUT = "mlstack-endpoint-requires-progressive-rollout"
MONITORING = "mlstack-endpoint-requires-monitoring"
INSTANCES = "mlstack-instance-types-within-limits"
APPROVED = "mlstack-endpoint-serves-approved-package"
GATES = "mlstack-pipeline-gates-registration"
DIGEST = "mlstack-image-pinned-by-digest"
LINEAGE_COMPLETE = "mlstack-model-lineage-complete"

TRAINING = "churn-xgb-training-pipeline"


def violated(report) -> set[str]:
    return {v.policy for v in report.violations}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_baseline_passes_every_policy_in_every_environment(env):
    report = baseline(env).check()
    assert report.violations == []
    assert report.passed
    assert report.resources == len(baseline(env).records) > 20


def _definition(change: Callable[[dict], None]) -> Callable[[Graph], Graph]:
    def apply(g: Graph) -> Graph:
        definition = g.definition(TRAINING)
        change(definition)
        return g.set_definition(TRAINING, definition)

    return apply


def _step(definition: dict, name: str) -> dict:
    for step in definition["Steps"]:
        if step["Name"] == name:
            return step
    raise KeyError(name)


def _ungate(definition: dict) -> None:
    gate = _step(definition, "CheckGates")
    definition["Steps"].remove(gate)
    definition["Steps"].extend(gate["Arguments"]["IfSteps"])


def _drop_auc_condition(definition: dict) -> None:
    _step(definition, "CheckGates")["Arguments"]["Conditions"].pop(1)


def _train_on(instance_type: str, key: bool) -> Callable[[dict], None]:
    def change(definition: dict) -> None:
        definition["Parameters"][0]["DefaultValue"] = instance_type
        config = _step(definition, "Train")["Arguments"]["ResourceConfig"]
        if not key:
            del config["VolumeKmsKeyId"]

    return change


def _fail_branch_gate(definition: dict) -> None:
    """The other gating pattern: a Condition whose else-branch fails, and Register after it."""
    gate = _step(definition, "CheckGates")
    register = gate["Arguments"]["IfSteps"].pop()
    register["DependsOn"] = ["CheckGates"]
    definition["Steps"].append(register)


# (id, environment, change, policies that must fail)
CASES: list[tuple[str, str, Callable[[Graph], Graph], set[str]]] = [
    # 1. lineage tags
    ("tag-missing", "dev", lambda g: g.drop("churn-xgb-training-artifacts", "tags.mlstack:team"), {LINEAGE}),
    ("tag-empty", "prod", lambda g: g.set("monitor-topic", "tags.mlstack:git-commit", " "), {LINEAGE}),
    ("tags-absent", "staging", lambda g: g.drop("scoring-key", "tags"), {LINEAGE}),
    ("tag-names-other-environment", "prod", lambda g: g.set("monitor-key", "tags.mlstack:environment", "dev"), {LINEAGE}),
    # 2. encryption with KMS
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
    ("training-volume-without-key", "dev", _definition(_train_on("ml.m5.2xlarge", key=False)), {KMS}),
    ("training-local-nvme-with-key", "dev", _definition(_train_on("ml.g5.2xlarge", key=True)), {KMS}),
    ("processing-volume-without-key", "dev", _definition(lambda d: _step(d, "Preprocess")["Arguments"]["ProcessingResources"]["ClusterConfig"].pop("VolumeKmsKeyId")), {KMS}),
    ("topic-without-key", "prod", lambda g: g.drop("monitor-topic", "kmsMasterKeyId"), {KMS}),
    ("model-monitor-job-without-key", "dev", lambda g: g.add("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "monitor-data-quality", {"jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGb": 20}}, "tags": tags("dev", model="churn-xgb")}, parent="monitor") and g, {KMS}),
    # 3. no public access
    ("public-access-flag-off", "dev", lambda g: g.set("churn-xgb-training-artifacts-public-access", "restrictPublicBuckets", False), {S3_PUBLIC}),
    ("bucket-without-public-access-block", "prod", lambda g: g.remove("churn-xgb-training-artifacts-public-access"), {S3_PUBLIC}),
    ("bucket-public-acl", "dev", lambda g: g.set("churn-xgb-training-artifacts", "acl", "public-read"), {S3_PUBLIC}),
    ("model-outside-vpc", "prod", lambda g: g.drop("scoring-model", "vpcConfig"), {VPC}),
    ("training-outside-vpc", "prod", _definition(lambda d: _step(d, "Train")["Arguments"].pop("VpcConfig")), {VPC}),
    ("processing-outside-vpc", "prod", _definition(lambda d: _step(d, "Evaluate")["Arguments"].pop("NetworkConfig")), {VPC}),
    # 4. progressive rollout
    ("all-at-once-in-staging", "staging", lambda g: g.set("scoring-endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type", "ALL_AT_ONCE"), {ROLLOUT}),
    ("rolling-update-in-prod", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig", {"rollingUpdatePolicy": {"maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1}}, "autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-scoring-5xx-error-rate"}]}}), {ROLLOUT}),
    ("canary-without-size", "prod", lambda g: g.drop("scoring-endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.canarySize"), {ROLLOUT}),
    ("no-rollback-alarms", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", []), {ROLLOUT}),
    ("rollback-alarms-not-in-stack", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "someone-elses-alarm"}]).remove("scoring-errors").remove("scoring-latency"), {ROLLOUT}),
    ("kserve-without-canary-in-prod", "prod", lambda g: g.drop("defects-isvc", "spec.predictor.canaryTrafficPercent"), {ROLLOUT}),
    ("kserve-canary-without-revisions", "prod", lambda g: g.set("defects-isvc", ("metadata", "annotations", "serving.kserve.io/deploymentMode"), "RawDeployment"), {ROLLOUT}),
    # 5. monitoring
    ("data-capture-off", "dev", lambda g: g.set("scoring-config", "dataCaptureConfig.enableCapture", False), {MONITORING}),
    ("data-capture-sampling-nothing", "dev", lambda g: g.set("scoring-config", "dataCaptureConfig.initialSamplingPercentage", 0), {MONITORING}),
    ("no-monitor-error-alarm", "dev", lambda g: g.remove("monitor-errors-5xx"), {MONITORING}),
    ("no-drift-alarm-in-prod", "prod", lambda g: g.remove("monitor-drift-tenure"), {MONITORING}),
    ("drift-alarm-on-other-endpoint", "staging", lambda g: g.set("monitor-drift-tenure", "dimensions.EndpointName", "churn-other"), {MONITORING}),
    ("kserve-without-payload-logging", "dev", lambda g: g.drop("defects-isvc", "spec.predictor.logger"), {MONITORING}),
    # 6. instance types
    ("endpoint-type-typo", "prod", lambda g: g.set("scoring-config", "productionVariants.0.instanceType", "ml.g5.xlarg"), {INSTANCES}),
    ("training-type-not-for-training", "prod", _definition(_train_on("ml.inf1.xlarge", key=True)), {INSTANCES}),
    ("p5-in-dev", "dev", lambda g: g.set("scoring-config", "productionVariants.0.instanceType", "ml.p5.48xlarge"), {INSTANCES}),
    ("gpu-cap-at-autoscaling-max", "dev", lambda g: g.set("scoring-scaling", "maxCapacity", 5), {INSTANCES}),
    ("kserve-gpu-cap", "dev", lambda g: g.set("defects-isvc", ("spec", "predictor", "model", "resources", "limits", "nvidia.com/gpu"), 3), {INSTANCES}),
    # 7. Approved model packages in prod
    ("bare-model-data-url-in-prod", "prod", lambda g: g.set("scoring-model", "primaryContainer", {"image": "churn-serve:1.4", "modelDataUrl": "s3://m/model.tar.gz"}), {APPROVED, DIGEST}),
    ("package-not-versioned", "prod", lambda g: g.set("scoring-model", "primaryContainer.modelPackageName", PACKAGE_ARN.rsplit("/", 1)[0].replace("model-package/", "model-package-group/")), {APPROVED}),
    ("version-not-recorded", "prod", lambda g: g.drop("scoring-model", "tags.mlstack:model-version"), {APPROVED}),
    ("version-recorded-wrong", "prod", lambda g: g.set("scoring-model", "tags.mlstack:model-version", "6"), {APPROVED}),
    ("kserve-version-not-recorded", "prod", lambda g: g.drop("defects-isvc", ("metadata", "labels", "mlstack.dev/model-version")), {APPROVED}),
    # 8. gated registration
    ("registration-ungated", "prod", _definition(_ungate), {GATES}),
    ("declared-gate-not-checked", "dev", _definition(_drop_auc_condition), {GATES}),
    # 9. digests in prod
    ("model-image-by-tag", "prod", lambda g: g.set("scoring-model", "primaryContainer.image", "210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn:1.4"), {DIGEST}),
    ("training-image-by-tag", "prod", _definition(lambda d: _step(d, "Train")["Arguments"]["AlgorithmSpecification"].update(TrainingImage="churn-train:latest")), {DIGEST}),
    ("kserve-container-by-tag", "prod", lambda g: g.set("defects-isvc", "spec.predictor.containers", [{"name": "kserve-container", "image": "pytorch/torchserve:0.9"}]), {DIGEST}),
    # 10. lineage complete
    ("served-model-unnamed", "dev", lambda g: g.drop("scoring-model", "tags.mlstack:model"), {LINEAGE_COMPLETE}),
    ("served-model-without-registry", "dev", lambda g: g.remove("churn-xgb-group").set("scoring-model", "primaryContainer.modelPackageName", PACKAGE_ARN.replace("churn-churn-xgb", "elsewhere")), {LINEAGE_COMPLETE}),
    ("served-model-without-training", "dev", lambda g: g.remove(TRAINING), {LINEAGE_COMPLETE}),
]

# The same change, in an environment where the policy does not apply by default.
NOT_IN = [
    ("model-outside-vpc", "staging"),
    ("all-at-once-in-staging", "dev"),
    ("kserve-without-canary-in-prod", "dev"),
    ("no-drift-alarm-in-prod", "dev"),
    ("p5-in-dev", "prod"),
    ("version-recorded-wrong", "staging"),
    ("model-image-by-tag", "staging"),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policy_that_checks_it(case, env, change, expected):
    report = change(baseline(env)).check()
    assert violated(report) == expected, [f"{v.policy}: {v.message}" for v in report.violations]
    for violation in report.violations:
        assert violation.urn and violation.urn.startswith(f"urn:pulumi:churn-{env}::")
        assert "must" in violation.message, "a message says what should be true"


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_environment_scoped_policies_leave_other_environments_alone(case, env):
    change = next(c[2] for c in CASES if c[0] == case)
    assert change(baseline(env)).check().violations == []


def test_vpc_is_mandatory_in_prod_by_default_and_can_be_made_advisory():
    g = baseline("prod").drop("scoring-model", "vpcConfig")
    report = g.check()
    assert [(v.policy, v.level) for v in report.violations] == [(VPC, "mandatory")]
    assert not report.passed
    relaxed = g.check({VPC: "advisory"})
    assert [(v.policy, v.level) for v in relaxed.violations] == [(VPC, "advisory")] and relaxed.passed


def test_violation_names_the_resource_and_says_how_to_fix():
    report = baseline("prod").drop("monitor-topic", "kmsMasterKeyId").check()
    (violation,) = report.violations
    assert violation.urn.endswith("mlstack:index:Monitor$aws:sns/topic:Topic::monitor-topic")
    assert violation.resource_type == "aws:sns/topic:Topic"
    assert "must encrypt" in violation.message and "kms_master_key_id" in violation.message


def test_registration_after_a_condition_that_fails_the_pipeline_is_gated():
    g = _definition(_fail_branch_gate)(baseline("prod"))
    assert g.check().violations == []
    # ...but not when the failing branch is gone.
    definition = g.definition(TRAINING)
    _step(definition, "CheckGates")["Arguments"]["ElseSteps"] = []
    assert violated(g.set_definition(TRAINING, definition).check()) == {GATES}


def test_gates_declared_on_the_pipeline_tag_count_without_stack_config():
    g = _definition(_drop_auc_condition)(baseline("dev"))
    assert g.check(stack_config={"mlstack:environment": "dev"}).violations == []
    g.set(TRAINING, "tags.mlstack:gate-metrics", "accuracy,auc")
    assert violated(g.check(stack_config={"mlstack:environment": "dev"})) == {GATES}


def test_ungated_registration_without_declared_gates_passes_in_dev_only():
    for env, expected in (("dev", set()), ("prod", {GATES})):
        g = _definition(_ungate)(baseline(env))
        models = json.dumps([{"name": "churn-xgb"}])
        assert violated(g.check(stack_config={"mlstack:environment": env, "mlstack:models": models})) == expected


def test_inline_bucket_encryption_with_kms_counts():
    g = baseline("prod").remove("churn-xgb-training-artifacts-encryption")
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}
    g.set("churn-xgb-training-artifacts", "serverSideEncryptionConfiguration", {"rule": rule})
    assert g.check().violations == []


def test_declared_external_source_completes_lineage():
    g = baseline("dev").remove(TRAINING)
    g.set("churn-xgb-group", "tags.mlstack:source", "s3://partner-models/churn/")
    assert g.check().violations == []


def test_external_registry_in_config_completes_lineage():
    g = baseline("dev").remove("churn-xgb-group").remove(TRAINING)
    arn = "arn:aws:sagemaker:eu-west-1:345678901234:model-package/shared-churn/3"
    g.set("scoring-model", "primaryContainer.modelPackageName", arn)
    g.drop("defects-isvc", ("metadata", "labels", "mlstack.dev/model"))
    report = g.check({"mlstack-model-lineage-complete": {"externalRegistries": ["arn:aws:sagemaker:*:345678901234:model-package/*"]}})
    assert [v.policy for v in report.violations] == [LINEAGE_COMPLETE]  # the KServe service still says nothing
    assert "defects" in report.violations[0].message


def test_environment_comes_from_lineage_tags_when_the_stack_says_nothing():
    g = baseline("prod").drop("scoring-model", "vpcConfig")
    report = g.check(stack_config={}, tagged=False)
    assert violated(report) == {VPC}
    g = baseline("dev").drop("scoring-model", "vpcConfig")
    assert g.check(stack_config={}, tagged=False).violations == []


def test_unlabelled_resources_get_the_strictest_rules():
    g = baseline("dev").drop("scoring-model", "tags").set("scoring-model", "primaryContainer.image", "churn:latest")
    report = g.check(stack_config={}, tagged=False)
    assert {LINEAGE, DIGEST} <= violated(report)


def test_rollback_alarms_computed_at_deployment_count_through_dependencies():
    g = baseline("prod").drop("scoring-errors", "name").drop("scoring-latency", "name")  # autonamed by the provider
    g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "scoring-errors-9f86d08"}])
    assert g.check().violations == []  # autonamed: the endpoint depends on the stack's alarm
    g.get("scoring-endpoint").property_dependencies = {}
    g.get("scoring-endpoint").dependencies = []
    assert violated(g.check()) == {ROLLOUT}


def test_disabled_policy_is_not_run_and_advisory_does_not_fail():
    g = baseline("prod").remove("monitor-drift-tenure")
    assert not g.check().passed
    assert g.check({MONITORING: "disabled"}).violations == []
    report = g.check({MONITORING: "advisory"})
    assert report.passed and [v.level for v in report.violations] == ["advisory"]


def test_config_moves_the_limits_per_environment():
    g = baseline("dev").set("scoring-scaling", "maxCapacity", 5)
    caps = {"maxGpusPerEndpoint": {"dev": 8, "staging": 16, "prod": 64}}
    assert g.check({INSTANCES: caps}).violations == []
    assert violated(g.check({INSTANCES: {"environments": ["prod"]}})) == set()
    assert violated(g.check({ROLLOUT: {"environments": ["dev", "staging", "prod"]}})) == {INSTANCES}
