"""Endpoint (SageMaker): exact children, their security- and rollout-relevant inputs, the
metric helpers and grants, and every bad input rejected with exit code 2 and a clear message."""

from __future__ import annotations

import json
import re

import pytest

from mlstack.catalog import has_local_storage
from mlstack.components.endpoint import Endpoint, EndpointArgs
from mlstack.specs.endpoint import EndpointSpec
from mlstack.engine import run_program
from mlstack.lookups import OfflineAnswers

COMPONENT = "mlstack:index:Endpoint"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
TARGET = "aws:appautoscaling/target:Target"
SCALING = "aws:appautoscaling/policy:Policy"

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve@{DIGEST}"
ARTIFACTS = "s3://example-churn-models/churn-xgb/"


def endpoint(**changes):
    """A valid CPU endpoint on the baseline's model; tests change one thing at a time."""
    spec = {"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": ARTIFACTS, "instanceType": "ml.m5.large"}
    spec.update(changes)
    return spec


@pytest.fixture
def plan_endpoint(plan, write_stack):
    """plan_endpoint(changes, **stack_changes) -> (graph, the Endpoint component's record)."""

    def run(changes=None, **stack):
        config = {"mlstack:endpoints": [endpoint(**(changes or {}))]}
        config.update({k.replace("__", ":"): v for k, v in stack.items()})
        graph = plan(write_stack(config))
        return graph, graph.by_type(COMPONENT)[0]

    return run


def child(graph, component, type_):
    [record] = [r for r in graph.children(component.urn) if r.type == type_]
    return record


def policy_statements(graph, component):
    return {s["Sid"]: s for s in json.loads(child(graph, component, ROLE_POLICY).inputs["policy"])["Statement"]}


# ---- children ------------------------------------------------------------------------------


def test_creates_exactly_the_documented_children(plan_endpoint):
    graph, component = plan_endpoint()
    assert sorted((r.type, r.name) for r in graph.children(component.urn)) == sorted(
        [
            (KEY, "scoring-key"),
            (BUCKET, "scoring-data"),
            ("aws:s3/bucketVersioning:BucketVersioning", "scoring-data-versioning"),
            ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "scoring-data-encryption"),
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "scoring-data-public-access-block"),
            ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "scoring-data-ownership"),
            ("aws:s3/bucketPolicy:BucketPolicy", "scoring-data-policy"),
            ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "scoring-data-lifecycle"),
            (ROLE, "scoring-role"),
            (ROLE_POLICY, "scoring-role-policy"),
            (MODEL, "scoring-model"),
            (CONFIG, "scoring-config"),
            (ALARM, "scoring-errors"),
            (ALARM, "scoring-latency"),
            (ENDPOINT, "scoring-endpoint"),
        ]
    )


def test_endpoint_name_is_deterministic_and_config_is_autonamed(plan_endpoint):
    graph, component = plan_endpoint()
    assert child(graph, component, ENDPOINT).inputs["name"] == "churn-scoring"
    config = child(graph, component, CONFIG)
    assert "name" not in config.inputs and "namePrefix" not in config.inputs
    assert "name" not in child(graph, component, MODEL).inputs
    assert child(graph, component, ENDPOINT).inputs["endpointConfigName"].startswith("scoring-config-")


def test_every_child_carries_the_model_lineage(plan_endpoint):
    graph, component = plan_endpoint({"modelVersion": 3})
    for type_ in (ENDPOINT, CONFIG, MODEL, ALARM, ROLE, KEY, BUCKET):
        for record in (r for r in graph.children(component.urn) if r.type == type_):
            tags = record.inputs["tags"]
            assert tags["mlstack:model"] == "churn-xgb" and tags["mlstack:model-version"] == "3", record.name
            assert tags["mlstack:team"] == "churn" and tags["mlstack:dataset"] == "s3://example-churn-data/features/"


# ---- model source ------------------------------------------------------------------------


