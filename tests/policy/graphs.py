"""A compliant resource graph, built record by record as the engine records it, to which each
policy test applies one change.

The graph holds what mlstack's components create (registry, training pipeline, feature store,
SageMaker endpoint with rollback alarms and autoscaling, monitor with error and drift alarms,
KServe InferenceService), in the shape the offline engine and CrossGuard hand to the policies:
type tokens, camelCase inputs, engine URNs, parents, dependencies and property dependencies.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mlstack.engine import Plan, ResourceRecord
from mlstack.policy.check import Report, check_plan, stack_tags_for

ACCOUNT = "210987654321"
REGION = "eu-west-1"
DIGEST = "@sha256:" + "3f1c9a6e2b7d4f08a5c1e9d3b6a2f7c4e8d1b5a9c3f6e2d7b4a8c1f5e9d3b7a2"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b7e4f0c-5b8f-4c52-9d0b-8f3b6a1e2c4d"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn-churn-xgb/7"
VPC = {"subnets": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": ["sg-0123456789abcdef0"]}
VPC_JOB = {"Subnets": ["subnet-0a1b2c3d4e5f60718"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
ENDPOINT_NAME = "churn-scoring"
ROLLBACK_ALARMS = [f"{ENDPOINT_NAME}-5xx-error-rate", f"{ENDPOINT_NAME}-p99-model-latency"]
GATES = [{"metric": "accuracy", "op": ">=", "threshold": 0.75}, {"metric": "auc", "op": ">=", "threshold": 0.8}]


def tags(env: str, **lineage: str) -> dict[str, str]:
    out = {
        "owner": "churn-ml@example.com",
        "mlstack:team": "churn",
        "mlstack:environment": env,
        "mlstack:stack": f"churn-{env}",
        "mlstack:git-commit": "4956606c75cbae34937b34e956cdc768f9b5825c",
    }
    out.update({f"mlstack:{k.replace('_', '-')}": v for k, v in lineage.items()})
    return out


def json_get(metric: str) -> dict[str, Any]:
    return {"Std:JsonGet": {"Path": f"metrics.{metric}.value", "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}}}


def processing(name: str, image: str, instance_type: str = "ml.m5.xlarge") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": image},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": 30, "VolumeKmsKeyId": KEY_ARN}
            },
            "NetworkConfig": {"EnableNetworkIsolation": True, "VpcConfig": dict(VPC_JOB)},
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-training",
        },
    }


def training_definition() -> dict[str, Any]:
    """A pipeline definition shaped like the TrainingPipeline's (sagemaker SDK output)."""
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "churn-churn-xgb",
            "ModelApprovalStatus": "PendingManualApproval",
            "InferenceSpecification": {
                "Containers": [{"Image": f"{ECR}/churn-xgb-serve{DIGEST}", "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}]
            },
            "CustomerMetadataProperties": {"mlstack:metric:accuracy": json_get("accuracy"), "mlstack:metric:auc": json_get("auc")},
        },
    }
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [{"Name": "TrainInstanceType", "Type": "String", "DefaultValue": "ml.m5.2xlarge"}],
        "Steps": [
            processing("Preprocess", f"{ECR}/churn-xgb-preprocess{DIGEST}"),
            {
                "Name": "Train",
                "Type": "Training",
                "Arguments": {
                    "AlgorithmSpecification": {"TrainingImage": f"{ECR}/churn-xgb-train{DIGEST}", "TrainingInputMode": "File"},
                    "ResourceConfig": {
                        "InstanceCount": 1,
                        "InstanceType": {"Get": "Parameters.TrainInstanceType"},
                        "VolumeSizeInGB": 50,
                        "VolumeKmsKeyId": KEY_ARN,
                    },
                    "OutputDataConfig": {"S3OutputPath": "s3://churn-artifacts/models", "KmsKeyId": KEY_ARN},
                    "VpcConfig": dict(VPC_JOB),
                    "EnableNetworkIsolation": True,
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-training",
                },
            },
            processing("Evaluate", f"{ECR}/churn-xgb-evaluate{DIGEST}"),
            {
                "Name": "CheckGates",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("accuracy"), "RightValue": 0.75},
                        {"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("auc"), "RightValue": 0.8},
                    ],
                    "IfSteps": [register],
                    "ElseSteps": [{"Name": "GateFailed", "Type": "Fail", "Arguments": {"ErrorMessage": "a gate failed"}}],
                },
            },
        ],
    }


