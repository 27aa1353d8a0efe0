"""Monitor: alarms, notifications, drift (job and Model Monitor), retraining, composite alarm, dashboard.

Component tests run the Monitor against doubles of the Endpoint and TrainingPipeline contracts
(tests/monitor_doubles.py) and assert on what was registered; stack tests plan the bundled
stacks and run the CLI.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from mlstack.components import ComponentError, Monitor, MonitorArgs
from mlstack.specs.monitor import MonitorSpec
from mlstack.engine import run_program
from mlstack.lineage import REQUIRED_KEYS
from mlstack.lookups import OfflineAnswers
from monitor_doubles import EndpointDouble, PipelineDouble

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY = "aws:kms/key:Key"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
DQ_JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
MON_SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"

ACCOUNT, REGION = "210987654321", "eu-west-1"
PREFIX = "churn-prod-churn-xgb"
ENDPOINT = "churn-churn-xgb"  # the SageMaker endpoint's physical name in the doubles
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlstack@sha256:" + "ab" * 32
TAGS = {"mlstack:team": "churn", "mlstack:environment": "prod", "mlstack:stack": "churn-prod", "mlstack:git-commit": "abc", "owner": "o"}
JOB_DRIFT = {
    "features": ["tenure", "monthly_charges", "contract"],
    "categorical": ["contract"],
    "baseline_uri": "s3://churn-data/baselines/v3/baseline.csv",
    "image": IMAGE,
    "feature_thresholds": {"monthly_charges": {"threshold": 0.1, "kl": 0.05}},
    "features_drifted_threshold": 2,
    "report_uri": "s3://churn-data/drift-reports/",
}


def build(endpoint: dict | None = None, pipeline: bool = False, **settings: Any):
    """Plan a Monitor of an EndpointDouble(**endpoint) (doubles hold Outputs, so they are made in the program)."""
    holder: dict[str, Monitor] = {}

    def program() -> None:
        double = EndpointDouble(**{"physical_name": ENDPOINT, **(endpoint or {})})
        retrain_pipeline = PipelineDouble() if pipeline else None
        holder["monitor"] = Monitor(
            "churn-xgb",
            MonitorArgs(endpoint=double, retrain_pipeline=retrain_pipeline, alarm_prefix=PREFIX, environment="prod", tags=TAGS, **settings),
        )

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id=ACCOUNT, region=REGION))
    return graph, holder["monitor"]


def alarm(graph, key: str) -> dict:
    matches = [r for r in graph.by_type(ALARM) if r.inputs["name"] == f"{PREFIX}-{key}"]
    assert len(matches) == 1, [r.inputs["name"] for r in graph.by_type(ALARM)]
    return matches[0].inputs


def alarm_keys(graph) -> list[str]:
    return sorted(r.inputs["name"][len(PREFIX) + 1 :] for r in graph.by_type(ALARM))


def policy(graph, name: str) -> dict:
    return json.loads(next(r for r in graph.by_type(ROLE_POLICY) if r.name == name).inputs["policy"])


# -- operational alarms -----------------------------------------------------------------------------


def test_error_rate_alarms_divide_errors_by_invocations_of_the_production_variant():
    graph, _ = build()
    five = alarm(graph, "errors-5xx")
    dims = {"EndpointName": ENDPOINT, "VariantName": "AllTraffic"}
    assert five["metricQueries"] == [
        {"id": "errors", "returnData": False, "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocation5XXErrors", "dimensions": dims, "period": 60, "stat": "Sum"}},
        {"id": "invocations", "returnData": False, "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocations", "dimensions": dims, "period": 60, "stat": "Sum"}},
        {"id": "rate", "returnData": True, "expression": "IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)", "label": "5XX errors (% of invocations)"},
    ]
    assert (five["threshold"], five["comparisonOperator"]) == (1, "GreaterThanThreshold")
    assert (five["evaluationPeriods"], five["datapointsToAlarm"], five["treatMissingData"]) == (5, 3, "notBreaching")
    four = alarm(graph, "errors-4xx")
    assert four["metricQueries"][0]["metric"]["metricName"] == "Invocation4XXErrors"
    assert four["threshold"] == 5


def test_latency_alarm_is_p99_in_microseconds():
    graph, _ = build(alarms={"latency_p99_ms": 250})
    latency = alarm(graph, "latency-p99")
    assert (latency["namespace"], latency["metricName"], latency["extendedStatistic"]) == ("AWS/SageMaker", "ModelLatency", "p99")
    assert "statistic" not in latency
    assert latency["threshold"] == 250_000
    assert latency["dimensions"] == {"EndpointName": ENDPOINT, "VariantName": "AllTraffic"}


def test_no_invocations_alarm_treats_missing_data_as_no_traffic():
    graph, _ = build(alarms={"no_invocations_minutes": 60})
    quiet = alarm(graph, "no-invocations")
    assert (quiet["metricName"], quiet["statistic"], quiet["period"]) == ("Invocations", "Sum", 300)
    assert (quiet["evaluationPeriods"], quiet["datapointsToAlarm"]) == (12, 12)
    assert (quiet["comparisonOperator"], quiet["threshold"], quiet["treatMissingData"]) == ("LessThanThreshold", 1, "breaching")


def test_gpu_alarms_scale_the_per_gpu_threshold_by_the_gpus_of_the_instance():
    graph, _ = build(endpoint=dict(instance_type="ml.g5.12xlarge", is_gpu=True), alarms={"gpu_memory_percent": 80})
    util, memory = alarm(graph, "gpu-utilization"), alarm(graph, "gpu-memory")
    assert (util["namespace"], util["metricName"], util["statistic"]) == ("/aws/sagemaker/Endpoints", "GPUUtilization", "Average")
    assert util["threshold"] == 90 * 4  # ml.g5.12xlarge has 4 GPUs; SageMaker sums them
    assert (memory["metricName"], memory["threshold"]) == ("GPUMemoryUtilization", 80 * 4)


def test_cpu_endpoints_get_no_gpu_alarms_and_null_turns_an_alarm_off():
    graph, _ = build(alarms={"errors_4xx_percent": None, "latency_p99_ms": None, "no_invocations_minutes": None})
    assert alarm_keys(graph) == ["errors-5xx"]


def test_every_alarm_notifies_an_encrypted_topic_on_alarm_and_ok():
    graph, monitor = build(notifications={"emails": ["oncall@example.com"], "https": ["https://pager.example.com/hook"]})
    key = graph.by_type(KEY)[0].inputs
    assert key["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert statements["CloudWatchAlarmsPublishToTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statements["AccountAdministersThroughIam"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    topic = graph.by_type(TOPIC)[0]
    assert topic.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    topic_arn = graph.by_type(ALARM)[0].inputs["alarmActions"][0]
    assert re.fullmatch(rf"arn:aws:sns:{REGION}:{ACCOUNT}:churn-xgb-topic-[0-9a-f]{{7}}", topic_arn)
    for record in graph.by_type(ALARM):
        assert record.inputs["alarmActions"] == [topic_arn] and record.inputs["okActions"] == [topic_arn]
    subs = sorted((r.inputs["protocol"], r.inputs["endpoint"], r.inputs["topic"]) for r in graph.by_type(SUBSCRIPTION))
    assert subs == [("email", "oncall@example.com", topic_arn), ("https", "https://pager.example.com/hook", topic_arn)]


def test_own_topic_is_used_as_is():
    own = f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall"
    graph, _ = build(notifications={"topic_arn": own})
    assert graph.by_type(TOPIC) == [] and graph.by_type(KEY) == []
    assert {tuple(r.inputs["alarmActions"]) for r in graph.by_type(ALARM)} == {(own,)}


# -- drift: mlstack's job ---------------------------------------------------------------------------


def test_drift_job_is_a_pipeline_step_running_the_drift_program_on_the_endpoints_capture():
    graph, _ = build(drift=JOB_DRIFT)
    pipeline = graph.by_type(PIPELINE)[0].inputs
    assert pipeline["pipelineName"] == f"{PREFIX}-drift"
    definition = json.loads(pipeline["pipelineDefinition"])
    (step,) = definition["Steps"]
    assert step["Type"] == "Processing"
    args = step["Arguments"]
    assert args["AppSpecification"]["ImageUri"] == IMAGE
    assert args["AppSpecification"]["ContainerEntrypoint"] == ["python", "-m", "mlstack.drift"]
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--endpoint-name", ENDPOINT,
        "--capture-uri", "s3://churn-capture/churn-xgb/",
        "--baseline-uri", "s3://churn-data/baselines/v3/baseline.csv",
        "--features", "tenure,monthly_charges,contract",
        "--psi-threshold", "0.2",
        "--window-hours", "1",
        "--categorical", "contract",
        "--report-uri", "s3://churn-data/drift-reports/",
    ]  # fmt: skip
    cluster = args["ProcessingResources"]["ClusterConfig"]
    assert (cluster["InstanceType"], cluster["InstanceCount"]) == ("ml.m5.large", 1)
    assert cluster["VolumeKmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:role/churn-xgb-drift-job-role-[0-9a-f]{{7}}", args["RoleArn"])
    assert args["Environment"]["AWS_REGION"] == REGION


def test_drift_schedule_starts_only_the_drift_pipeline():
    graph, _ = build(drift={**JOB_DRIFT, "interval_hours": 6})
    pipeline_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PREFIX}-drift"
    schedule = graph.by_type(SCHEDULE)[0].inputs
    assert schedule["scheduleExpression"] == "rate(6 hours)"
    assert schedule["target"]["arn"] == pipeline_arn
    role = next(r for r in graph.by_type(ROLE) if r.name == "churn-xgb-drift-schedule-role")
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:role/churn-xgb-drift-schedule-role-[0-9a-f]{{7}}", schedule["target"]["roleArn"])
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert policy(graph, "churn-xgb-drift-schedule-policy")["Statement"] == [
        {"Sid": "StartDriftPipeline", "Effect": "Allow", "Action": "sagemaker:StartPipelineExecution", "Resource": pipeline_arn}
    ]


def test_drift_roles_are_scoped_to_the_capture_baseline_reports_and_namespace():
    graph, _ = build(drift=JOB_DRIFT)
    statements = {s["Sid"]: s for s in policy(graph, "churn-xgb-drift-job-role-policy")["Statement"]}
    assert statements["ReadCapturedRequests"]["Resource"] == "arn:aws:s3:::churn-capture/churn-xgb/*"
    assert statements["ListCapturedRequests"]["Condition"] == {"StringLike": {"s3:prefix": ["churn-xgb/*"]}}
    assert statements["ReadBaseline"]["Resource"] == "arn:aws:s3:::churn-data/baselines/v3/baseline.csv"
    assert statements["WriteReports"]["Resource"] == "arn:aws:s3:::churn-data/drift-reports/*"
    assert statements["PublishDriftMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "mlstack/Drift"}}
    assert statements["PullImage"]["Resource"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/mlstack"
    assert "arn:aws:kms:eu-west-1:210987654321:key/0000-endpoint" in statements["UseKeys"]["Resource"]  # the capture's key
    wildcard = sorted(s["Sid"] for s in statements.values() if s["Resource"] == "*")
    assert wildcard == ["PublishDriftMetrics", "PullImageToken"]  # the two actions without resource ARNs
    pipeline = {s["Sid"]: s for s in policy(graph, "churn-xgb-drift-pipeline-policy")["Statement"]}
    assert pipeline["RunDriftJobs"]["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/pipelines-*"
    assert pipeline["PassDriftJobRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_drift_runs_in_private_subnets_when_given_a_vpc():
    vpc = {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0123456789abcdef0"]}
    graph, _ = build(drift={**JOB_DRIFT, "vpc": vpc})
    step = json.loads(graph.by_type(PIPELINE)[0].inputs["pipelineDefinition"])["Steps"][0]["Arguments"]
    assert step["NetworkConfig"] == {
        "EnableNetworkIsolation": False,
        "VpcConfig": {"Subnets": ["subnet-0a1b2c3d4e5f60718"], "SecurityGroupIds": ["sg-0123456789abcdef0"]},
    }
    statements = {s["Sid"]: s for s in policy(graph, "churn-xgb-drift-job-role-policy")["Statement"]}
    assert statements["JobNetworkInterfaces"]["Resource"] == [
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60718",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
    ]


def test_drift_job_alarms_watch_each_feature_in_the_drift_namespace():
    graph, _ = build(drift={**JOB_DRIFT, "kl_threshold": 0.3})
    keys = alarm_keys(graph)
    for feature in ("tenure", "monthly_charges", "contract"):
        assert f"feature-drift-{feature}" in keys and f"feature-kl-{feature}" in keys
    tenure = alarm(graph, "feature-drift-tenure")
    assert (tenure["namespace"], tenure["metricName"], tenure["statistic"], tenure["period"]) == ("mlstack/Drift", "PopulationStabilityIndex", "Maximum", 3600)
    assert tenure["dimensions"] == {"EndpointName": ENDPOINT, "Feature": "tenure"}
    assert (tenure["threshold"], tenure["treatMissingData"]) == (0.2, "notBreaching")
    assert alarm(graph, "feature-drift-monthly_charges")["threshold"] == 0.1  # per-feature override
    kl = alarm(graph, "feature-kl-monthly_charges")
    assert (kl["metricName"], kl["threshold"]) == ("KLDivergence", 0.05)
    assert alarm(graph, "feature-kl-tenure")["threshold"] == 0.3
    drifted = alarm(graph, "features-drifted")
    assert (drifted["metricName"], drifted["dimensions"], drifted["threshold"], drifted["comparisonOperator"]) == (
        "FeaturesDrifted", {"EndpointName": ENDPOINT}, 2, "GreaterThanOrEqualToThreshold"
    )
    stalled = alarm(graph, "drift-job-stalled")
    assert (stalled["metricName"], stalled["statistic"], stalled["treatMissingData"]) == ("CapturedRecords", "SampleCount", "breaching")


def test_drift_job_alarms_when_a_run_skips_corrupt_capture_files():
    graph, _ = build(drift=JOB_DRIFT)
    corrupt = alarm(graph, "capture-files-corrupt")
    assert (corrupt["namespace"], corrupt["metricName"], corrupt["dimensions"]) == ("mlstack/Drift", "CorruptCaptureFiles", {"EndpointName": ENDPOINT})
    assert (corrupt["statistic"], corrupt["comparisonOperator"], corrupt["threshold"]) == ("Maximum", "GreaterThanThreshold", 0)
    assert (corrupt["period"], corrupt["evaluationPeriods"], corrupt["treatMissingData"]) == (3600, 1, "notBreaching")
    assert corrupt["alarmActions"] == corrupt["okActions"] and len(corrupt["alarmActions"]) == 1  # it pages the monitor's topic
    # the metric name is the job's own: an alarm on a name the job never publishes could never fire
    from mlstack.drift import METRIC_CORRUPT_FILES
    from mlstack.drift.publish import drift_metric_data

    published = {d["MetricName"] for d in drift_metric_data(ENDPOINT, {}, captured_records=0, features_drifted=None, timestamp=None, corrupt_files=2)}
    assert corrupt["metricName"] == METRIC_CORRUPT_FILES and METRIC_CORRUPT_FILES in published
    model_monitor, _ = build(drift={**MODEL_MONITOR_DRIFT})
    assert "capture-files-corrupt" not in alarm_keys(model_monitor)  # Model Monitor reads captures itself


MODEL_MONITOR_DRIFT = {
    "method": "model-monitor",
    "features": ["tenure", "contract"],
    "baseline_uri": "s3://churn-data/monitor-baseline/",
    "report_uri": "s3://churn-data/monitor-reports/",
    "image": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    "interval_hours": 1,
}


# -- drift: SageMaker Model Monitor -----------------------------------------------------------------


def test_model_monitor_path_schedules_a_data_quality_job_and_alarms_on_baseline_drift():
    graph, _ = build(
        drift={
            "method": "model-monitor",
            "features": ["tenure", "contract"],
            "baseline_uri": "s3://churn-data/monitor-baseline/",
            "report_uri": "s3://churn-data/monitor-reports/",
            "image": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer",
            "interval_hours": 1,
        }
    )
    assert graph.by_type(PIPELINE) == [] and graph.by_type(SCHEDULE) == []
    job = graph.by_type(DQ_JOB)[0].inputs
    assert job["dataQualityJobInput"]["endpointInput"]["endpointName"] == ENDPOINT
    assert job["dataQualityBaselineConfig"] == {
        "constraintsResource": {"s3Uri": "s3://churn-data/monitor-baseline/constraints.json"},
        "statisticsResource": {"s3Uri": "s3://churn-data/monitor-baseline/statistics.json"},
    }
    assert job["dataQualityJobOutputConfig"]["monitoringOutputs"]["s3Output"]["s3Uri"] == "s3://churn-data/monitor-reports/"
    schedule = graph.by_type(MON_SCHEDULE)[0].inputs
    assert schedule["name"] == f"{PREFIX}-data-quality"
    assert schedule["monitoringScheduleConfig"]["monitoringType"] == "DataQuality"
    assert schedule["monitoringScheduleConfig"]["scheduleConfig"] == {"scheduleExpression": "cron(0 * ? * * *)"}
    tenure = alarm(graph, "feature-drift-tenure")
    assert (tenure["namespace"], tenure["metricName"]) == ("aws/sagemaker/Endpoints/data-metrics", "feature_baseline_drift_tenure")
    assert tenure["dimensions"] == {"Endpoint": ENDPOINT, "MonitoringSchedule": f"{PREFIX}-data-quality", "Feature": "tenure"}
    assert tenure["threshold"] == 0.1
    statements = {s["Sid"]: s for s in policy(graph, "churn-xgb-model-monitor-role-policy")["Statement"]}
    assert statements["PublishDriftMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}}


# -- retraining, composite alarm, dashboard -----------------------------------------------------------


STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


def test_retrain_rule_starts_the_cooldown_which_starts_the_models_training_pipeline():
    graph, _ = build(pipeline=True, drift=JOB_DRIFT, retrain={"alarms": ["features-drifted", "feature-drift-tenure"]})
    rule = graph.by_type(RULE)[0].inputs
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [f"{PREFIX}-features-drifted", f"{PREFIX}-feature-drift-tenure"], "state": {"value": ["ALARM"]}},
    }
    (machine,) = graph.by_type(STATE_MACHINE)
    target = graph.by_type(TARGET)[0].inputs
    assert target["arn"].endswith(machine.inputs["name"]) and machine.inputs["name"] == f"{PREFIX}-retrain-cooldown"
    pipeline_arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/{PipelineDouble.pipeline_name}"
    assert policy(graph, "churn-xgb-retrain-policy")["Statement"] == [
        {"Sid": "StartRetrainingCooldown", "Effect": "Allow", "Action": "states:StartExecution", "Resource": target["arn"]}
    ]
    assert policy(graph, "churn-xgb-retrain-cooldown-policy")["Statement"] == [
        {
            "Sid": "StartRetrainingPipelineAfterCooldown",
            "Effect": "Allow",
            "Action": ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
            "Resource": pipeline_arn,
        }
    ]
    states = json.loads(machine.inputs["definition"])["States"]
    assert states["LastStart"]["Arguments"]["PipelineName"] == states["StartRetrain"]["Arguments"]["PipelineName"] == pipeline_arn
    assert states["LastStart"]["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:listPipelineExecutions"
    # the default cooldown: 24 hours since the last start, by any trigger
    assert "< 86400000 %}" in states["CoolingDown"]["Choices"][0]["Condition"]
    assert states["CoolingDown"]["Choices"][0]["Next"] == "SkipRetrain" and states["CoolingDown"]["Default"] == "StartRetrain"
    assert "/ 86400000" in states["StartRetrain"]["Arguments"]["ClientRequestToken"]
    trust = json.loads(next(r for r in graph.by_type(ROLE) if r.name == "churn-xgb-retrain-cooldown-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_retrain_with_a_pipeline_arn_passes_parameters_and_its_cooldown():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn-retrain"
    graph, _ = build(retrain={"alarms": ["errors-5xx"], "pipeline_arn": arn, "parameters": {"Reason": "alarm"}, "cooldown_hours": 6})
    role = next(r for r in graph.by_type(ROLE) if r.name == "churn-xgb-retrain-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert re.fullmatch(rf"arn:aws:events:{REGION}:{ACCOUNT}:rule/churn-xgb-retrain-[0-9a-f]{{7}}", trust["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert policy(graph, "churn-xgb-retrain-cooldown-policy")["Statement"][0]["Resource"] == arn
    (machine,) = graph.by_type(STATE_MACHINE)
    start = json.loads(machine.inputs["definition"])["States"]["StartRetrain"]["Arguments"]
    assert start["PipelineName"] == arn
    assert start["PipelineParameters"] == [{"Name": "Reason", "Value": "alarm"}]
    assert "< 21600000 %}" in json.loads(machine.inputs["definition"])["States"]["CoolingDown"]["Choices"][0]["Condition"]


def test_composite_alarm_alone_pages_for_a_combination():
    graph, _ = build(composite={"all_of": ["errors-5xx"], "any_of": ["latency-p99", "no-invocations"]})
    composite = graph.by_type(COMPOSITE)[0].inputs
    assert composite["alarmName"] == f"{PREFIX}-impact"
    assert composite["alarmRule"] == (
        f'ALARM("{PREFIX}-errors-5xx") AND (ALARM("{PREFIX}-latency-p99") OR ALARM("{PREFIX}-no-invocations"))'
    )
    assert len(composite["alarmActions"]) == 1
    for key in ("errors-5xx", "latency-p99", "no-invocations"):
        assert alarm(graph, key)["alarmActions"] == []
    assert alarm(graph, "errors-4xx")["alarmActions"] == composite["alarmActions"]


def test_dashboard_shows_traffic_errors_latency_gpu_drift_and_alarm_states():
    endpoint = dict(instance_type="ml.g5.xlarge", is_gpu=True, variant_names=["primary", "challenger"])
    graph, monitor = build(endpoint=endpoint, drift=JOB_DRIFT)
    record = graph.by_type(DASHBOARD)[0].inputs
    assert record["dashboardName"] == f"{PREFIX}-monitor"
    widgets = json.loads(record["dashboardBody"])["widgets"]
    by_title = {w["properties"].get("title"): w for w in widgets}
    assert set(by_title) >= {
        "Invocations", "Invocation errors", "Model latency (microseconds)", "GPU use (% summed over the instance's GPUs)",
        "Drift per feature: population stability index", "Drift per feature: KL divergence", "Drift runs", "Alarm states",
    }  # fmt: skip
    assert all(w["properties"]["region"] == REGION for w in widgets if w["type"] == "metric")
    invocations = by_title["Invocations"]["properties"]["metrics"]
    assert invocations == [
        ["AWS/SageMaker", "Invocations", "EndpointName", ENDPOINT, "VariantName", "primary", {"stat": "Sum", "label": "Invocations primary"}],
        ["AWS/SageMaker", "Invocations", "EndpointName", ENDPOINT, "VariantName", "challenger", {"stat": "Sum", "label": "Invocations challenger"}],
    ]
    latency = by_title["Model latency (microseconds)"]["properties"]
    assert {m[-1]["stat"] for m in latency["metrics"]} == {"p50", "p99"}
    assert latency["annotations"]["horizontal"] == [{"label": "p99 alarm", "value": 1_000_000}]
    gpu = by_title["GPU use (% summed over the instance's GPUs)"]["properties"]["metrics"]
    assert {(m[0], m[1]) for m in gpu} == {("/aws/sagemaker/Endpoints", "GPUUtilization"), ("/aws/sagemaker/Endpoints", "GPUMemoryUtilization")}
    psi = by_title["Drift per feature: population stability index"]["properties"]
    assert psi["metrics"] == [
        ["mlstack/Drift", "PopulationStabilityIndex", "EndpointName", ENDPOINT, "Feature", f, {"label": f}] for f in JOB_DRIFT["features"]
    ]
    assert psi["annotations"]["horizontal"] == [{"label": "drift threshold", "value": 0.2}]
    states = by_title["Alarm states"]
    assert states["type"] == "alarm"
    assert sorted(states["properties"]["alarms"]) == sorted(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{n}" for n in monitor.alarm_names.values())
    # Widgets never overlap on the 24-column grid.
    cells = set()
    for w in widgets:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells
                cells.add((x, y))


def test_alarms_follow_the_production_variant_not_the_shadow():
    endpoint = dict(variant_names=["primary", "challenger"])
    graph, _ = build(endpoint=endpoint)
    assert alarm(graph, "latency-p99")["dimensions"]["VariantName"] == "primary"
    assert {q["metric"]["dimensions"]["VariantName"] for q in alarm(graph, "errors-5xx")["metricQueries"] if "metric" in q} == {"primary"}


def test_every_taggable_child_carries_the_lineage_tags():
    graph, _ = build(drift=JOB_DRIFT, retrain={"alarms": ["errors-5xx"], "pipeline_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p"})
    from mlstack.lineage import is_taggable

    checked = 0
    for record in graph:
        if record.custom and is_taggable(record.type):
            assert all(record.inputs["tags"].get(k) for k in REQUIRED_KEYS), record.urn
            checked += 1
    assert checked >= 15


DRIFT_JOB = "mlstack:index:DriftJob"


@pytest.mark.parametrize("drift", [JOB_DRIFT, MODEL_MONITOR_DRIFT], ids=["job", "model-monitor"])
def test_the_drift_check_is_a_child_component_the_rest_children_of_the_monitor(drift):
    graph, _ = build(drift=drift)
    [component] = graph.by_type("mlstack:index:Monitor")
    [job] = graph.by_type(DRIFT_JOB)
    assert job.parent == component.urn and job.name == "churn-xgb"
    under_job = {r.type for r in graph.children(job.urn)}
    assert under_job == ({ROLE, ROLE_POLICY, PIPELINE, SCHEDULE} if drift is JOB_DRIFT else {ROLE, ROLE_POLICY, DQ_JOB, MON_SCHEDULE})
    children = [r for r in graph if r.custom]
    assert children and all(r.parent in (component.urn, job.urn) for r in children)
    assert all(r.name.startswith("churn-xgb-") for r in children)
    # The alarms on the drift metrics are the monitor's: they notify its topic.
    assert {r.parent for r in graph.by_type(ALARM) if r.name.startswith("churn-xgb-feature-drift-")} == {component.urn}


@pytest.mark.parametrize("drift", [JOB_DRIFT, MODEL_MONITOR_DRIFT], ids=["job", "model-monitor"])
def test_each_drift_resource_is_aliased_to_its_urn_under_the_monitor(drift):
    graph, _ = build(drift=drift)
    [component] = graph.by_type("mlstack:index:Monitor")
    [job] = graph.by_type(DRIFT_JOB)
    for record in graph.children(job.urn):
        before = f"{component.urn.rsplit('::', 1)[0]}${record.type}::{record.name}"
        assert before in record.aliases, (record.urn, record.aliases)
    assert job.aliases == []  # new: nothing stood there before


# -- what the component rejects -------------------------------------------------------------------


def test_kserve_endpoints_are_rejected_with_a_reason():
    with pytest.raises(ComponentError, match="Monitor 'churn-xgb': argument endpoint: endpoint 'churn-xgb' is served by KServe, whose metrics are in Prometheus"):
        build(endpoint={"backend": "kserve"})


def test_drift_needs_the_endpoint_to_capture_requests():
    with pytest.raises(ComponentError, match="does not capture its requests"):
        build(endpoint={"capture_uri": None}, drift=JOB_DRIFT)


def test_retrain_needs_a_pipeline():
    with pytest.raises(ComponentError, match=r"Monitor 'churn-xgb': argument retrain: model 'churn-xgb' \(served by endpoint 'churn-xgb'\) has no training pipeline to start"):
        build(retrain={"alarms": ["errors-5xx"]})


def test_gpu_alarms_on_an_endpoint_without_gpus_are_refused_as_in_a_stack_file():
    with pytest.raises(ComponentError) as refused:
        build(retrain={"alarms": ["errors-5xx", "gpu-utilization"], "pipeline_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p"})
    assert str(refused.value) == (
        "Monitor 'churn-xgb': argument retrain.alarms[1]: alarm 'gpu-utilization' exists only on GPU endpoints and endpoint 'churn-xgb' has no GPU"
    )


def test_a_refused_monitor_registers_nothing():
    registered = []

    def program() -> None:
        from monitor_doubles import EndpointDouble

        try:
            Monitor("churn-xgb", MonitorArgs(endpoint=EndpointDouble(backend="kserve"), alarm_prefix=PREFIX, tags=TAGS))
        except ComponentError as exc:
            registered.append(exc)

    graph = run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers(account_id=ACCOUNT, region=REGION))
    assert registered and graph.by_type("mlstack:index:Monitor") == []


def test_prod_drift_image_must_be_pinned_by_digest():
    with pytest.raises(ComponentError, match="not pinned by digest"):
        build(drift={**JOB_DRIFT, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlstack:latest"})


def test_args_reject_an_object_without_the_endpoint_contract():
    with pytest.raises(ComponentError, match="Monitor: argument endpoint: endpoint must be an mlstack Endpoint; object lacks"):
        MonitorArgs(endpoint=object(), alarm_prefix="p")


# -- settings validation ---------------------------------------------------------------------------


def spec(**changes: Any) -> MonitorSpec:
    return MonitorSpec.model_validate({"endpoint": "churn-xgb", **changes})


DRIFT = {"features": ["tenure", "plan"], "baselineUri": "s3://churn-data/baseline.csv", "image": IMAGE}


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"drift": {**DRIFT, "featureThresholds": {"tenur": {"threshold": 0.1}}}}, "drift threshold for feature 'tenur', which the endpoint does not have"),
        ({"drift": {**DRIFT, "featureThresholds": {"tenure": {"threshold": -0.1}}}}, "greater than or equal to 0"),
        ({"drift": {**DRIFT, "threshold": -1}}, "greater than 0"),
        ({"alarms": {"latencyP99Ms": -5}}, "greater than or equal to 0"),
        ({"alarms": {"errors5xxPercent": -1}}, "greater than or equal to 0"),
        ({"alarms": {"evaluationPeriods": 2, "datapointsToAlarm": 3}}, "cannot exceed evaluationPeriods"),
        ({"retrain": {"alarms": ["feature-drift-tenur"]}, "drift": DRIFT}, "unknown alarm 'feature-drift-tenur'; did you mean 'feature-drift-tenure'"),
        ({"retrain": {"alarms": ["features-drifted"]}}, "unknown alarm 'features-drifted'"),
        ({"composite": {"allOf": ["errors-5xx", "latency-p95"]}}, "unknown alarm 'latency-p95'"),
        ({"composite": {"allOf": ["errors-5xx"]}}, "combines at least two alarms"),
        ({"drift": {**DRIFT, "image": None}}, "needs a container image with mlstack installed"),
        ({"drift": {**DRIFT, "categorical": ["region"]}}, "'region' is not in drift.features"),
        ({"drift": {**DRIFT, "method": "model-monitor", "klThreshold": 0.1}}, "applies to method job only"),
        ({"drift": {**DRIFT, "instanceType": "ml.m5.larg"}}, "did you mean ml.m5.large"),
        ({"notifications": {"topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t", "emails": ["a@example.com"]}}, "subscribe them to your own topic"),
    ],
)
def test_settings_reject_bad_input_with_a_clear_message(changes, needle):
    with pytest.raises(ValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        spec(**changes)


def test_alarm_names_list_what_a_configuration_creates():
    s = spec(drift={**DRIFT, "featuresDriftedThreshold": 1, "klThreshold": 0.2}, alarms={"gpuMemoryPercent": None})
    assert s.alarm_names() == [
        "errors-5xx", "errors-4xx", "latency-p99", "no-invocations", "gpu-utilization",
        "feature-drift-tenure", "feature-drift-plan", "feature-kl-tenure", "feature-kl-plan", "features-drifted", "drift-job-stalled",
        "capture-files-corrupt",
    ]  # fmt: skip
    assert "gpu-utilization" not in s.alarm_names(gpu=False)


# -- the bundled stacks ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_plan():
    from conftest import ROOT
    from mlstack.engine import plan_stack

    return plan_stack("churn-prod", cwd=ROOT)


def stack_alarm(graph, key: str, prefix: str = "churn-prod-scoring") -> dict:
    (record,) = [r for r in graph.by_type(ALARM) if r.inputs["name"] == f"{prefix}-{key}"]
    return record.inputs


def test_churn_prod_plan_shows_alarms_schedule_topic_dashboard_and_retrain_rule(prod_plan):
    (component,) = prod_plan.by_type("mlstack:index:Monitor")
    kinds = {r.type for r in prod_plan.children(component.urn)}
    assert {ALARM, COMPOSITE, TOPIC, KEY, SUBSCRIPTION, "mlstack:index:DriftJob", DASHBOARD, RULE, TARGET} <= kinds
    (drift,) = prod_plan.by_type("mlstack:index:DriftJob")
    assert {PIPELINE, SCHEDULE} <= {r.type for r in prod_plan.children(drift.urn)}
    dims = {"EndpointName": "churn-scoring", "VariantName": "primary"}  # the Endpoint's own metric dimensions
    five = stack_alarm(prod_plan, "errors-5xx")
    assert five["threshold"] == 0.5 and five["metricQueries"][0]["metric"]["dimensions"] == dims
    latency = stack_alarm(prod_plan, "latency-p99")
    assert (latency["metricName"], latency["extendedStatistic"], latency["threshold"], latency["dimensions"]) == ("ModelLatency", "p99", 250_000, dims)
    assert stack_alarm(prod_plan, "no-invocations")["evaluationPeriods"] == 6  # 30 minutes of 5-minute periods
    gpu = stack_alarm(prod_plan, "gpu-memory")
    assert (gpu["namespace"], gpu["metricName"], gpu["threshold"]) == ("/aws/sagemaker/Endpoints", "GPUMemoryUtilization", 85)  # ml.g5.xlarge: 1 GPU
    charges = stack_alarm(prod_plan, "feature-drift-monthly_charges")
    assert (charges["namespace"], charges["metricName"], charges["threshold"]) == ("mlstack/Drift", "PopulationStabilityIndex", 0.15)
    assert charges["dimensions"] == {"EndpointName": "churn-scoring", "Feature": "monthly_charges"}
    assert stack_alarm(prod_plan, "feature-kl-contract")["threshold"] == 0.1
    composite = prod_plan.by_type(COMPOSITE)[0].inputs
    assert composite["alarmRule"] == (
        'ALARM("churn-prod-scoring-errors-5xx") AND (ALARM("churn-prod-scoring-latency-p99") OR ALARM("churn-prod-scoring-no-invocations"))'
    )


def test_churn_prod_drift_job_reads_the_endpoints_capture_and_retrains_the_models_pipeline(prod_plan):
    endpoint = prod_plan.outputs["endpoints"]["scoring"]
    pipelines = prod_plan.outputs["pipelines"]["churn-xgb"]
    monitor = next(r for r in prod_plan.by_type(PIPELINE) if r.inputs["pipelineName"] == "churn-prod-scoring-drift")
    args = json.loads(monitor.inputs["pipelineDefinition"])["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--endpoint-name") + 1] == endpoint["endpointName"] == "churn-scoring"
    assert args[args.index("--capture-uri") + 1] == endpoint["dataCaptureUri"]
    assert args[args.index("--features") + 1] == "tenure_months,monthly_charges,support_calls_90d,contract"
    network = json.loads(monitor.inputs["pipelineDefinition"])["Steps"][0]["Arguments"]["NetworkConfig"]
    assert network["VpcConfig"] == {"Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
    schedule = next(r for r in prod_plan.by_type(SCHEDULE) if r.parent and r.parent.endswith("DriftJob::scoring")).inputs
    assert (schedule["scheduleExpression"], schedule["target"]["arn"]) == ("rate(1 hour)", "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/churn-prod-scoring-drift")
    rule = json.loads(prod_plan.by_type(RULE)[0].inputs["eventPattern"])
    assert rule["detail"] == {"alarmName": ["churn-prod-scoring-features-drifted", "churn-prod-scoring-quality-accuracy"], "state": {"value": ["ALARM"]}}
    target = prod_plan.by_type(TARGET)[0].inputs
    (machine,) = prod_plan.by_type(STATE_MACHINE)
    assert target["arn"].endswith(machine.inputs["name"])  # every retrain trigger goes through the cooldown
    start = json.loads(machine.inputs["definition"])["States"]["StartRetrain"]["Arguments"]
    assert start["PipelineName"] == pipelines["arn"]
    widgets = json.loads(prod_plan.by_type(DASHBOARD)[0].inputs["dashboardBody"])["widgets"]
    psi = next(w for w in widgets if w["properties"].get("title") == "Drift per feature: population stability index")
    assert [m[5] for m in psi["properties"]["metrics"]] == ["tenure_months", "monthly_charges", "support_calls_90d", "contract"]
    assert prod_plan.outputs["monitors"]["scoring"]["alarms"]["features-drifted"] == "churn-prod-scoring-features-drifted"


def test_churn_dev_monitors_errors_only(plan):
    graph = plan("churn-dev")
    (component,) = graph.by_type("mlstack:index:Monitor")
    children = graph.children(component.urn)
    assert sorted(r.inputs["name"] for r in children if r.type == ALARM) == ["churn-dev-scoring-errors-4xx", "churn-dev-scoring-errors-5xx"]
    assert {r.type for r in children} == {ALARM, TOPIC, KEY, SUBSCRIPTION}


# -- bad stack files exit 2 with every problem at its key ------------------------------------------------

SERVED = {
    "mlstack:endpoints": [
        {
            "name": "scoring",
            "model": "churn-xgb",
            "instanceType": "ml.m5.large",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:1",
            "artifactsUri": "s3://churn-models/churn-xgb/",
        }
    ]
}
GOOD_DRIFT = {"features": ["tenure", "plan"], "baselineUri": "s3://churn-data/baseline.csv", "image": IMAGE}


def run_cli(cli, write_stack, monitors: list[dict], **changes: Any) -> tuple[int, str]:
    path = write_stack({**SERVED, "mlstack:monitors": monitors, **changes})
    code, _, err = cli("plan", str(path))
    return code, err


def test_a_valid_monitor_plans(cli, write_stack):
    retrain = {"alarms": ["feature-drift-plan"], "pipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn-retrain"}
    code, err = run_cli(cli, write_stack, [{"endpoint": "scoring", "drift": GOOD_DRIFT, "retrain": retrain}])
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    "monitor, expected",
    [
        (
            {"endpoint": "scorin"},
            "mlstack:monitors[0].endpoint: 'scorin' is not an endpoint of this stack; declared in mlstack:endpoints: scoring; did you mean 'scoring'?",
        ),
        (
            {"endpoint": "scoring", "drift": {**GOOD_DRIFT, "featureThresholds": {"tenur": {"threshold": 0.1}}}},
            "mlstack:monitors[0].drift.featureThresholds.tenur: sets a drift threshold for feature 'tenur', which the endpoint does not have; "
            "its features (drift.features) are tenure, plan; did you mean 'tenure'?",
        ),
        (
            {"endpoint": "scoring", "alarms": {"latencyP99Ms": -5}},
            "mlstack:monitors[0].alarms.latencyP99Ms: Input should be greater than or equal to 0 (got -5)",
        ),
        (
            {"endpoint": "scoring", "drift": {**GOOD_DRIFT, "featureThresholds": {"plan": {"kl": -0.5}}}},
            "mlstack:monitors[0].drift.featureThresholds.plan.kl: Input should be greater than or equal to 0 (got -0.5)",
        ),
        (
            {"endpoint": "scoring", "drift": GOOD_DRIFT, "retrain": {"alarms": ["feature-drift-tenur"]}},
            "mlstack:monitors[0].retrain.alarms[0]: unknown alarm 'feature-drift-tenur'; did you mean 'feature-drift-tenure'?",
        ),
        (
            {"endpoint": "scoring", "composite": {"allOf": ["errors-5xx", "gpu-utilization"]}},
            "mlstack:monitors[0].composite.allOf[1]: alarm 'gpu-utilization' exists only on GPU endpoints and endpoint 'scoring' has no GPU",
        ),
    ],
)
def test_bad_monitor_input_exits_2_with_the_key_the_value_and_the_fix(cli, write_stack, monitor, expected):
    code, err = run_cli(cli, write_stack, [monitor])
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_every_monitor_problem_is_reported_at_once(cli, write_stack):
    code, err = run_cli(
        cli,
        write_stack,
        [
            {"endpoint": "scoring", "drift": {**GOOD_DRIFT, "featureThresholds": {"region": {"threshold": 0.1}}}},
            {"endpoint": "scoring", "retrain": {"alarms": ["latency-p95"]}},
            {"endpoint": "scoring", "alarms": {"errors5xxPercent": -1}},
        ],
    )
    assert code == 2
    for key in ("monitors[0].drift.featureThresholds.region", "monitors[1].retrain.alarms[0]", "monitors[2].alarms.errors5xxPercent"):
        assert f"mlstack:{key}:" in err


def test_retrain_needs_the_model_to_have_a_training_pipeline_or_an_arn(cli, write_stack):
    code, err = run_cli(cli, write_stack, [{"endpoint": "scoring", "retrain": {"alarms": ["errors-5xx"]}}])
    assert code == 2
    assert "mlstack:monitors[0].retrain: model 'churn-xgb' (served by endpoint 'scoring') has no training pipeline to start" in err


@pytest.mark.parametrize(
    "changes, monitor, expected",
    [
        (
            {"mlstack:environment": "prod"},
            {"endpoint": "scoring", "drift": {**GOOD_DRIFT, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlstack:1.0"}},
            "mlstack:monitors[0].drift.image: '210987654321.dkr.ecr.eu-west-1.amazonaws.com/mlstack:1.0' is not pinned by digest",
        ),
        (
            {"mlstack:endpoints": [{**SERVED["mlstack:endpoints"][0], "dataCapture": {"enabled": False}}]},
            {"endpoint": "scoring", "drift": GOOD_DRIFT},
            "mlstack:monitors[0].drift: endpoint 'scoring' does not capture its requests",
        ),
    ],
)
def test_monitor_must_fit_its_endpoint_and_environment(cli, write_stack, changes, monitor, expected):
    path = write_stack({**SERVED, "mlstack:monitors": [monitor], **changes}, stack="churn-prod" if "mlstack:environment" in changes else "churn-dev")
    code, _, err = cli("plan", str(path))
    assert code == 2 and expected in err


def test_drift_features_must_be_in_the_models_feature_group(cli, tmp_path):
    import yaml

    from conftest import ROOT

    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.churn-dev.yaml").read_text())
    document["config"]["mlstack:monitors"] = [
        {"endpoint": "scoring", "drift": {**GOOD_DRIFT, "features": ["tenure_months", "tenure"]}}
    ]
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, _, err = cli("plan", str(path))
    assert code == 2
    assert "mlstack:monitors[0].drift.features[1]: 'tenure' is not a feature of model 'churn-xgb': its feature group 'customers' has" in err
    assert "did you mean 'tenure_months'?" in err
