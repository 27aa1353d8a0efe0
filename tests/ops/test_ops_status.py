"""`mlstack status` against the AWS test endpoint: approved versions, last pipeline executions
and the stack's alarms (found by their mlstack:stack tag) in one table."""

from __future__ import annotations

import json

from mlstack.config import load_stack
from mlstack.ops.status import StatusRow, collect_status, render_table

ROLE = "arn:aws:iam::123456789012:role/churn-pipeline"


def alarm(cloudwatch, name: str, stack: str) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": "churn-churn-xgb"}, {"Name": "VariantName", "Value": "primary"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=[{"Key": "mlstack:stack", "Value": stack}],
    )


def pipeline(sagemaker, name: str, runs: int) -> None:
    sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}), RoleArn=ROLE)
    for _ in range(runs):
        sagemaker.start_pipeline_execution(PipelineName=name)


def test_one_table_with_models_pipelines_and_the_stacks_alarms(aws, ops_stack, registry, aws_session):
    registry.group()
    registry.version(status="Approved")
    registry.version(status="Approved")
    registry.version()
    registry.version()
    sagemaker, cloudwatch = aws_session.client("sagemaker"), aws_session.client("cloudwatch")
    pipeline(sagemaker, "churn-churn-xgb-train", runs=2)
    pipeline(sagemaker, "churn-churn-xgb-nightly", runs=0)
    pipeline(sagemaker, "fraud-fraud-tabnet-train", runs=1)  # another team's
    alarm(cloudwatch, "churn-xgb-5xx-a1b2", "churn-dev")
    alarm(cloudwatch, "churn-xgb-latency-c3d4", "churn-dev")
    alarm(cloudwatch, "churn-xgb-5xx-prod", "churn-prod")  # the same team's other stack
    cloudwatch.set_alarm_state(AlarmName="churn-xgb-5xx-a1b2", StateValue="ALARM", StateReason="5 errors in 1 minute")
    cloudwatch.set_alarm_state(AlarmName="churn-xgb-latency-c3d4", StateValue="OK", StateReason="p99 below threshold")

    rows = collect_status(aws, load_stack(ops_stack()))

    assert [(r.kind, r.name, r.state) for r in rows] == [
        ("model", "churn-churn-xgb", "Approved v2"),
        ("pipeline", "churn-churn-xgb-nightly", "never run"),
        ("pipeline", "churn-churn-xgb-train", "Succeeded"),
        ("alarm", "churn-xgb-5xx-a1b2", "ALARM"),
        ("alarm", "churn-xgb-latency-c3d4", "OK"),
    ]
    assert rows[0].detail == "2 pending (newest v4); approval manual"
    assert rows[2].detail.startswith("execution ")
    assert rows[3].detail == "AWS/SageMaker/Invocation5XXErrors: 5 errors in 1 minute"


def test_alarm_prefix_adds_untagged_alarms(aws, ops_stack, registry, aws_session):
    registry.group()
    cloudwatch = aws_session.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="churn-hand-made", Namespace="Custom", MetricName="Errors", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )
    rows = collect_status(aws, load_stack(ops_stack()), alarm_prefix="churn-hand")
    assert [(r.kind, r.name) for r in rows] == [("model", "churn-churn-xgb"), ("alarm", "churn-hand-made")]


def test_missing_group_and_no_approved_version_are_shown(aws, ops_stack, registry, aws_session):
    stack = ops_stack(**{"mlstack:models": [{"name": "churn-xgb"}, {"name": "churn-lgbm"}]})
    registry.group()
    registry.version()
    rows = collect_status(aws, load_stack(stack))
    assert [(r.name, r.state, r.detail) for r in rows] == [
        ("churn-churn-xgb", "no Approved version", "1 pending (newest v1); approval manual"),
        ("churn-churn-lgbm", "missing", "the group does not exist: deploy the stack"),
    ]


def test_cli_prints_the_table_and_writes_json(aws, cli, ops_stack, registry, tmp_path):
    registry.group()
    registry.version(status="Approved")
    target = tmp_path / "status.json"

    code, out, err = cli("status", str(ops_stack()), "--json", str(target))

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "stack churn-dev (us-east-1)"
    assert lines[1].split() == ["KIND", "NAME", "STATE", "UPDATED", "DETAIL"]
    assert lines[2].split()[:4] == ["model", "churn-churn-xgb", "Approved", "v1"]
    data = json.loads(target.read_text())
    assert data["stack"] == "churn-dev" and data["rows"][0]["state"] == "Approved v1"
    assert data["formatVersion"] == 1 and data["region"] == "us-east-1"
    # Bare --json: the same document on stdout, alone; --format json --output: to a file, the table on stdout.
    code, out, _ = cli("status", str(ops_stack()), "--json")
    assert code == 0 and json.loads(out)["rows"] == data["rows"]
    code, out, _ = cli("status", str(ops_stack()), "--format", "json", "--output", str(tmp_path / "again.json"))
    assert code == 0 and out.startswith("stack churn-dev") and json.loads((tmp_path / "again.json").read_text())["rows"] == data["rows"]


def test_render_table_aligns_columns_and_cuts_long_details():
    rows = [StatusRow("model", "g", "Approved v1", "x" * 100, "2026-11-03 10:00:00Z"), StatusRow("alarm", "a-long-name", "OK")]
    lines = render_table(rows, width=20).splitlines()
    assert lines[0] == "KIND   NAME         STATE        UPDATED               DETAIL"
    assert lines[1] == "model  g            Approved v1  2026-11-03 10:00:00Z  " + "x" * 19 + "…"
    assert lines[2] == "alarm  a-long-name  OK           -"
