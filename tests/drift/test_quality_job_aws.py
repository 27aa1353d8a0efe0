"""The quality job end to end against moto in server mode: captured predictions and late labels
in S3, the served model package's evaluation metrics in SageMaker, metrics out in CloudWatch
``mlstack/Quality``; checked against scikit-learn on the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

sklearn_metrics = pytest.importorskip("sklearn.metrics")

from mlstack.drift import quality as q  # noqa: E402
from mlstack.drift.quality.job import Bound, run_quality  # noqa: E402

BUCKET = "mlstack-quality-test"
ENDPOINT = "churn-scoring"
COLUMNS = ["customer_id", "tenure_months", "contract"]
LAG_HOURS = 720  # 30 days
N = 600


class World:
    """600 predictions 30 days ago; labels for 500 of them (arrived since), plus noise."""

    def __init__(self, now: datetime) -> None:
        rng = np.random.default_rng(7)
        self.now = now
        self.made = now - timedelta(hours=LAG_HOURS + 6)  # inside the judged 24 h window
        self.contract = np.where(rng.random(N) < 0.5, "monthly", "yearly")
        self.y = rng.integers(0, 2, N)
        # worse on monthly contracts
        noise = np.where(self.contract == "monthly", 0.35, 0.15)
        self.score = np.clip(self.y * 0.5 + 0.25 + rng.normal(0, noise), 0, 1).round(3)
        self.score[3] = np.nan  # a NaN prediction
        self.labelled = np.arange(N) < 500

    def capture(self) -> bytes:
        lines = []
        for i in range(N):
            out = "nan" if np.isnan(self.score[i]) else f"{self.score[i]}"
            lines.append(
                json.dumps(
                    {
                        "captureData": {
                            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": f"C{i:08d},{i % 40},{self.contract[i]}", "encoding": "CSV"},
                            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": out, "encoding": "CSV"},
                        },
                        "eventMetadata": {"eventId": f"evt-{i}", "inferenceId": f"inf-{i}", "inferenceTime": (self.made + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")},
                        "eventVersion": "0",
                    }
                )
            )
        return ("\n".join(lines) + "\n").encode()

    def labels(self) -> bytes:
        lines = [
            json.dumps({"groundTruthData": {"data": str(int(self.y[i])), "encoding": "CSV"}, "eventMetadata": {"eventId": f"inf-{i}"}, "eventVersion": "0"})
            for i in range(N)
            if self.labelled[i]
        ]
        lines.append(json.dumps({"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "inf-unknown"}, "eventVersion": "0"}))
        return ("\n".join(lines) + "\n").encode()

    def expected(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = self.labelled & ~np.isnan(self.score)
        return self.y[keep], self.score[keep], self.contract[keep]


def _put(s3: Any, world: World) -> None:
    s3.create_bucket(Bucket=BUCKET)
    made = world.made
    s3.put_object(Bucket=BUCKET, Key=f"capture/{ENDPOINT}/AllTraffic/{made:%Y/%m/%d/%H}/a.jsonl", Body=world.capture())
    arrived = world.now - timedelta(hours=30)
    s3.put_object(Bucket=BUCKET, Key=f"ground-truth/{arrived:%Y/%m/%d/%H}/labels.jsonl", Body=world.labels())
    # a correction of prediction 0 an hour later (latest wins) and a stale label file from long ago
    fixed = 1 - int(world.y[0])
    world.y[0] = fixed
    s3.put_object(
        Bucket=BUCKET,
        Key=f"ground-truth/{arrived + timedelta(hours=1):%Y/%m/%d/%H}/fix.jsonl",
        Body=json.dumps({"groundTruthData": {"data": str(fixed), "encoding": "CSV"}, "eventMetadata": {"eventId": "inf-0"}}).encode(),
    )
    s3.put_object(Bucket=BUCKET, Key="ground-truth/2020/01/01/00/old.jsonl", Body=b'{"groundTruthData": {"data": "0"}, "eventMetadata": {"eventId": "inf-1"}}\n')
    base = "prediction,label\n" + "\n".join(f"{s},{y}" for s, y in zip(np.clip(world.score[:400], 0, 1), world.y[:400]) if s == s)
    s3.put_object(Bucket=BUCKET, Key="baseline/validation.csv", Body=base.encode())


def _package(sm: Any, accuracy: str) -> str:
    sm.create_model_package_group(ModelPackageGroupName="churn-xgb")
    resp = sm.create_model_package(
        ModelPackageGroupName="churn-xgb",
        InferenceSpecification={"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        CustomerMetadataProperties={"mlstack:metric:accuracy": accuracy, "mlstack:metric:auc": "0.9"},
        ModelApprovalStatus="Approved",
    )
    return resp["ModelPackageArn"]


def _listed(cloudwatch: Any) -> dict[tuple[str, tuple], None]:
    out = {}
    for metric in cloudwatch.list_metrics(Namespace=q.NAMESPACE)["Metrics"]:
        out[(metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))] = None
    return out


def _value(cloudwatch: Any, now: datetime, name: str, **dims: str) -> list[float]:
    resp = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": q.NAMESPACE, "MetricName": name, "Dimensions": [{"Name": q.DIMENSION_ENDPOINT, "Value": ENDPOINT}] + [{"Name": k, "Value": v} for k, v in dims.items()]},
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
    )
    return list(resp["MetricDataResults"][0]["Values"])


@pytest.fixture
def world() -> World:
    return World(datetime.now(UTC).replace(microsecond=0))


def _run(aws_session: Any, world: World, **kwargs: Any) -> Any:
    return run_quality(
        ENDPOINT,
        f"s3://{BUCKET}/capture/",
        f"s3://{BUCKET}/ground-truth/",
        problem="binary",
        request_columns=COLUMNS,
        slices=["contract"],
        min_slice_size=50,
        window_hours=24,
        label_lag_hours=LAG_HOURS,
        now=world.now,
        s3_client=aws_session.client("s3"),
        cloudwatch_client=aws_session.client("cloudwatch"),
        sagemaker_client=aws_session.client("sagemaker"),
        **kwargs,
    )


def test_run_joins_late_labels_and_publishes_what_scikit_learn_computes(aws_session, world: World) -> None:
    s3, cloudwatch, sm = aws_session.client("s3"), aws_session.client("cloudwatch"), aws_session.client("sagemaker")
    _put(s3, world)
    arn = _package(sm, "0.99")
    gates = [Bound("accuracy", ">=", "last-approved", 0.02), Bound("auc", ">=", 0.8)]
    report = _run(aws_session, world, gates=gates, model_package_arn=arn, baseline_uri=f"s3://{BUCKET}/baseline/validation.csv", report_uri=f"s3://{BUCKET}/reports/")

    y, score, contract = world.expected()
    pred = score >= 0.5
    assert report.counts["judged_predictions"] == N - 1  # the NaN prediction is not judged
    assert report.counts["labelled_predictions"] == y.size == 499
    assert report.counts["duplicate_labels"] == 1  # the correction of inf-0
    assert report.counts["unmatched_labels"] == 1  # inf-unknown (the 2020 file is outside the window)
    assert report.quality["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(y, pred))
    assert report.quality["auc"] == pytest.approx(sklearn_metrics.roc_auc_score(y, score))
    assert report.coverage_percent == pytest.approx(100 * 499 / 599)
    assert report.newest_label_age_hours == pytest.approx(29, abs=1)
    assert report.median_label_lag_hours == pytest.approx(LAG_HOURS + 6 - 30, abs=1)
    # production accuracy vs the approved version's 0.99 - 0.02: breached
    assert report.margins["accuracy"] == pytest.approx(report.quality["accuracy"] - 0.97)
    assert report.margins["accuracy"] < 0
    assert report.margins["auc"] == pytest.approx(report.quality["auc"] - 0.8)
    monthly, yearly = contract == "monthly", contract == "yearly"
    ppr = abs(pred[monthly].mean() - pred[yearly].mean())
    tpr = abs(sklearn_metrics.recall_score(y[monthly], pred[monthly]) - sklearn_metrics.recall_score(y[yearly], pred[yearly]))
    assert report.slices["contract"].demographic_parity_difference == pytest.approx(ppr)
    assert report.slices["contract"].equal_opportunity_difference == pytest.approx(tpr)
    assert report.slices["contract"].worst_slice == "monthly"
    assert not np.isnan(report.output_psi)

    now = world.now
    assert _value(cloudwatch, now, q.METRIC_QUALITY, Metric="accuracy") == [pytest.approx(report.quality["accuracy"])]
    assert _value(cloudwatch, now, q.METRIC_GATE_MARGIN, Metric="accuracy") == [pytest.approx(report.margins["accuracy"])]
    assert _value(cloudwatch, now, q.METRIC_BIAS_DELTA) == [pytest.approx(max(ppr, tpr))]
    assert _value(cloudwatch, now, q.METRIC_LABEL_COVERAGE) == [pytest.approx(100 * 499 / 599)]
    assert _value(cloudwatch, now, q.METRIC_REFERENCE_MISSING) == [0.0]
    assert _value(cloudwatch, now, q.METRIC_SLICE_QUALITY, Feature="contract", Slice="monthly") == [
        pytest.approx(sklearn_metrics.accuracy_score(y[monthly], pred[monthly]))
    ]
    listed = {name for name, _ in _listed(cloudwatch)}
    assert {q.METRIC_OUTPUT_PSI, q.METRIC_CONDITIONAL_ERROR_CHANGE, q.METRIC_NEWEST_LABEL_AGE, q.METRIC_JUDGED} <= listed
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]]
    assert len(keys) == 1
    written = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert written["counts"]["labelled_predictions"] == 499


def test_a_window_whose_labels_have_not_arrived_publishes_coverage_zero_and_no_quality(aws_session, world: World) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    s3.create_bucket(Bucket=BUCKET)
    made = world.made
    s3.put_object(Bucket=BUCKET, Key=f"capture/{ENDPOINT}/AllTraffic/{made:%Y/%m/%d/%H}/a.jsonl", Body=world.capture())
    report = _run(aws_session, world)
    assert report.counts["labelled_predictions"] == 0
    assert _value(cloudwatch, world.now, q.METRIC_LABEL_COVERAGE) == [0.0]
    listed = {name for name, _ in _listed(cloudwatch)}
    # nothing to judge: no quality, no bias; and no label at all: no label age (labels-stale breaches on missing data)
    assert not listed & {q.METRIC_QUALITY, q.METRIC_BIAS_DELTA, q.METRIC_NEWEST_LABEL_AGE, q.METRIC_GATE_MARGIN}
    assert q.METRIC_JUDGED in listed


def test_a_reference_that_cannot_be_read_is_published_as_missing_not_guessed(aws_session, world: World) -> None:
    s3, cloudwatch, sm = aws_session.client("s3"), aws_session.client("cloudwatch"), aws_session.client("sagemaker")
    _put(s3, world)
    arn = _package(sm, "not-a-number")
    report = _run(aws_session, world, gates=[Bound("accuracy", ">=", "last-approved", 0.0)], model_package_arn=arn)
    assert report.reference_missing == ["accuracy"]
    assert "accuracy" not in report.margins
    assert _value(cloudwatch, world.now, q.METRIC_REFERENCE_MISSING) == [1.0]


def test_cli_runs_against_the_endpoint_from_the_environment(aws_session, world: World) -> None:
    _put(aws_session.client("s3"), world)
    args = [
        sys.executable, "-m", "mlstack.drift.quality", "--endpoint-name", ENDPOINT,
        "--capture-uri", f"s3://{BUCKET}/capture/", "--ground-truth-uri", f"s3://{BUCKET}/ground-truth/",
        "--problem-type", "binary", "--request-columns", ",".join(COLUMNS), "--slices", "contract",
        "--window-hours", "48", "--label-lag-hours", str(LAG_HOURS - 12), "--gates", '[{"metric": "auc", "op": ">=", "threshold": 0.8}]',
    ]  # fmt: skip
    done = subprocess.run(args, env=aws_session.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "499 labelled" in done.stderr
    assert _listed(aws_session.client("cloudwatch"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gates", "{not json"], "--gates"),
        (["--gates", '[{"metric": "auc", "op": "~", "threshold": 1}]'], "op"),
        (["--gates", '[{"metric": "auc", "threshold": "NaN"}]'], "finite"),
        (["--problem-type", "ranking"], "invalid choice"),
        (["--threshold", "2"], "between 0 and 1"),
    ],
)
def test_cli_bad_usage_exits_2_without_a_traceback(extra: list[str], message: str) -> None:
    base = ["--endpoint-name", "e", "--capture-uri", "s3://bucket-a/c", "--ground-truth-uri", "s3://bucket-a/g", "--problem-type", "binary"]
    done = subprocess.run([sys.executable, "-m", "mlstack.drift.quality", *base, *extra], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


class _Replies:
    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def describe_model_package(self, **_: Any) -> Any:
        return self.reply


@pytest.mark.parametrize(
    "properties, expected",
    [
        ({"mlstack:metric:accuracy": "0.91"}, {"accuracy": 0.91}),
        ({"mlstack:metric:accuracy": "nan", "mlstack:metric:auc": "inf", "mlstack:metric:f1": "1e999"}, {}),
        ({"mlstack:metric:accuracy": "0.9 or so", "mlstack:metric:auc": True, "accuracy": "0.99"}, {}),
        (["mlstack:metric:accuracy", "0.9"], {}),
        (None, {}),
    ],
)
def test_a_hostile_model_package_reply_yields_no_reference_rather_than_a_made_up_one(properties: Any, expected: dict) -> None:
    from mlstack.drift.quality.job import reference_metrics

    assert reference_metrics(_Replies({"CustomerMetadataProperties": properties}), "arn") == expected