def test_latest_approved_version_comes_from_the_config_offline_and_is_recorded(plan_endpoint):
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/"}, "approvedVersion": 5}]
    graph, component = plan_endpoint(mlstack__models=models)
    model = child(graph, component, MODEL)
    assert model.inputs["primaryContainer"] == {"modelPackageName": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-churn-xgb/5"}
    assert model.inputs["enableNetworkIsolation"] is True
    assert child(graph, component, ENDPOINT).inputs["tags"]["mlstack:model-version"] == "5"
    assert graph.outputs["endpoints"]["scoring"]["modelVersion"] == 5


def test_latest_approved_defaults_to_version_1_offline(plan_endpoint):
    graph, component = plan_endpoint()
    assert child(graph, component, MODEL).inputs["primaryContainer"]["modelPackageName"].endswith("/churn-churn-xgb/1")


def test_pinned_version_is_served(plan_endpoint):
    graph, component = plan_endpoint({"modelVersion": 12})
    assert child(graph, component, MODEL).inputs["primaryContainer"]["modelPackageName"].endswith("/churn-churn-xgb/12")


def test_explicit_image_and_model_data_are_served_and_only_that_object_is_readable(plan_endpoint):
    url = "s3://example-churn-models/manual/model.tar.gz"
    graph, component = plan_endpoint({"modelDataUrl": url, "artifactsUri": None})
    assert child(graph, component, MODEL).inputs["primaryContainer"] == {"image": IMAGE, "modelDataUrl": url}
    assert policy_statements(graph, component)["ReadModelArtifacts"]["Resource"] == ["arn:aws:s3:::example-churn-models/manual/model.tar.gz"]
    assert "mlstack:model-version" not in child(graph, component, ENDPOINT).inputs["tags"]


def test_training_pipeline_supplies_the_image_repository_and_artifacts(plan):
    graph = plan("churn-prod")
    component = graph.by_type(COMPONENT)[0]
    statements = policy_statements(graph, component)
    assert statements["PullServingImage"]["Resource"] == ["arn:aws:ecr:eu-west-1:210987654321:repository/churn-xgb-serve"]
    pipeline = graph.by_type("mlstack:index:TrainingPipeline")[0]
    [bucket] = [r for r in graph.children(pipeline.urn) if r.type == BUCKET]
    [key] = [r for r in graph.children(pipeline.urn) if r.type == KEY]
    [read] = statements["ReadModelArtifacts"]["Resource"]
    assert re.fullmatch(r"arn:aws:s3:::churn-xgb-training-artifacts-[0-9a-f]{7}/\*", read)
    assert bucket.urn in child(graph, component, ROLE_POLICY).dependencies
    assert statements["DecryptModelArtifacts"]["Action"] == "kms:Decrypt"
    assert statements["DecryptModelArtifacts"]["Resource"].startswith("arn:aws:kms:eu-west-1:210987654321:key/")
    assert key.urn in child(graph, component, ROLE_POLICY).dependencies


# ---- security ------------------------------------------------------------------------------


def test_execution_role_is_scoped_to_exact_arns(plan_endpoint):
    graph, component = plan_endpoint()
    role = child(graph, component, ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                      "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]
    assert not role.inputs.get("managedPolicyArns")
    statements = policy_statements(graph, component)
    key_arn = child(graph, component, CONFIG).inputs["kmsKeyArn"]
    capture = child(graph, component, CONFIG).inputs["dataCaptureConfig"]["destinationS3Uri"]
    assert statements["PullServingImage"]["Resource"] == ["arn:aws:ecr:eu-west-1:123456789012:repository/churn-serve"]
    assert statements["ReadModelArtifacts"] == {"Sid": "ReadModelArtifacts", "Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": ["arn:aws:s3:::example-churn-models/churn-xgb/*"]}
    assert statements["WriteCaptureAndResults"]["Resource"] == [f"arn:aws:s3:::{capture[len('s3://'):]}/*"]
    assert statements["UseEndpointKey"]["Resource"] == key_arn
    assert statements["WriteEndpointLogs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/churn-scoring",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/churn-scoring:*",
    ]
    assert statements["ReadRollbackAlarms"]["Resource"] == [
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:churn-scoring-5xx-error-rate",
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:churn-scoring-p99-model-latency",
    ]
    # The only unscoped actions: ECR's token call (no resource exists) and metrics, pinned to a namespace.
    wildcard = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wildcard == {"EcrToken", "PublishEndpointMetrics"}
    assert statements["PublishEndpointMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}
    assert not any("*" in str(s["Action"]) for s in statements.values())


def test_data_capture_is_on_by_default_encrypted_and_private(plan_endpoint):
    graph, component = plan_endpoint()
    config = child(graph, component, CONFIG).inputs
    key_arn = config["kmsKeyArn"]
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 10
    assert capture["kmsKeyId"] == key_arn
    assert capture["captureOptions"] == [{"captureMode": "Input"}, {"captureMode": "Output"}]
    assert capture["captureContentTypeHeader"]["csvContentTypes"] == ["text/csv"]
    assert re.fullmatch(r"s3://scoring-data-[0-9a-f]{7}/datacapture", capture["destinationS3Uri"])
    assert graph.outputs["endpoints"]["scoring"]["dataCaptureUri"] == capture["destinationS3Uri"]
    encryption = child(graph, component, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    block = child(graph, component, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    tls = json.loads(child(graph, component, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"][0]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = child(graph, component, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"][0]
    assert lifecycle["expiration"] == {"days": 90} and lifecycle["filter"] == {"prefix": "datacapture/"}
    key = child(graph, component, KEY).inputs
    assert key["enableKeyRotation"] is True


def test_sampling_and_request_only_capture_are_configurable(plan_endpoint):
    graph, component = plan_endpoint({"dataCapture": {"samplingPercent": 100, "captureResponses": False}})
    capture = child(graph, component, CONFIG).inputs["dataCaptureConfig"]
    assert capture["initialSamplingPercentage"] == 100 and capture["captureOptions"] == [{"captureMode": "Input"}]


def test_capture_off_creates_no_bucket(plan_endpoint):
    graph, component = plan_endpoint({"dataCapture": {"enabled": False}})
    assert "dataCaptureConfig" not in child(graph, component, CONFIG).inputs
    assert not [r for r in graph.children(component.urn) if r.type.startswith("aws:s3/")]
    assert graph.outputs["endpoints"]["scoring"].get("dataCaptureUri") is None
    assert "WriteCaptureAndResults" not in policy_statements(graph, component)


def test_bring_your_own_key_and_capture_prefix(plan_endpoint):
    key = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    graph, component = plan_endpoint({"kmsKeyArn": key, "dataCapture": {"destination": "s3://central-capture/churn/"}})
    assert not [r for r in graph.children(component.urn) if r.type in (KEY, BUCKET)]
    config = child(graph, component, CONFIG).inputs
    assert config["kmsKeyArn"] == key and config["dataCaptureConfig"]["kmsKeyId"] == key
    assert config["dataCaptureConfig"]["destinationS3Uri"] == "s3://central-capture/churn/"
    assert policy_statements(graph, component)["WriteCaptureAndResults"]["Resource"] == ["arn:aws:s3:::central-capture/churn/*"]


def test_volume_key_is_left_out_on_instance_types_with_local_nvme_storage(plan_endpoint):
    assert has_local_storage("ml.g5.xlarge") and not has_local_storage("ml.m5.large")
    graph, component = plan_endpoint({"instanceType": "ml.g5.xlarge"})
    config = child(graph, component, CONFIG).inputs
    assert "kmsKeyArn" not in config  # CreateEndpointConfig fails with a key on hardware-encrypted NVMe
    assert config["dataCaptureConfig"]["kmsKeyId"].startswith("arn:aws:kms:")


# ---- rollout and rollback ------------------------------------------------------------------


def test_prod_canary_rolls_back_on_mlstack_alarms(plan):
    graph = plan("churn-prod")
    component = graph.by_type(COMPONENT)[0]
    assert child(graph, component, ENDPOINT).inputs["deploymentConfig"] == {
        "autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-scoring-5xx-error-rate"}, {"alarmName": "churn-scoring-p99-model-latency"}]},
        "blueGreenUpdatePolicy": {
            "terminationWaitInSeconds": 600,
            "trafficRoutingConfiguration": {"type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}, "waitIntervalInSeconds": 900},
            # The worst case (1200 s GPU start-up + 2 x 900 s + 600 s = 3600 s) just fits the provider's wait.
            "maximumExecutionTimeoutInSeconds": 3600,
        },
    }
    variant = child(graph, component, CONFIG).inputs["productionVariants"][0]
    assert variant == {"variantName": "primary", "modelName": variant["modelName"], "instanceType": "ml.g5.xlarge",
                       "initialInstanceCount": 2, "initialVariantWeight": 1}


def test_rollback_alarms_watch_the_error_rate_and_latency_in_microseconds(plan_endpoint):
    graph, component = plan_endpoint({"rollout": {"maxErrorRatePercent": 2, "maxLatencyMs": 300, "latencyStatistic": "p90"}})
    alarms = {r.name: r.inputs for r in graph.children(component.urn) if r.type == ALARM}
    dims = {"EndpointName": "churn-scoring", "VariantName": "primary"}
    errors, latency = alarms["scoring-errors"], alarms["scoring-latency"]
    assert (errors["name"], errors["namespace"], errors["metricName"], errors["statistic"], errors["threshold"], errors["dimensions"]) == (
        "churn-scoring-5xx-error-rate", "AWS/SageMaker", "Invocation5XXErrors", "Average", 0.02, dims)
    assert (latency["name"], latency["metricName"], latency["extendedStatistic"], latency["threshold"], latency["dimensions"]) == (
        "churn-scoring-p90-model-latency", "ModelLatency", "p90", 300_000, dims)
    for alarm in (errors, latency):
        assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["treatMissingData"] == "notBreaching"


def test_user_alarms_join_the_rollback_configuration(plan_endpoint):
    graph, component = plan_endpoint({"rollout": {"alarms": ["churn-business-kpi", "churn-p50-latency"]}})
    config = child(graph, component, ENDPOINT).inputs["deploymentConfig"]
    assert [a["alarmName"] for a in config["autoRollbackConfiguration"]["alarms"]] == [
        "churn-scoring-5xx-error-rate", "churn-scoring-p99-model-latency", "churn-business-kpi", "churn-p50-latency"]
    assert len(policy_statements(graph, component)["ReadRollbackAlarms"]["Resource"]) == 4


def test_all_at_once_is_the_default_with_a_bake_time(plan_endpoint):
    graph, component = plan_endpoint()
    policy = child(graph, component, ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 300}
    assert policy["maximumExecutionTimeoutInSeconds"] == 3600  # SageMaker stops a hung rollout when the provider stops waiting


def test_linear_rollout_by_instance_count(plan_endpoint):
    graph, component = plan_endpoint({"instanceCount": 4, "rollout": {"type": "LINEAR", "size": {"type": "INSTANCE_COUNT", "value": 1}, "waitIntervalSeconds": 120}})
    policy = child(graph, component, ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {"type": "LINEAR", "linearStepSize": {"type": "INSTANCE_COUNT", "value": 1}, "waitIntervalInSeconds": 120}


def test_rolling_update_policy(plan_endpoint):
    graph, component = plan_endpoint({"instanceCount": 4, "rollout": {"type": "ROLLING", "maximumExecutionTimeoutSeconds": 3600}})
    config = child(graph, component, ENDPOINT).inputs["deploymentConfig"]
    assert "blueGreenUpdatePolicy" not in config
    assert config["rollingUpdatePolicy"] == {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25}, "waitIntervalInSeconds": 300,
                                             "maximumExecutionTimeoutInSeconds": 3600}
    assert len(config["autoRollbackConfiguration"]["alarms"]) == 2


# ---- capacity --------------------------------------------------------------------------------


def test_autoscaling_tracks_invocations_and_per_gpu_utilization(plan_endpoint):
    graph, component = plan_endpoint({"instanceType": "ml.g5.12xlarge", "instanceCount": 2, "gpus": 4,
                                      "autoscaling": {"minCapacity": 2, "maxCapacity": 5, "targetInvocationsPerInstance": 300, "targetGpuUtilizationPercent": 70}})
    target = child(graph, component, TARGET).inputs
    assert (target["resourceId"], target["scalableDimension"], target["minCapacity"], target["maxCapacity"]) == (
        "endpoint/churn-scoring/variant/primary", "sagemaker:variant:DesiredInstanceCount", 2, 5)
    assert target["tags"]["mlstack:team"] == "churn"
    policies = {r.name: r.inputs["targetTrackingScalingPolicyConfiguration"] for r in graph.children(component.urn) if r.type == SCALING}
    assert policies["scoring-scaling-invocations"]["targetValue"] == 300
    assert policies["scoring-scaling-invocations"]["predefinedMetricSpecification"] == {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    gpu = policies["scoring-scaling-gpu"]
    assert gpu["targetValue"] == 280  # 70% of each of 4 GPUs: GPUUtilization sums over the instance's GPUs
    assert gpu["customizedMetricSpecification"]["namespace"] == "/aws/sagemaker/Endpoints"
    assert gpu["customizedMetricSpecification"]["metricName"] == "GPUUtilization"


def test_shadow_variant_mirrors_a_share_of_requests_to_a_challenger(plan_endpoint):
    graph, component = plan_endpoint({"modelVersion": 7, "shadow": {"modelVersion": 8, "samplingPercent": 50}})
    models = {r.name: r.inputs for r in graph.children(component.urn) if r.type == MODEL}
    assert models["scoring-shadow-model"]["primaryContainer"]["modelPackageName"].endswith("/churn-churn-xgb/8")
    config = child(graph, component, CONFIG).inputs
    assert config["shadowProductionVariants"] == [{"variantName": "shadow", "modelName": config["shadowProductionVariants"][0]["modelName"],
                                                   "instanceType": "ml.m5.large", "initialInstanceCount": 1, "initialVariantWeight": 0.5}]
    assert graph.outputs["endpoints"]["scoring"]["variantNames"] == ["primary"]


def test_serverless_variant(plan_endpoint):
    graph, component = plan_endpoint({"instanceType": None, "dataCapture": {"enabled": False},
                                      "serverless": {"memorySizeMb": 2048, "maxConcurrency": 10}})
    [variant] = child(graph, component, CONFIG).inputs["productionVariants"]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 10}
    assert "instanceType" not in variant
    assert "kmsKeyArn" not in child(graph, component, CONFIG).inputs


def test_async_inference_writes_encrypted_results_to_the_endpoint_bucket(plan_endpoint):
    graph, component = plan_endpoint({"asyncInference": {"maxConcurrentInvocationsPerInstance": 4}})
    config = child(graph, component, CONFIG).inputs
    output = config["asyncInferenceConfig"]["outputConfig"]
    assert output["kmsKeyId"] == config["kmsKeyArn"]
    assert output["s3OutputPath"].endswith("/async-output") and output["s3FailurePath"].endswith("/async-failures")
    assert config["asyncInferenceConfig"]["clientConfig"] == {"maxConcurrentInvocationsPerInstance": 4}
    assert len(policy_statements(graph, component)["WriteCaptureAndResults"]["Resource"]) == 3


def test_outputs_for_day_2_commands(plan_endpoint):
    graph, _ = plan_endpoint()
    out = graph.outputs["endpoints"]["scoring"]
    assert out["endpointName"] == "churn-scoring" and out["backend"] == "sagemaker"
    assert out["arn"] == "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn-scoring"
    assert out["endpointConfigName"].startswith("scoring-config-")
    assert out["alarmNames"] == ["churn-scoring-5xx-error-rate", "churn-scoring-p99-model-latency"]


# ---- the component in Python: metrics and grants ------------------------------------------


def run_component(extra=None, **spec_changes):
    holder = {}

    def program():
        import pulumi_aws as aws

        spec = EndpointSpec.model_validate(endpoint(**spec_changes))
        holder["endpoint"] = ep = Endpoint("scoring", EndpointArgs(
            spec=spec, endpoint_name="churn-scoring",
            model_package_arn="arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/3",
            model_version=3, tags={"mlstack:team": "churn"}))
        if extra:
            extra(aws, ep)

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))
    return graph, holder["endpoint"]


def test_metric_helpers_are_alarm_keyword_arguments():
    def alarms(aws, ep):
        aws.cloudwatch.MetricAlarm("p99", threshold=250_000, comparison_operator="GreaterThanThreshold", evaluation_periods=3, **ep.metric_model_latency())
        aws.cloudwatch.MetricAlarm("gpu", threshold=90, comparison_operator="GreaterThanThreshold", evaluation_periods=3, **ep.metric_gpu_utilization())

    graph, ep = run_component(alarms, instanceType="ml.g5.xlarge")
    dims = {"EndpointName": "churn-scoring", "VariantName": "primary"}
    assert ep.metric_5xx_errors() == {"namespace": "AWS/SageMaker", "metric_name": "Invocation5XXErrors", "dimensions": dims, "statistic": "Sum", "period": 60}
    assert ep.metric_4xx_errors(statistic="Average")["statistic"] == "Average"
    assert ep.metric_invocations()["metric_name"] == "Invocations"
    assert ep.metric("ModelLatency", statistic="p99.9", variant="shadow")["dimensions"]["VariantName"] == "shadow"
    recorded = {r.name: r.inputs for r in graph.by_type(ALARM)}
    assert recorded["p99"]["extendedStatistic"] == "p99" and recorded["p99"]["metricName"] == "ModelLatency" and recorded["p99"]["dimensions"] == dims
    assert recorded["gpu"]["namespace"] == "/aws/sagemaker/Endpoints" and recorded["gpu"]["statistic"] == "Average"
    assert ep.metric_gpu_memory_utilization()["metric_name"] == "GPUMemoryUtilization"
    assert (ep.is_gpu, ep.instance_type, ep.variant_names, ep.model_name) == (True, "ml.g5.xlarge", ["primary"], "churn-xgb")


def test_grant_invoke_allows_exactly_this_endpoint():
    def grant(aws, ep):
        role = aws.iam.Role("caller", assume_role_policy="{}")
        ep.grant_invoke(role)

    graph, _ = run_component(grant)
    [policy] = [r for r in graph.by_type(ROLE_POLICY) if r.name == "scoring-invoke-caller"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "InvokeEndpoint", "Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"],
         "Resource": "arn:aws:sagemaker:eu-west-1:210987654321:endpoint/churn-scoring"}]
    assert policy.inputs["role"].startswith("caller-")


