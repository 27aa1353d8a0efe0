"""Monitor with quality: the QualityJob it schedules, the alarms that follow the model's gates,
the label-health alarms, the dashboard, and the rules (captures on, slices the endpoint captures,
alarm names the problem type produces); and churn-prod's declaration end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlstack.components import ComponentError
from mlstack.specs.gates import GateSpec
from test_monitor import ACCOUNT, DASHBOARD, IMAGE, JOB_DRIFT, PIPELINE, PREFIX, REGION, SCHEDULE, alarm, alarm_keys, build, policy

GT = "s3://churn-labels/ground-truth/scoring/"
QUALITY = {
    "ground_truth_uri": GT,
    "problem_type": "binary",
    "label_lag_hours": 720,
    "slices": ["contract"],
    "request_columns": ["customer_id", "tenure", "monthly_charges", "contract"],
    "min_slice_size": 200,
    "baseline_uri": "s3://churn-data/validation/predictions.csv",
    "image": IMAGE,
}
GATES = [
    GateSpec(metric="accuracy", op=">=", threshold="last-approved", tolerance=0.005),
    GateSpec(metric="auc", op=">=", threshold=0.8),
    GateSpec(metric="bias_delta", op="<=", threshold=0.02),
    GateSpec(metric="latency_p99_ms", op="<=", threshold=100),
]


@pytest.fixture(scope="module")
def planned():
    return build(quality=QUALITY, model_gates=GATES, pipeline=True, retrain={"alarms": ["quality-accuracy", "bias-gap", "features-drifted"]}, drift=JOB_DRIFT)


def test_quality_alarms_follow_the_models_gates(planned) -> None:
    graph, monitor = planned
    keys = alarm_keys(graph)
    for key in ("quality-accuracy", "quality-auc", "bias-gap", "output-drift", "labels-stale", "label-coverage-low", "quality-job-stalled", "quality-reference-missing"):
        assert key in keys
    assert "quality-precision" not in keys and "quality-latency_p99_ms" not in keys  # no gate on them / not a quality metric
    accuracy = alarm(graph, "quality-accuracy")
    assert (accuracy["namespace"], accuracy["metricName"]) == ("mlstack/Quality", "QualityGateMargin")
    assert accuracy["dimensions"] == {"EndpointName": "churn-churn-xgb", "Metric": "accuracy"}
    assert (accuracy["comparisonOperator"], accuracy["threshold"], accuracy["treatMissingData"]) == ("LessThanThreshold", 0, "notBreaching")
    assert "accuracy >= the approved version's evaluation - 0.02" in accuracy["alarmDescription"]
    bias = alarm(graph, "bias-gap")
    assert (bias["metricName"], bias["threshold"], bias["comparisonOperator"]) == ("BiasDelta", 0.02, "GreaterThanThreshold")  # the model's gate, not the seed rule


def test_a_broken_label_feed_alarms_instead_of_looking_like_a_good_model(planned) -> None:
    graph, _ = planned
    stale = alarm(graph, "labels-stale")
    assert (stale["metricName"], stale["threshold"], stale["treatMissingData"]) == ("NewestLabelAgeHours", 48, "breaching")
    coverage = alarm(graph, "label-coverage-low")
    assert (coverage["metricName"], coverage["threshold"], coverage["comparisonOperator"]) == ("LabelCoverage", 50, "LessThanThreshold")
    stalled = alarm(graph, "quality-job-stalled")
    assert (stalled["metricName"], stalled["statistic"], stalled["treatMissingData"], stalled["period"]) == ("JudgedPredictions", "SampleCount", "breaching", 86400)
    assert stalled["evaluationPeriods"] == 2


def test_quality_job_runs_the_quality_module_with_the_gates_and_the_served_package(planned) -> None:
    graph, _ = planned
    pipeline = next(r for r in graph.by_type(PIPELINE) if r.inputs["pipelineName"] == f"{PREFIX}-quality")
    step = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"][0]["Arguments"]
    app = step["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python", "-m", "mlstack.drift.quality"]
    args = app["ContainerArguments"]

    def arg(name: str) -> str:
        return args[args.index(name) + 1]

    assert arg("--ground-truth-uri") == GT and arg("--label-lag-hours") == "720" and arg("--slices") == "contract"
    assert arg("--model-package-arn") == "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-xgb/7"
    assert json.loads(arg("--gates")) == [
        {"metric": "accuracy", "op": ">=", "threshold": "last-approved", "tolerance": 0.02},
        {"metric": "auc", "op": ">=", "threshold": 0.8, "tolerance": 0.02},
    ]
    assert step["NetworkConfig"] == {"EnableNetworkIsolation": False}
    schedule = next(r for r in graph.by_type(SCHEDULE) if r.name == "churn-xgb-quality-schedule").inputs
    assert schedule["scheduleExpression"] == "rate(24 hours)"
    statements = {s["Sid"]: s for s in policy(graph, "churn-xgb-quality-job-role-policy")["Statement"]}
    assert statements["ReadGroundTruth"]["Resource"] == "arn:aws:s3:::churn-labels/ground-truth/scoring/*"
    assert statements["ListGroundTruth"]["Condition"] == {"StringLike": {"s3:prefix": ["ground-truth/scoring/*"]}}
    assert statements["ReadApprovedEvaluation"] == {
        "Sid": "ReadApprovedEvaluation",
        "Effect": "Allow",
        "Action": "sagemaker:DescribeModelPackage",
        "Resource": "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-xgb/7",
    }
    assert statements["PublishQualityMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "mlstack/Quality"}}


def test_quality_alarms_can_retrain_through_the_cooldown(planned) -> None:
    graph, _ = planned
    rule = json.loads(graph.by_type("aws:cloudwatch/eventRule:EventRule")[0].inputs["eventPattern"])
    assert rule["detail"]["alarmName"] == [f"{PREFIX}-quality-accuracy", f"{PREFIX}-bias-gap", f"{PREFIX}-features-drifted"]
    assert len(graph.by_type("aws:sfn/stateMachine:StateMachine")) == 1


def test_dashboard_shows_quality_fairness_concept_drift_and_labels(planned) -> None:
    graph, _ = planned
    widgets = json.loads(graph.by_type(DASHBOARD)[0].inputs["dashboardBody"])["widgets"]
    titles = [w["properties"].get("title") for w in widgets]
    for title in ("Production quality (binary), labelled predictions", "Margin to the promotion gates (below 0: alarm)", "Fairness between slices", "Concept drift", "Ground truth: coverage and lag", "Quality runs"):
        assert title in titles
    margins = widgets[titles.index("Margin to the promotion gates (below 0: alarm)")]["properties"]["metrics"]
    assert [m[5] for m in margins] == ["accuracy", "auc"]


def test_without_a_bias_gate_the_seed_rule_bounds_the_bias_gap() -> None:
    graph, _ = build(quality=QUALITY, model_gates=GATES[:2])
    assert alarm(graph, "bias-gap")["threshold"] == 0.01
    assert "quality-reference-missing" in alarm_keys(graph)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"endpoint": {"capture_uri": None}, "quality": QUALITY}, "argument quality: endpoint 'churn-xgb' does not capture its requests and predictions"),
        ({"quality": {**QUALITY, "image": None}}, "argument quality.image: the quality job needs a container image"),
        ({"quality": {**QUALITY, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlstack:latest"}}, "argument quality.image: '" + f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlstack:latest' is not pinned by digest"),
        (
            {"quality": QUALITY, "retrain": {"alarms": ["quality-precision"], "pipeline_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p"}, "model_gates": GATES},
            "argument retrain.alarms[0]: alarm 'quality-precision' does not exist: model 'churn-xgb' has no gate on that metric",
        ),
    ],
)
def test_rejects_quality_the_endpoint_cannot_support(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=None) as caught:
        build(**settings)
    assert message in str(caught.value)


# -- bad stack files exit 2 with every problem at its key ------------------------------------------------

from test_monitor import GOOD_DRIFT, run_cli  # noqa: E402

GOOD_QUALITY = {"groundTruthUri": GT, "problemType": "binary", "image": IMAGE, "slices": ["plan"]}


def test_a_valid_quality_monitor_plans(cli, write_stack):
    code, err = run_cli(cli, write_stack, [{"endpoint": "scoring", "drift": GOOD_DRIFT, "quality": GOOD_QUALITY}])
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    "monitor, expected",
    [
        (
            {"endpoint": "scoring", "drift": GOOD_DRIFT, "quality": {**GOOD_QUALITY, "slices": ["regio"]}},
            "mlstack:monitors[0].quality.slices[0]: 'regio' is not a feature endpoint 'scoring' captures",
        ),
        (
            {"endpoint": "scoring", "quality": {**GOOD_QUALITY, "requestColumns": ["id", "plan"], "slices": ["plan", "age_band"]}},
            "mlstack:monitors[0].quality.slices[1]: 'age_band' is not a column of the request (requestColumns: id, plan)",
        ),
        (
            {"endpoint": "scoring", "quality": {**GOOD_QUALITY, "thresholds": {"rmse": 2.0}}},
            "mlstack:monitors[0].quality.thresholds.rmse: a binary model does not produce 'rmse'; it produces accuracy, precision, recall, f1, auc",
        ),
        (
            {"endpoint": "scoring", "quality": {**GOOD_QUALITY, "problemType": "regression", "thresholds": {"accuracy": 0.9}}},
            "mlstack:monitors[0].quality.thresholds.accuracy: a regression model does not produce 'accuracy'; it produces rmse, mae",
        ),
        (
            {"endpoint": "scoring", "quality": {**GOOD_QUALITY, "problemType": "ranking"}},
            "mlstack:monitors[0].quality.problemType: Input should be 'binary', 'multiclass' or 'regression' (got 'ranking')",
        ),
        (
            {"endpoint": "scoring", "quality": {k: v for k, v in GOOD_QUALITY.items() if k != "image"}},
            "mlstack:monitors[0].quality.image: the quality job needs a container image with mlstack installed",
        ),
        (
            {"endpoint": "scoring", "quality": GOOD_QUALITY, "retrain": {"alarms": ["quality-f1"], "pipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p"}},
            "mlstack:monitors[0].retrain.alarms[0]: alarm 'quality-f1' does not exist",
        ),
        (
            {"endpoint": "scoring", "quality": GOOD_QUALITY, "retrain": {"alarms": ["labels-stale"], "cooldownHours": 0, "pipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p"}},
            "mlstack:monitors[0].retrain.cooldownHours: Input should be greater than or equal to 1 (got 0)",
        ),
    ],
)
def test_bad_quality_input_exits_2_with_the_key_the_value_and_the_fix(cli, write_stack, monitor, expected):
    code, err = run_cli(cli, write_stack, [monitor])
    assert code == 2, err
    assert expected in err
    assert "Traceback" not in err


def test_quality_needs_data_capture(cli, write_stack):
    from test_monitor import SERVED

    endpoint = {**SERVED["mlstack:endpoints"][0], "dataCapture": {"enabled": False}}
    code, err = run_cli(cli, write_stack, [{"endpoint": "scoring", "quality": GOOD_QUALITY}], **{"mlstack:endpoints": [endpoint]})
    assert code == 2
    assert "mlstack:monitors[0].quality: endpoint 'scoring' does not capture its requests and predictions" in err


def test_a_weekly_quality_job_stays_within_cloudwatchs_seven_day_evaluation_range() -> None:
    graph, _ = build(quality={**QUALITY, "interval_hours": 168})
    for key in ("quality-job-stalled", "labels-stale", "label-coverage-low"):
        settings = alarm(graph, key)
        assert settings["period"] <= 86_400 and settings["period"] * settings["evaluationPeriods"] <= 604_800
    assert alarm(graph, "quality-job-stalled")["evaluationPeriods"] == 7


def test_quality_alarms_sit_in_the_composite_alarm_like_the_others() -> None:
    graph, _ = build(quality=QUALITY, model_gates=GATES, composite={"all_of": ["quality-accuracy"], "any_of": ["labels-stale", "label-coverage-low"]})
    composite = graph.by_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")[0].inputs
    assert composite["alarmRule"] == (
        f'ALARM("{PREFIX}-quality-accuracy") AND (ALARM("{PREFIX}-labels-stale") OR ALARM("{PREFIX}-label-coverage-low"))'
    )
    assert alarm(graph, "quality-accuracy")["alarmActions"] == []  # a member pages only through the composite


def test_a_strict_gate_breaches_at_a_margin_of_zero_and_a_labels_key_is_granted() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111-labels"
    graph, _ = build(quality={**QUALITY, "ground_truth_kms_key_arn": key}, model_gates=[GateSpec(metric="recall", op=">", threshold=0.6)])
    assert alarm(graph, "quality-recall")["comparisonOperator"] == "LessThanOrEqualToThreshold"
    statements = {s["Sid"]: s for s in policy(graph, "churn-xgb-quality-job-role-policy")["Statement"]}
    assert key in statements["UseKeys"]["Resource"]