def drift_definition() -> dict[str, Any]:
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [processing("DriftCheck", f"{ECR}/mlstack-drift{DIGEST}", "ml.m5.large")]}


class Graph:
    """Resource records in registration order, with helpers to change one field."""

    def __init__(self, env: str) -> None:
        self.env = env
        self.stack = f"churn-{env}"
        self.records: list[ResourceRecord] = []

    # -- building ---------------------------------------------------------------------------------

    def urn(self, name: str) -> str:
        return self.get(name).urn

    def add(
        self,
        type_: str,
        name: str,
        inputs: dict[str, Any] | None = None,
        *,
        parent: str | None = None,
        deps: dict[str, list[str]] | None = None,
        custom: bool = True,
    ) -> str:
        qualified = type_
        parent_urn = self.urn(parent) if parent else None
        if parent_urn:
            qualified = f"{parent_urn.split('::')[2]}${type_}"
        urn = f"urn:pulumi:{self.stack}::mlstack::{qualified}::{name}"
        property_dependencies = {k: [self.urn(n) for n in v] for k, v in (deps or {}).items()}
        dependencies = sorted({u for v in property_dependencies.values() for u in v})
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=type_,
                name=name,
                parent=parent_urn,
                dependencies=dependencies,
                custom=custom,
                inputs=copy.deepcopy(inputs or {}),
                property_dependencies=property_dependencies,
            )
        )
        return urn

    def component(self, type_: str, name: str) -> str:
        return self.add(type_, name, custom=False)

    # -- changing one field -------------------------------------------------------------------------

    def get(self, name: str) -> ResourceRecord:
        for record in self.records:
            if record.name == name:
                return record
        raise KeyError(name)

    def _walk(self, name: str, path: str | tuple[str, ...]) -> tuple[Any, Any]:
        """``path``: dotted (``a.b.0.c``), or a tuple where keys hold dots (``nvidia.com/gpu``)."""
        node: Any = self.get(name).inputs
        parts = path.split(".") if isinstance(path, str) else list(path)
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last = parts[-1]
        return node, int(last) if isinstance(node, list) else last

    def set(self, name: str, path: str | tuple[str, ...], value: Any) -> "Graph":
        node, key = self._walk(name, path)
        node[key] = value
        return self

    def drop(self, name: str, path: str | tuple[str, ...]) -> "Graph":
        node, key = self._walk(name, path)
        del node[key]
        return self

    def remove(self, name: str) -> "Graph":
        urn = self.urn(name)
        self.records = [r for r in self.records if r.urn != urn]
        for r in self.records:
            r.dependencies = [d for d in r.dependencies if d != urn]
            r.property_dependencies = {k: [d for d in v if d != urn] for k, v in r.property_dependencies.items()}
        return self

    def definition(self, name: str) -> dict[str, Any]:
        return json.loads(self.get(name).inputs["pipelineDefinition"])

    def set_definition(self, name: str, definition: dict[str, Any]) -> "Graph":
        self.get(name).inputs["pipelineDefinition"] = json.dumps(definition)
        return self

    # -- checking ---------------------------------------------------------------------------------

    def stack_config(self) -> dict[str, str]:
        return {
            "mlstack:team": "churn",
            "mlstack:environment": self.env,
            "mlstack:models": json.dumps([{"name": "churn-xgb", "gates": GATES}]),
        }

    def check(self, config: dict[str, Any] | None = None, *, stack_config: dict[str, str] | None = None, tagged: bool = True) -> Report:
        plan = Plan(project="mlstack", stack=self.stack, resources=self.records)
        return check_plan(
            plan,
            config=config,
            stack_tags=stack_tags_for(self.env, team="churn", stack=self.stack) if tagged else {},
            stack_config=self.stack_config() if stack_config is None else stack_config,
        )