def test_component_refuses_a_variant_rename_against_the_deployed_endpoint():
    spec = EndpointSpec.model_validate(endpoint())

    def program():
        Endpoint("scoring", EndpointArgs(spec=spec, endpoint_name="churn-scoring", model_package_arn="arn:x", deployed_variants=["AllTraffic"]))

    with pytest.raises(Exception, match="SageMaker skips the rollout and rollback settings when variant names change"):
        run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers())


def test_deployed_variants_are_read_from_sagemaker_in_a_real_deployment(aws_session):
    from mlstack.lookups import deployed_variant_names

    sagemaker = aws_session.client("sagemaker")
    assert deployed_variant_names("churn-scoring", client=sagemaker) == ()
    sagemaker.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                           PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="churn-scoring", EndpointConfigName="c")
    assert deployed_variant_names("churn-scoring", client=sagemaker) == ("AllTraffic",)


def test_the_stack_program_stops_a_rename_the_live_endpoint_would_ignore(plan, write_stack, monkeypatch):
    from mlstack import lookups

    # What `pulumi up` asks SageMaker: here the live endpoint runs variant AllTraffic.
    monkeypatch.setattr(lookups, "deployed_variant_names", lambda name, **_: ("AllTraffic",) if name == "churn-scoring" else ())
    with pytest.raises(Exception) as caught:
        plan(write_stack({"mlstack:endpoints": [endpoint()]}))
    assert "mlstack:endpoints[0].variantName" in str(caught.value) and "keep variantName: AllTraffic" in str(caught.value)


