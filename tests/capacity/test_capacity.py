"""Capacity from a plan graph: autoscaling maximum, rollout extra fleets, schedules, concurrency."""

from __future__ import annotations

import json

import pytest

from mlstack.capacity import HOURS_PER_MONTH, Node, capacity_of, rollout_extra, runs_per_month

EP = "aws:sagemaker/endpoint:Endpoint"
CFG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
TARGET = "aws:appautoscaling/target:Target"


def endpoint(*, deployment=None, variants=None, shadow=None, scaling=None, name="churn-scoring"):
    config = {"productionVariants": variants or [{"variantName": "primary", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2}]}
    if shadow:
        config["shadowProductionVariants"] = shadow
    nodes = [
        Node(CFG, "cfg", "urn:cfg", "urn:comp", config),
        Node(EP, "ep", "urn:ep", "urn:comp", {"name": name, "endpointConfigName": "cfg-123", **({"deploymentConfig": deployment} if deployment else {})}, ("urn:cfg",)),
    ]
    for variant, (lo, hi) in (scaling or {}).items():
        nodes.append(Node(TARGET, f"t-{variant}", f"urn:t-{variant}", "urn:comp", {"serviceNamespace": "sagemaker", "resourceId": f"endpoint/{name}/variant/{variant}", "minCapacity": lo, "maxCapacity": hi}))
    return nodes


def test_endpoint_needs_its_autoscaling_maximum_and_a_whole_second_fleet_for_blue_green():
    canary = {"blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {"type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}}}}
    cap = capacity_of(endpoint(deployment=canary, scaling={"primary": (2, 6)}))
    [need] = cap.needs
    assert (need.instance_type, need.use, need.steady, need.during_rollout) == ("ml.g5.xlarge", "endpoint", 6, 12)
    assert need.quota_name == "ml.g5.xlarge for endpoint usage"
    assert cap.instance_hours("min") == 2 * HOURS_PER_MONTH and cap.instance_hours("max") == 6 * HOURS_PER_MONTH
    assert cap.gpu_hours("max") == 6 * HOURS_PER_MONTH  # one A10G per ml.g5.xlarge
    assert cap.peak_gpus() == 12 and cap.peak_gpus(during_rollout=False) == 6


def test_no_deployment_config_is_sagemakers_default_blue_green_all_at_once():
    cap = capacity_of(endpoint())
    assert cap.needs[0].during_rollout == 4
    assert "ALL_AT_ONCE" in cap.fleets[0].rollout_rule


@pytest.mark.parametrize(
    ("policy", "fleet", "extra"),
    [
        ({"maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 2}, "rollbackMaximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1}}, 10, 2),
        ({"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25}, "rollbackMaximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 10}}, 10, 3),
        # Without RollbackMaximumBatchSize a rollback brings the whole old fleet back at once.
        ({"maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1}}, 8, 8),
    ],
)
def test_rolling_update_adds_the_larger_of_its_batch_and_its_rollback_batch(policy, fleet, extra):
    assert rollout_extra({"rollingUpdatePolicy": policy}, fleet)[0] == extra


def test_shadow_variants_count_as_endpoint_instances_too():
    shadow = [{"variantName": "shadow", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 1}]
    cap = capacity_of(endpoint(shadow=shadow, scaling={"primary": (2, 4)}))
    [need] = cap.needs
    assert need.steady == 5 and need.during_rollout == 10