def baseline(env: str = "prod") -> Graph:
    """A stack every policy passes, in ``env``."""
    g = Graph(env)
    model_tags = tags(env, model="churn-xgb")

    g.component("mlstack:index:ModelRegistry", "churn-xgb")
    g.add(
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "churn-xgb-group",
        {"modelPackageGroupName": "churn-churn-xgb", "tags": {**model_tags, "mlstack:approval-mode": "manual"}},
        parent="churn-xgb",
    )

    g.component("mlstack:index:TrainingPipeline", "churn-xgb-training")
    g.add("aws:kms/key:Key", "churn-xgb-training-key", {"enableKeyRotation": True, "tags": model_tags}, parent="churn-xgb-training")
    g.add("aws:s3/bucket:Bucket", "churn-xgb-training-artifacts", {"bucket": "churn-artifacts", "tags": model_tags}, parent="churn-xgb-training")
    g.add(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "churn-xgb-training-artifacts-encryption",
        {"bucket": "churn-artifacts", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
        parent="churn-xgb-training",
        deps={"bucket": ["churn-xgb-training-artifacts"], "rules": ["churn-xgb-training-key"]},
    )
    g.add(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "churn-xgb-training-artifacts-public-access",
        {"bucket": "churn-artifacts", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        parent="churn-xgb-training",
        deps={"bucket": ["churn-xgb-training-artifacts"]},
    )
    g.add(
        "aws:sagemaker/pipeline:Pipeline",
        "churn-xgb-training-pipeline",
        {
            "pipelineName": "churn-churn-xgb-training",
            "pipelineDefinition": json.dumps(training_definition()),
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-training",
            "tags": model_tags,
        },
        parent="churn-xgb-training",
        deps={"pipelineDefinition": ["churn-xgb-training-key", "churn-xgb-training-artifacts"]},
    )

    g.component("mlstack:index:FeatureStore", "feature-store")
    g.add(
        "aws:sagemaker/featureGroup:FeatureGroup",
        "feature-store-customers",
        {
            "featureGroupName": "churn-customers",
            "recordIdentifierFeatureName": "customer_id",
            "eventTimeFeatureName": "event_time",
            "onlineStoreConfig": {"enableOnlineStore": True, "securityConfig": {"kmsKeyId": KEY_ARN}},
            "offlineStoreConfig": {"s3StorageConfig": {"s3Uri": "s3://churn-offline/", "kmsKeyId": KEY_ARN}},
            "tags": tags(env),
        },
        parent="feature-store",
    )

    g.component("mlstack:index:Endpoint", "scoring")
    serving_tags = tags(env, model="churn-xgb", model_version="7", approval_status="Approved")
    g.add("aws:kms/key:Key", "scoring-key", {"enableKeyRotation": True, "tags": serving_tags}, parent="scoring")
    g.add(
        "aws:sagemaker/model:Model",
        "scoring-model",
        {
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/scoring",
            "primaryContainer": {"modelPackageName": PACKAGE_ARN},
            "enableNetworkIsolation": True,
            "vpcConfig": copy.deepcopy(VPC),
            "tags": serving_tags,
        },
        parent="scoring",
    )
    g.add(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "scoring-config",
        {
            # ml.g5.xlarge keeps its volume on local NVMe storage: no kmsKeyArn (SageMaker rejects one).
            "productionVariants": [
                {"variantName": "AllTraffic", "modelName": "scoring-model-1a2b3c4", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2, "initialVariantWeight": 1}
            ],
            "dataCaptureConfig": {
                "enableCapture": True,
                "initialSamplingPercentage": 20,
                "destinationS3Uri": "s3://scoring-data/datacapture",
                "kmsKeyId": KEY_ARN,
                "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
            },
            "tags": serving_tags,
        },
        parent="scoring",
        deps={"productionVariants": ["scoring-model"], "dataCaptureConfig": ["scoring-key"]},
    )
    dims = {"EndpointName": ENDPOINT_NAME, "VariantName": "AllTraffic"}
    for alarm, (metric, name) in {"scoring-errors": ("Invocation5XXErrors", ROLLBACK_ALARMS[0]), "scoring-latency": ("ModelLatency", ROLLBACK_ALARMS[1])}.items():
        g.add(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            alarm,
            {"name": name, "namespace": "AWS/SageMaker", "metricName": metric, "dimensions": dims, "period": 60, "evaluationPeriods": 3,
             "threshold": 1, "comparisonOperator": "GreaterThanThreshold", "tags": serving_tags},
            parent="scoring",
        )
    g.add(
        "aws:sagemaker/endpoint:Endpoint",
        "scoring-endpoint",
        {
            "name": ENDPOINT_NAME,
            "endpointConfigName": "scoring-config-5d41402",
            "deploymentConfig": {
                "blueGreenUpdatePolicy": {
                    "trafficRoutingConfiguration": {"type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}, "waitIntervalInSeconds": 900},
                    "terminationWaitInSeconds": 600,
                },
                "autoRollbackConfiguration": {"alarms": [{"alarmName": n} for n in ROLLBACK_ALARMS]},
            },
            "tags": serving_tags,
        },
        parent="scoring",
        deps={"endpointConfigName": ["scoring-config"], "deploymentConfig": ["scoring-errors", "scoring-latency"]},
    )
    g.add(
        "aws:appautoscaling/target:Target",
        "scoring-scaling",
        {"serviceNamespace": "sagemaker", "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
         "resourceId": f"endpoint/{ENDPOINT_NAME}/variant/AllTraffic", "minCapacity": 2, "maxCapacity": 4, "tags": serving_tags},
        parent="scoring",
        deps={"resourceId": ["scoring-endpoint"]},
    )

    g.component("mlstack:index:Monitor", "monitor")
    g.add("aws:kms/key:Key", "monitor-key", {"enableKeyRotation": True, "tags": model_tags}, parent="monitor")
    g.add("aws:sns/topic:Topic", "monitor-topic", {"kmsMasterKeyId": KEY_ARN, "tags": model_tags}, parent="monitor", deps={"kmsMasterKeyId": ["monitor-key"]})
    g.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "monitor-errors-5xx",
        {
            "name": f"churn-{env}-scoring-errors-5xx",
            "comparisonOperator": "GreaterThanThreshold",
            "threshold": 1,
            "evaluationPeriods": 5,
            "metricQueries": [
                {"id": "errors", "metric": {"metricName": "Invocation5XXErrors", "namespace": "AWS/SageMaker", "dimensions": dims, "period": 60, "stat": "Sum"}, "returnData": False},
                {"id": "invocations", "metric": {"metricName": "Invocations", "namespace": "AWS/SageMaker", "dimensions": dims, "period": 60, "stat": "Sum"}, "returnData": False},
                {"id": "rate", "expression": "IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)", "returnData": True},
            ],
            "alarmActions": ["arn:aws:sns:eu-west-1:210987654321:monitor-topic"],
            "tags": model_tags,
        },
        parent="monitor",
        deps={"alarmActions": ["monitor-topic"]},
    )
    g.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "monitor-drift-tenure",
        {
            "name": f"churn-{env}-scoring-drift-tenure",
            "namespace": "mlstack/Drift",
            "metricName": "PSI",
            "dimensions": {"EndpointName": ENDPOINT_NAME, "Feature": "tenure_months"},
            "statistic": "Maximum",
            "period": 3600,
            "evaluationPeriods": 1,
            "threshold": 0.2,
            "comparisonOperator": "GreaterThanThreshold",
            "tags": model_tags,
        },
        parent="monitor",
    )
    g.add(
        "aws:sagemaker/pipeline:Pipeline",
        "monitor-drift-pipeline",
        {"pipelineName": f"churn-{env}-scoring-drift", "pipelineDefinition": json.dumps(drift_definition()), "roleArn": f"arn:aws:iam::{ACCOUNT}:role/drift", "tags": model_tags},
        parent="monitor",
    )

    g.component("mlstack:index:InferenceService", "defects")
    g.add(
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        "defects-isvc",
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": "defects",
                "namespace": "churn",
                "labels": {"mlstack.dev/team": "churn", "mlstack.dev/environment": env, "mlstack.dev/model": "churn-xgb", "mlstack.dev/model-version": "7", "mlstack.dev/approval-status": "Approved"},
                "annotations": {"serving.kserve.io/deploymentMode": "Serverless", "mlstack.dev/git-commit": "4956606"},
            },
            "spec": {
                "predictor": {
                    "canaryTrafficPercent": 10,
                    "minReplicas": 1,
                    "maxReplicas": 2,
                    "logger": {"mode": "all", "url": "http://payload-logger.churn.svc.cluster.local"},
                    "model": {
                        "modelFormat": {"name": "pytorch"},
                        "storageUri": "s3://churn-models/churn-xgb/7/",
                        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}},
                    },
                }
            },
        },
        parent="defects",
    )
    # Its monitor: the error alert mlstack:monitors creates for a KServe endpoint.
    g.component("mlstack:index:PrometheusAlerts", "defects-alerts")
    selector = 'namespace_name="churn",service_name=~"defects-predictor(-default)?"'
    total = f"sum by (revision_name) (rate(revision_request_count{{{selector}}}[5m]))"
    g.add(
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        "defects-rules",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "defects-mlstack-alerts", "namespace": "churn", "labels": {"mlstack.dev/team": "churn", "mlstack.dev/environment": env}},
            "spec": {"groups": [{"name": f"mlstack.churn-{env}.defects", "rules": [{
                "alert": "MlstackInferenceErrors5xx",
                "expr": f'100 * sum by (revision_name) (rate(revision_request_count{{{selector},response_code_class="5xx"}}[5m])) / {total} > 1',
                "for": "3m",
                "labels": {"severity": "critical", "mlstack_alarm": "errors-5xx"},
            }]}]},
        },
        parent="defects-alerts",
    )
    add_audit_log(g)
    return g