def test_instance_types_are_read_from_sagemaker_in_a_real_deployment(aws_session):
    from mlstack.lookups import deployed_instance_types

    sagemaker = aws_session.client("sagemaker")
    assert deployed_instance_types("churn-scoring", client=sagemaker) == {}
    sagemaker.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                           PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "primary", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.g4dn.xlarge"}])
    sagemaker.create_endpoint(EndpointName="churn-scoring", EndpointConfigName="c")
    assert deployed_instance_types("churn-scoring", client=sagemaker) == {"primary": "ml.g4dn.xlarge"}


def test_the_stack_program_stops_an_instance_type_change_on_an_autoscaled_variant(plan, write_stack, monkeypatch):
    from mlstack import lookups

    # What `pulumi up` asks SageMaker: the live variant runs another type than the stack declares.
    monkeypatch.setattr(lookups, "deployed_instance_types", lambda name, **_: {"primary": "ml.m5.xlarge"})
    scaled = endpoint(instanceCount=1, autoscaling={"minCapacity": 1, "maxCapacity": 3, "targetInvocationsPerInstance": 100})
    with pytest.raises(Exception) as caught:
        plan(write_stack({"mlstack:endpoints": [scaled]}))
    message = str(caught.value)
    assert "mlstack:endpoints[0].instanceType" in message
    assert "from ml.m5.xlarge to ml.m5.large" in message and "deploy once without autoscaling" in message
    # Same type, or no autoscaling: SageMaker accepts the update.
    monkeypatch.setattr(lookups, "deployed_instance_types", lambda name, **_: {"primary": "ml.m5.large"})
    assert plan(write_stack({"mlstack:endpoints": [scaled]})).by_type("aws:sagemaker/endpoint:Endpoint")
    monkeypatch.setattr(lookups, "deployed_instance_types", lambda name, **_: {"primary": "ml.m5.xlarge"})
    assert plan(write_stack({"mlstack:endpoints": [endpoint()]})).by_type("aws:sagemaker/endpoint:Endpoint")