def test_serverless_variants_need_no_instances():
    cap = capacity_of(endpoint(variants=[{"variantName": "primary", "serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048}}]))
    assert cap.needs == [] and any("serverless" in n for n in cap.notes)


def pipeline(steps, name="churn-train"):
    return Node("aws:sagemaker/pipeline:Pipeline", "p", "urn:p", None, {"pipelineName": name, "pipelineDefinition": json.dumps({"Steps": steps})})


TRAIN = {
    "Name": "Train",
    "Type": "Training",
    "Arguments": {"ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2}, "StoppingCondition": {"MaxRuntimeInSeconds": 14400}},
}


def schedule(expression, target="arn:aws:sagemaker:eu-west-1:1:pipeline/churn-train", name="s"):
    return Node("aws:scheduler/schedule:Schedule", name, f"urn:{name}", None, {"scheduleExpression": expression, "target": {"arn": target}})


def test_scheduled_training_hours_are_frequency_times_max_runtime_times_instances():
    cap = capacity_of([pipeline([TRAIN]), schedule("cron(0 3 ? * MON *)")])
    [job] = cap.jobs
    assert job.use == "training" and job.concurrent_runs == 1
    assert job.runs_per_month == pytest.approx(365 / 12 / 7)
    assert cap.instance_hours("max") == pytest.approx(job.runs_per_month * 2 * 4)
    assert cap.gpu_hours("max") == pytest.approx(job.runs_per_month * 2 * 4)  # 1 GPU per ml.g5.2xlarge


def test_runs_that_overlap_and_event_triggers_multiply_the_peak_need():
    retrain = Node("aws:cloudwatch/eventTarget:EventTarget", "t", "urn:t", None, {"arn": "arn:aws:sagemaker:eu-west-1:1:pipeline/churn-train", "rule": "drift"})
    # a 4-hour run started every hour: 4 overlap, plus one started by the drift rule
    cap = capacity_of([pipeline([TRAIN]), schedule("rate(1 hour)"), retrain])
    [need] = cap.needs
    assert need.steady == 2 * 5
    assert cap.jobs[0].concurrent_runs == 5


def test_retraining_through_a_state_machine_counts_as_a_trigger_wherever_it_starts_the_pipeline():
    """A monitor retrains through its cooldown state machine; a start hidden in a Parallel branch
    or written with the Parameters (JSONPath) form counts the same as a direct EventBridge target."""
    start = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution", "End": True}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {**start, "Arguments": {"PipelineName": "arn:aws:sagemaker:eu-west-1:1:pipeline/churn-train"}}}},
        {"StartAt": "B", "States": {"B": {**start, "Parameters": {"PipelineName": "arn:aws:sagemaker:eu-west-1:1:pipeline/churn-train"}}}},
    ]}}}
    machine = Node("aws:sfn/stateMachine:StateMachine", "m", "urn:m", None, {"definition": json.dumps(definition)})
    cap = capacity_of([pipeline([TRAIN]), machine])
    assert cap.jobs[0].concurrent_runs == 2 and cap.needs[0].steady == 2 * 2
    assert capacity_of([pipeline([TRAIN]), Node("aws:sfn/stateMachine:StateMachine", "m", "urn:m", None, {"definition": "{"})]).jobs[0].concurrent_runs == 1


def test_spot_training_needs_the_spot_training_quota():
    spot = json.loads(json.dumps(TRAIN))
    spot["Arguments"]["EnableManagedSpotTraining"] = True
    cap = capacity_of([pipeline([spot])])
    assert cap.needs[0].use == "spot training"
    assert cap.needs[0].quota_name == "ml.g5.2xlarge for spot training job usage"
    assert cap.instance_hours("max") == 0  # started by hand only: no monthly hours


def test_monitoring_schedule_processing_job_is_counted():
    nodes = [
        Node("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "d", "urn:d", "urn:m", {"name": "dq", "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 2}}}),
        Node("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "s", "urn:s", "urn:m", {"monitoringScheduleConfig": {"monitoringJobDefinitionName": "dq", "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}}),
    ]
    cap = capacity_of(nodes)
    [job] = cap.jobs
    assert (job.use, job.instances, job.runs_per_month) == ("processing", 2, pytest.approx(HOURS_PER_MONTH))


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 hour)", 730),
        ("rate(30 minutes)", 1460),
        ("rate(2 days)", 730 / 48),
        ("cron(0 3 ? * MON *)", 365 / 12 / 7),
        ("cron(0,30 8-17 ? * MON-FRI *)", 20 * 5 * 365 / 12 / 7),
        ("cron(0 0 1 * ? *)", 1),
        ("cron(0/15 * * * ? *)", 4 * 24 * 365 / 12),
        ("at(2026-12-01T00:00:00)", 0),
    ],
)
def test_runs_per_month_of_schedule_expressions(expression, runs):
    assert runs_per_month(expression)[0] == pytest.approx(runs)


def test_unreadable_schedule_expression_is_refused():
    with pytest.raises(ValueError):
        runs_per_month("every day")


def test_kserve_replicas_count_gpus_on_their_node_type_and_a_second_revision_during_a_canary():
    isvc = Node(
        "kubernetes:serving.kserve.io/v1beta1:InferenceService", "defects", "urn:isvc", None,
        {"metadata": {"name": "defects"}, "spec": {"predictor": {
            "canaryTrafficPercent": 10, "minReplicas": 2, "maxReplicas": 8,
            "nodeSelector": {"node.kubernetes.io/instance-type": "g5.2xlarge"},
            "model": {"resources": {"limits": {"nvidia.com/gpu": "2"}}},
        }}},
    )
    cap = capacity_of([isvc])
    [need] = cap.needs
    assert (need.instance_type, need.use, need.steady, need.during_rollout, need.quota_name) == ("g5.2xlarge", "kubernetes", 8, 16, None)
    assert cap.gpu_hours("min") == 2 * 2 * HOURS_PER_MONTH and cap.peak_gpus() == 32


def test_parameterised_instance_types_use_the_parameters_defaults():
    step = {"Name": "Train", "Type": "Training", "Arguments": {
        "ResourceConfig": {"InstanceType": {"Get": "Parameters.TrainType"}, "InstanceCount": {"Get": "Parameters.TrainCount"}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}}
    params = [{"Name": "TrainType", "Type": "String", "DefaultValue": "ml.p4d.24xlarge"}, {"Name": "TrainCount", "Type": "Integer", "DefaultValue": 2}]
    node = Node("aws:sagemaker/pipeline:Pipeline", "p", "urn:p", None, {"pipelineName": "churn-train", "pipelineDefinition": json.dumps({"Parameters": params, "Steps": [step]})})
    [need] = capacity_of([node]).needs
    assert (need.instance_type, need.steady, need.devices_per_instance) == ("ml.p4d.24xlarge", 2, 8)


def test_heterogeneous_clusters_and_steps_inside_a_condition_are_counted():
    groups = {"Name": "Train", "Type": "Training", "Arguments": {"ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.2xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 4},
    ]}}}
    conditional = {"Name": "Check", "Type": "Condition", "Arguments": {"IfSteps": [{"Name": "Batch", "Type": "Transform", "Arguments": {
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3}}}], "ElseSteps": []}}
    cap = capacity_of([pipeline([groups, conditional])])
    assert {(n.instance_type, n.use, n.steady) for n in cap.needs} == {
        ("ml.g5.2xlarge", "training", 2), ("ml.c5.xlarge", "training", 4), ("ml.m5.xlarge", "transform", 3),
    }


def test_an_instance_type_computed_at_run_time_is_not_counted_and_says_so():
    step = {"Name": "Train", "Type": "Training", "Arguments": {"ResourceConfig": {"InstanceType": {"Get": "Steps.Pick.Outputs.type"}, "InstanceCount": 1}}}
    cap = capacity_of([pipeline([step])])
    assert cap.needs == [] and "computed at run time" in cap.uncounted[0]