AUDIT_BUCKET = "churn-prod-audit-210987654321-eu-west-1"


def add_audit_log(g: Graph) -> Graph:
    """The decision log mlstack:audit builds (mlstack.components.audit.AuditLog)."""
    audit_tags = {**tags(g.env), "mlstack:audit-log": "decisions"}
    g.component("mlstack:index:AuditLog", "audit")
    g.add("aws:kms/key:Key", "audit-key", {"enableKeyRotation": True, "tags": audit_tags}, parent="audit")
    g.add(
        "aws:kms/key:Key",
        "audit-signing-key",
        {"customerMasterKeySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY", "tags": audit_tags},
        parent="audit",
    )
    g.add("aws:s3/bucket:Bucket", "audit-records", {"bucket": AUDIT_BUCKET, "objectLockEnabled": True, "tags": audit_tags}, parent="audit")
    bucket = {"bucket": ["audit-records"]}
    g.add(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "audit-records-encryption",
        {"bucket": AUDIT_BUCKET, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
        parent="audit",
        deps=bucket,
    )
    g.add(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "audit-records-public-access",
        {"bucket": AUDIT_BUCKET, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        parent="audit",
        deps=bucket,
    )
    g.add("aws:s3/bucketVersioning:BucketVersioning", "audit-records-versioning", {"bucket": AUDIT_BUCKET, "versioningConfiguration": {"status": "Enabled"}}, parent="audit", deps=bucket)
    g.add(
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "audit-records-lock",
        {"bucket": AUDIT_BUCKET, "objectLockEnabled": "Enabled", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "years": 7}}},
        parent="audit",
        deps=bucket,
    )
    arn = f"arn:aws:s3:::{AUDIT_BUCKET}"
    g.add(
        "aws:s3/bucketPolicy:BucketPolicy",
        "audit-records-policy",
        {
            "bucket": AUDIT_BUCKET,
            "policy": policy_json(
                {"Sid": "DenyRecordDeletion", "Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": f"{arn}/*"}
            ),
        },
        parent="audit",
        deps=bucket,
    )
    return g