# ---- bad input: exit code 2 with the key path and the fix -------------------------------------


BAD_SAGEMAKER = [
    ("instance type for training only", {"instanceType": "ml.p3dn.24xlarge"}, "endpoints[0].instanceType", "training instance type but not an endpoint instance type"),
    ("instance type typo", {"instanceType": "ml.g5.xlarg"}, "endpoints[0].instanceType", "did you mean ml.g5.xlarge?"),
    ("unknown backend", {"backend": "sagemkaer"}, "endpoints[0].backend", "'sagemaker' or 'kserve'"),
    ("gpus on a cpu type", {"gpus": 1}, "endpoints[0].gpus", "ml.m5.large is a CPU instance type"),
    ("more gpus than the type has", {"instanceType": "ml.g5.xlarge", "gpus": 2}, "endpoints[0].gpus", "ml.g5.xlarge has 1"),
    ("canary on one instance", {"rollout": {"type": "CANARY"}}, "endpoints[0].instanceCount", "needs at least 2 instances"),
    ("canary by count needs more instances", {"instanceCount": 3, "rollout": {"type": "CANARY", "size": {"type": "INSTANCE_COUNT", "value": 2}}},
     "endpoints[0].instanceCount", "a canary of 2 instance(s) needs at least 4 instances"),
    ("canary too large", {"instanceCount": 2, "rollout": {"type": "CANARY", "size": {"value": 60}}}, "endpoints[0].rollout.size.value", "1-50% of capacity (got 60%)"),
    ("canary against autoscaling's minimum", {"instanceCount": 2, "rollout": {"type": "CANARY"},
                                             "autoscaling": {"minCapacity": 1, "maxCapacity": 4, "targetInvocationsPerInstance": 100}},
     "endpoints[0].autoscaling.minCapacity", "autoscaling.minCapacity 1"),
    ("linear step too small", {"instanceCount": 2, "rollout": {"type": "LINEAR", "size": {"value": 5}}}, "endpoints[0].rollout.size.value", "10-50%"),
    ("more than 10 rollback alarms", {"rollout": {"alarms": [f"a{i}" for i in range(9)]}}, "endpoints[0].rollout.alarms", "list at most 8 (got 9)"),
    ("wait interval above an hour", {"rollout": {"waitIntervalSeconds": 7200}}, "endpoints[0].rollout.waitIntervalSeconds", "between 0 and 3600 seconds (got 7200)"),
    ("negative termination wait", {"rollout": {"terminationWaitSeconds": -1}}, "endpoints[0].rollout.terminationWaitSeconds", "between 0 and 3600"),
    ("timeout shorter than the waits", {"instanceCount": 2, "rollout": {"type": "CANARY", "waitIntervalSeconds": 600, "maximumExecutionTimeoutSeconds": 900}},
     "endpoints[0].rollout.maximumExecutionTimeoutSeconds", "does not cover the rollout's waits"),
    ("timeout beyond the provider's wait", {"rollout": {"maximumExecutionTimeoutSeconds": 7200}}, "endpoints[0].rollout.maximumExecutionTimeoutSeconds",
     "the AWS provider stops waiting for an endpoint update after 3600"),
    ("rollout longer than the provider waits", {"instanceCount": 2, "rollout": {"type": "LINEAR", "size": {"value": 10}, "waitIntervalSeconds": 600}},
     "endpoints[0].rollout", "takes up to 6600 s (110 min)"),
    ("termination wait on a rolling update", {"instanceCount": 4, "rollout": {"type": "ROLLING", "terminationWaitSeconds": 60}},
     "endpoints[0].rollout.terminationWaitSeconds", "keeps no old fleet"),
    ("variant renamed against the deployed endpoint", {"deployedVariants": ["AllTraffic"]}, "endpoints[0].variantName",
     "would replace the deployed variant(s) 'AllTraffic'"),
    ("canary on inf1", {"instanceType": "ml.inf1.2xlarge", "instanceCount": 2, "rollout": {"type": "CANARY"}}, "endpoints[0].rollout.type",
     "not supported on Inf1 instances"),
    ("rolling on serverless", {"instanceType": None, "dataCapture": {"enabled": False}, "serverless": {"memorySizeMb": 2048, "maxConcurrency": 5},
                               "rollout": {"type": "ROLLING"}}, "endpoints[0].rollout.type", "ROLLING is not supported for serverless"),
    ("rolling with a shadow", {"instanceCount": 4, "shadow": {"modelVersion": 2}, "rollout": {"type": "ROLLING"}}, "endpoints[0].rollout.type",
     "several variants"),
    ("serverless with data capture", {"instanceType": None, "serverless": {"memorySizeMb": 2048, "maxConcurrency": 5}},
     "endpoints[0].dataCapture.enabled", "serverless endpoints cannot capture data"),
    ("serverless memory not a step", {"instanceType": None, "serverless": {"memorySizeMb": 1500, "maxConcurrency": 5}},
     "endpoints[0].serverless.memorySizeMb", "1024"),
    ("no instance type", {"instanceType": None}, "endpoints[0].instanceType", "needs an instanceType"),
    ("image not in ecr", {"image": "docker.io/library/python:3.12"}, "endpoints[0].image", "not an ECR image URI"),
    ("kserve settings on sagemaker", {"kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/x/"}}, "endpoints[0].kserve",
     "need backend: kserve"),
    ("gpu autoscaling on cpu", {"instanceCount": 2, "autoscaling": {"minCapacity": 2, "maxCapacity": 3, "targetInvocationsPerInstance": 10,
                                                                  "targetGpuUtilizationPercent": 50}},
     "endpoints[0].autoscaling.targetGpuUtilizationPercent", "has no GPUs"),
    ("model not declared", {"model": "churn-lgbm"}, "endpoints[0].model", "'churn-lgbm' is not in mlstack:models"),
    ("registry model without image", {"image": None}, "endpoints[0].image", "no training pipeline"),
]


@pytest.mark.parametrize("changes, key, phrase", [c[1:] for c in BAD_SAGEMAKER], ids=[c[0] for c in BAD_SAGEMAKER])
def test_bad_sagemaker_input_exits_2_with_a_clear_message(cli, write_stack, changes, key, phrase):
    path = write_stack({"mlstack:endpoints": [endpoint(**changes)]})
    code, out, err = cli("plan", str(path))
    assert code == 2, out + err
    assert "Traceback" not in err
    [line] = [l for l in err.splitlines() if f"mlstack:{key}:" in l]
    assert phrase in line, err
    assert f"{path.name}:" in line  # file (and line) of the key


def test_every_problem_is_reported_at_once(cli, write_stack):
    path = write_stack({"mlstack:endpoints": [endpoint(gpus=1, rollout={"type": "CANARY", "waitIntervalSeconds": 5000})]})
    code, _, err = cli("plan", str(path))
    assert code == 2
    assert "mlstack:endpoints[0].rollout.waitIntervalSeconds" in err


def test_cross_field_problems_each_get_their_own_key_and_line(cli, write_stack):
    path = write_stack({"mlstack:endpoints": [endpoint(gpus=1, rollout={"type": "CANARY", "alarms": [f"a{i}" for i in range(9)]})]})
    code, _, err = cli("plan", str(path))
    assert code == 2
    assert "3 problems" in err
    keys = [l.split(": ")[1] for l in err.splitlines()[1:]]
    assert sorted(keys) == ["mlstack:endpoints[0].gpus", "mlstack:endpoints[0].instanceCount", "mlstack:endpoints[0].rollout.alarms"]