# --- IAM and resource policies ---------------------------------------------------------------------

READER = "345678901234"  # the declared cross-account reader of the registry
FOREIGN = "999988887777"  # an account the stack does not declare
TRAINING_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/churn-training"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:monitor-topic"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/churn-retrain"


def policy_json(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service: str, **condition: Any) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return policy_json(statement)


def source_account(account: str = ACCOUNT) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceAccount": account}}


def training_role_statements() -> list[dict[str, Any]]:
    """What mlstack's training role is allowed: exact ARNs, PassRole to SageMaker only."""
    return [
        {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::churn-artifacts/*"},
        {"Sid": "PipelineKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY_ARN},
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "JobMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}},
        {"Sid": "PassOwnRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": TRAINING_ROLE_ARN,
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
    ]  # fmt: skip


def monitor_key_statements() -> list[dict[str, Any]]:
    return [
        {"Sid": "AccountAdministersThroughIam", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublishToTopic", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}}},
        {"Sid": "CloudWatchLogsOfThisAccount", "Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}}},
    ]  # fmt: skip


class IamGraph(Graph):
    """A graph whose stack declares its account and a cross-account reader of its registry."""

    def stack_config(self) -> dict[str, str]:
        return {
            **super().stack_config(),
            "mlstack:accountId": ACCOUNT,
            "mlstack:registry": json.dumps({"approvalMode": "manual", "crossAccountReaders": [READER]}),
        }


def iam_baseline(env: str = "prod") -> IamGraph:
    """:func:`baseline` with the roles, policies, key policies, resource policies, stores and a
    notebook a stack has, all as they should be: every policy passes it."""
    g = baseline(env)
    g.__class__ = IamGraph
    assert isinstance(g, IamGraph)
    model_tags = tags(env, model="churn-xgb")

    g.add("aws:iam/role:Role", "training-role", {"assumeRolePolicy": trust("sagemaker.amazonaws.com", **source_account()), "tags": model_tags}, parent="churn-xgb-training")
    g.add(
        "aws:iam/rolePolicy:RolePolicy",
        "training-role-policy",
        {"role": "training-role-5f0c2a1", "policy": policy_json(*training_role_statements())},
        parent="churn-xgb-training",
        deps={"role": ["training-role"]},
    )
    g.add("aws:iam/role:Role", "baseline-fn-role", {"assumeRolePolicy": trust("lambda.amazonaws.com"), "tags": model_tags}, parent="churn-xgb-training")
    g.add(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "baseline-fn-logs",
        {"role": "baseline-fn-role-0d9e8f7", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
        parent="churn-xgb-training",
        deps={"role": ["baseline-fn-role"]},
    )
    g.add(
        "aws:lambda/permission:Permission",
        "baseline-fn-invoke",
        {"action": "lambda:InvokeFunction", "function": "churn-last-approved", "principal": "events.amazonaws.com", "sourceArn": RULE_ARN},
        parent="churn-xgb-training",
    )
    g.add(
        "aws:s3/bucketPolicy:BucketPolicy",
        "churn-xgb-training-artifacts-policy",
        {"bucket": "churn-artifacts", "policy": policy_json(
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::churn-artifacts", "arn:aws:s3:::churn-artifacts/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})},
        parent="churn-xgb-training",
        deps={"bucket": ["churn-xgb-training-artifacts"]},
    )  # fmt: skip
    g.add(
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        "churn-xgb-cross-account",
        {"modelPackageGroupName": "churn-churn-xgb", "resourcePolicy": policy_json(
            {"Sid": "ReadPackages", "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{READER}:root"]},
             "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
             "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn-churn-xgb/*"})},
        parent="churn-xgb",
        deps={"modelPackageGroupName": ["churn-xgb-group"]},
    )  # fmt: skip

    g.set("monitor-key", "policy", policy_json(*monitor_key_statements()))
    g.add("aws:iam/role:Role", "monitor-retrain-role", {"assumeRolePolicy": trust("events.amazonaws.com", StringEquals={"aws:SourceAccount": ACCOUNT}, ArnEquals={"aws:SourceArn": RULE_ARN}), "tags": model_tags}, parent="monitor")  # fmt: skip
    g.add(
        "aws:sns/topicPolicy:TopicPolicy",
        "monitor-topic-policy",
        {"arn": TOPIC_ARN, "policy": policy_json(
            {"Sid": "OwnerAccount", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["SNS:Publish", "SNS:Subscribe"], "Resource": TOPIC_ARN,
             "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}},
            {"Sid": "AlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": TOPIC_ARN,
             "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}}})},
        parent="monitor",
        deps={"arn": ["monitor-topic"]},
    )  # fmt: skip
    g.add("aws:cloudwatch/logGroup:LogGroup", "monitor-logs", {"name": "/mlstack/churn/drift", "kmsKeyId": KEY_ARN, "retentionInDays": 365, "tags": model_tags}, parent="monitor")  # fmt: skip
    g.add("aws:sqs/queue:Queue", "monitor-dead-letters", {"kmsMasterKeyId": KEY_ARN, "tags": model_tags}, parent="monitor")
    g.add(
        "aws:dynamodb/table:Table",
        "feature-store-index",
        {"hashKey": "id", "attributes": [{"name": "id", "type": "S"}], "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}, "tags": tags(env)},
        parent="feature-store",
    )
    g.add(
        "aws:sagemaker/notebookInstance:NotebookInstance",
        "feature-store-notebook",
        {"instanceType": "ml.t3.medium", "roleArn": TRAINING_ROLE_ARN, "directInternetAccess": "Disabled", "rootAccess": "Disabled",
         "subnetId": VPC["subnets"][0], "securityGroups": VPC["securityGroupIds"], "kmsKeyId": KEY_ARN, "tags": tags(env)},
        parent="feature-store",
    )  # fmt: skip
    return g


def statements_of(g: Graph, name: str, prop: str) -> list[dict[str, Any]]:
    return json.loads(g.get(name).inputs[prop])["Statement"]


def set_statements(g: Graph, name: str, prop: str, statements: list[dict[str, Any]]) -> Graph:
    g.get(name).inputs[prop] = policy_json(*statements)
    return g