def test_duplicate_endpoint_names_are_rejected(cli, write_stack):
    path = write_stack({"mlstack:endpoints": [endpoint(), endpoint()]})
    code, _, err = cli("plan", str(path))
    assert code == 2 and "mlstack:endpoints[1].name: endpoint 'scoring' is declared more than once" in err


# ---- the registry and the pipeline are passed as objects ----------------------------------------


def _with_objects(spec_changes=None, **args):
    """Plan an Endpoint built in Python from a ModelRegistry and a TrainingPipeline-like object."""
    from mlstack.components import ModelRegistry, ModelRegistryArgs

    holder = {}

    class Pipeline:  # the TrainingPipeline contract an Endpoint reads
        def __init__(self, aws):
            self.artifacts_bucket_arn = aws.s3.Bucket("artifacts").arn
            self.artifacts_bucket_arn.apply(lambda arn: holder.setdefault("artifacts", arn))
            self.key_arn = "arn:aws:kms:eu-west-1:210987654321:key/pipeline"
            self.serving_image = IMAGE

    def program():
        import pulumi_aws as aws

        registry = ModelRegistry("churn-xgb", ModelRegistryArgs(group_name="churn-churn-xgb"))
        spec = EndpointSpec.model_validate({k: v for k, v in endpoint(**(spec_changes or {})).items() if k not in ("image", "artifactsUri")})
        holder["endpoint"] = Endpoint("scoring", EndpointArgs(spec=spec, endpoint_name="churn-scoring", registry=registry,
                                                             pipeline=Pipeline(aws), **args))

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))
    return graph, graph.by_type(COMPONENT)[0], holder


def test_serves_the_version_of_the_registry_object_and_reads_the_pipelines_artifacts():
    graph, component, made = _with_objects(model_version=7)
    model = child(graph, component, MODEL)
    assert model.inputs["primaryContainer"] == {"modelPackageName": "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/7"}
    statements = policy_statements(graph, component)
    assert made["artifacts"].startswith("arn:aws:s3:::artifacts")
    assert statements["ReadModelArtifacts"]["Resource"] == [made["artifacts"] + "/*"]
    assert statements["DecryptModelArtifacts"]["Resource"] == "arn:aws:kms:eu-west-1:210987654321:key/pipeline"
    assert statements["PullServingImage"]["Resource"] == ["arn:aws:ecr:eu-west-1:123456789012:repository/churn-serve"]


def test_a_version_pinned_in_the_spec_is_served_without_model_version():
    graph, component, _ = _with_objects({"modelVersion": 4})
    assert child(graph, component, MODEL).inputs["primaryContainer"]["modelPackageName"].endswith("/churn-churn-xgb/4")


@pytest.mark.parametrize(
    "args, argument, phrase",
    [
        ({}, "model_version", "which the stack program resolves at deploy time"),
        ({"model_version": 3, "model_package_arn": "arn:aws:sagemaker:eu-west-1:1:model-package/g/3"}, "model_package_arn", "pass registry or model_package_arn, not both"),
        ({"model_version": 3, "serving_image": IMAGE}, "serving_image", "pass pipeline or serving_image, not both"),
    ],
)
def test_objects_and_their_bring_your_own_arns_are_checked(args, argument, phrase):
    from mlstack.components import ComponentError

    with pytest.raises(ComponentError) as refused:
        _with_objects(**args)
    assert (refused.value.component, refused.value.name) == ("Endpoint", "scoring")
    assert [p.argument for p in refused.value.problems] == [argument]
    assert phrase in str(refused.value)


def test_a_vpc_endpoint_may_manage_network_interfaces_in_its_subnets_only(plan_endpoint):
    graph, component = plan_endpoint({"vpc": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}}, mlstack__accountId="210987654321")
    statements = policy_statements(graph, component)
    ec2 = "arn:aws:ec2:eu-west-1:210987654321"
    assert statements["EndpointNetworkInterfaces"] == {
        "Sid": "EndpointNetworkInterfaces", "Effect": "Allow",
        "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
        "Resource": [f"{ec2}:network-interface/*", f"{ec2}:subnet/subnet-0a1b2c3d", f"{ec2}:security-group/sg-0a1b2c3d"],
    }  # fmt: skip
    assert statements["DescribeVpc"]["Resource"] == "*" and all(a.startswith("ec2:Describe") for a in statements["DescribeVpc"]["Action"])
    model = child(graph, component, MODEL)
    assert model.inputs["vpcConfig"] == {"subnets": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}
