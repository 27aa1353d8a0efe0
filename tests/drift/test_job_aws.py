"""The drift job end to end against the AWS test endpoint (moto by default).

Baseline and data-capture files go to S3, the job runs (in-process and as
``python -m mlstack.drift``), and the metrics are read back from CloudWatch
and checked against the job's report and against an independent
computation on the same rows. Capture parsing and batching are also
checked without AWS.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlstack.drift import (
    DIMENSION_ENDPOINT,
    DIMENSION_FEATURE,
    METRIC_CAPTURED_RECORDS,
    METRIC_CORRUPT_FILES,
    METRIC_FEATURES_DRIFTED,
    METRIC_KL,
    METRIC_PSI,
    NAMESPACE,
)
from mlstack.drift.capture import CaptureParser, hour_of_path, in_window, read_capture
from mlstack.drift.job import DriftReport, run
from mlstack.drift.publish import MAX_DATUMS_PER_CALL, batches, drift_metric_data, put_metric_data
from mlstack.drift.stats import CATEGORICAL, NUMERIC, BaselineProfile

BUCKET = "mlstack-drift-test"
ENDPOINT = "churn-xgb-prod"
COLUMNS = ["tenure", "spend", "plan"]
KINDS = {"tenure": NUMERIC, "spend": NUMERIC, "plan": CATEGORICAL}


# -- data -------------------------------------------------------------------------


def event(data: str, encoding: str, content_type: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": "0.42",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": "2024-01-01T00:00:00Z"},
            "eventVersion": "0",
        }
    )


def csv_row(row: tuple[float, float, str]) -> str:
    return ",".join("" if isinstance(v, float) and np.isnan(v) else repr(v) if isinstance(v, float) else v for v in row)


class Scenario:
    """A baseline, production rows, and their data-capture files."""

    def __init__(self, seed: int = 11, rows: int = 600) -> None:
        rng = np.random.default_rng(seed)
        n = 3_000
        self.baseline = {
            "tenure": rng.normal(24, 6, size=n),
            "spend": rng.uniform(10, 100, size=n),
            "plan": rng.choice(np.array(["basic", "pro", "team"]), size=n, p=[0.6, 0.3, 0.1]),
        }
        tenure = rng.normal(30, 6, size=rows)  # drifted
        spend = rng.uniform(10, 100, size=rows)  # stable
        plan = rng.choice(np.array(["basic", "pro", "team", "enterprise"]), size=rows, p=[0.5, 0.3, 0.1, 0.1])
        tenure[::50] = np.nan
        self.rows = [(float(t), float(s), str(p)) for t, s, p in zip(tenure, spend, plan)]

    def baseline_csv(self) -> bytes:
        lines = [",".join(COLUMNS)]
        for t, s, p in zip(*(self.baseline[c] for c in COLUMNS)):
            lines.append(f"{float(t)!r},{float(s)!r},{p}")
        return ("\n".join(lines) + "\n").encode()

    def production(self) -> dict[str, np.ndarray]:
        cols = list(zip(*self.rows))
        return {
            "tenure": np.array(cols[0], dtype=float),
            "spend": np.array(cols[1], dtype=float),
            "plan": np.array(cols[2]),
        }

    def capture_files(self) -> dict[str, bytes]:
        """Two files: CSV payloads (one and several rows), JSON payloads (several forms), BASE64."""
        rows = self.rows
        csv_part, json_part = rows[:300], rows[300:]
        csv_lines = [event(csv_row(r), "CSV", "text/csv") for r in csv_part[:200]]
        for i in range(200, 300, 5):  # batch requests of 5 rows
            csv_lines.append(event("\n".join(csv_row(r) for r in csv_part[i : i + 5]), "CSV", "text/csv"))
        json_lines = []

        def obj(r: tuple[float, float, str]) -> dict[str, Any]:
            return {"tenure": None if np.isnan(r[0]) else r[0], "spend": r[1], "plan": r[2]}

        for r in json_part[:150]:  # one object per request
            json_lines.append(event(json.dumps(obj(r)), "JSON", "application/json"))
        for i in range(150, 240, 3):  # a list of objects
            json_lines.append(event(json.dumps([obj(r) for r in json_part[i : i + 3]]), "JSON", "application/json"))
        for i in range(240, 290, 10):  # {"instances": [[...], ...]}
            inst = [[None if np.isnan(r[0]) else r[0], r[1], r[2]] for r in json_part[i : i + 10]]
            json_lines.append(event(json.dumps({"instances": inst}), "JSON", "application/json"))
        b64_csv = base64.b64encode("\n".join(csv_row(r) for r in json_part[290:296]).encode()).decode()
        json_lines.append(event(b64_csv, "BASE64", "text/csv"))
        b64_json = base64.b64encode(json.dumps([obj(r) for r in json_part[296:300]]).encode()).decode()
        json_lines.append(event(b64_json, "BASE64", "application/json"))
        json_lines.append(event(base64.b64encode(b"\x89PNG...").decode(), "BASE64", "image/png"))
        assert 296 + 4 == len(json_part)
        return {
            "csv-payloads.jsonl": ("\n".join(csv_lines) + "\n").encode(),
            "json-payloads.jsonl": ("\n".join(json_lines) + "\n").encode(),
        }


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def hour_prefix(t: datetime) -> str:
    return f"capture/{ENDPOINT}/AllTraffic/{t:%Y/%m/%d/%H}/"


def upload(s3: Any, scenario: Scenario, now: datetime, *, current: bool = True) -> None:
    """Baseline and capture files to S3; a stale copy 3 days old is always there (outside the window)."""
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="baseline/baseline.csv", Body=scenario.baseline_csv())
    files = scenario.capture_files()
    stale = hour_prefix(now - timedelta(days=3))
    for name, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=stale + name, Body=body)
        if current:
            s3.put_object(Bucket=BUCKET, Key=hour_prefix(now) + name, Body=body)
    s3.put_object(Bucket=BUCKET, Key=hour_prefix(now) + "notes.txt", Body=b"not capture data")
    # another endpoint sharing the capture destination
    other = hour_prefix(now).replace(ENDPOINT, "other-endpoint") + "other.jsonl"
    s3.put_object(Bucket=BUCKET, Key=other, Body=(event("1,2,basic", "CSV", "text/csv") + "\n").encode())


def metric_values(
    cloudwatch: Any, now: datetime, queries: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, list[float]]:
    """Values of each (metric, dimensions) around ``now``, keyed like ``queries``."""
    ids = {f"q{i}": key for i, key in enumerate(queries)}
    resp = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": qid,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": queries[key][0],
                        "Dimensions": [{"Name": k, "Value": v} for k, v in queries[key][1].items()],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
            for qid, key in ids.items()
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
    )
    return {ids[r["Id"]]: list(r["Values"]) for r in resp["MetricDataResults"]}


def listed_metrics(cloudwatch: Any) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    metrics = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    return {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics}


def assert_metrics_match_report(cloudwatch: Any, report: DriftReport, now: datetime) -> None:
    expected = {(METRIC_CAPTURED_RECORDS, ((DIMENSION_ENDPOINT, ENDPOINT),)), (METRIC_CORRUPT_FILES, ((DIMENSION_ENDPOINT, ENDPOINT),))}
    queries: dict[str, tuple[str, dict[str, str]]] = {
        "records": (METRIC_CAPTURED_RECORDS, {DIMENSION_ENDPOINT: ENDPOINT}),
        "corrupt": (METRIC_CORRUPT_FILES, {DIMENSION_ENDPOINT: ENDPOINT}),
    }
    if report.features:
        expected.add((METRIC_FEATURES_DRIFTED, ((DIMENSION_ENDPOINT, ENDPOINT),)))
        queries["drifted"] = (METRIC_FEATURES_DRIFTED, {DIMENSION_ENDPOINT: ENDPOINT})
    for name in report.features:
        for metric in (METRIC_PSI, METRIC_KL):
            expected.add((metric, tuple(sorted([(DIMENSION_ENDPOINT, ENDPOINT), (DIMENSION_FEATURE, name)]))))
            queries[f"{metric}/{name}"] = (metric, {DIMENSION_ENDPOINT: ENDPOINT, DIMENSION_FEATURE: name})
    assert listed_metrics(cloudwatch) == expected

    values = metric_values(cloudwatch, now, queries)
    assert values["records"] == [report.captured_records]
    assert values["corrupt"] == [report.corrupt_files]
    if report.features:
        assert values["drifted"] == [report.features_drifted]
    for name, drift in report.features.items():
        assert values[f"{METRIC_PSI}/{name}"] == [pytest.approx(drift.psi, rel=1e-12)]
        assert values[f"{METRIC_KL}/{name}"] == [pytest.approx(drift.kl, rel=1e-12)]


# -- the job against S3 and CloudWatch -------------------------------------------------


def test_run_publishes_metrics_that_match_the_report(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now)

    report = run(
        ENDPOINT,
        f"s3://{BUCKET}/capture/",
        f"s3://{BUCKET}/baseline/baseline.csv",
        s3_client=s3,
        cloudwatch_client=cloudwatch,
        now=now,
        report_uri=f"s3://{BUCKET}/reports/",
    )

    # every row of the window's two files, none of the stale copies or the other endpoint's
    assert report.capture["files"] == 2
    assert report.captured_records == len(scenario.rows)
    assert report.capture["unsupported"] == 1  # the image/png request
    assert report.capture["malformed"] == 0
    assert report.capture["content_types"] == {"text/csv": 221, "application/json": 186, "image/png": 1}

    # the same numbers as a direct computation on the rows that were sent
    independent = BaselineProfile.from_columns(scenario.baseline).compare(scenario.production())
    assert list(report.features) == COLUMNS
    for name, drift in report.features.items():
        assert drift.psi == pytest.approx(independent[name].psi, rel=1e-12)
        assert drift.kl == pytest.approx(independent[name].kl, rel=1e-12)
        assert drift.count == len(scenario.rows)
    assert report.features["tenure"].missing == 12
    assert report.features["tenure"].psi > 0.2  # shifted by one standard deviation
    assert report.features["spend"].psi < 0.1
    assert report.features["plan"].actual[3] == pytest.approx(
        (scenario.production()["plan"] == "enterprise").mean()
    )  # the unseen category, in the other bucket
    assert report.drifted == [n for n in COLUMNS if independent[n].psi > 0.2]
    assert report.metrics_published == 2 * 3 + 3
    assert report.corrupt_files == 0

    assert_metrics_match_report(cloudwatch, report, now)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]]
    assert keys == [f"reports/{report.report_name()}"]
    written = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert written["features"]["tenure"]["psi"] == report.features["tenure"].psi
    assert written["captured_records"] == len(scenario.rows)


def test_precomputed_profile_gives_the_same_result(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now)
    profile = BaselineProfile.from_csv(scenario.baseline_csv())
    s3.put_object(Bucket=BUCKET, Key="baseline/baseline.json", Body=profile.to_json().encode())
    common = dict(s3_client=s3, cloudwatch_client=cloudwatch, now=now, features=["tenure", "plan"])

    from_json = run(ENDPOINT, f"s3://{BUCKET}/capture", f"s3://{BUCKET}/baseline/baseline.json", **common)
    from_csv = run(ENDPOINT, f"s3://{BUCKET}/capture", f"s3://{BUCKET}/baseline/baseline.csv", **common)
    assert list(from_json.features) == ["tenure", "plan"]
    assert {k: v.to_dict() for k, v in from_json.features.items()} == {
        k: v.to_dict() for k, v in from_csv.features.items()
    }


def test_empty_window_publishes_zero_captured_records(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now, current=False)  # only the 3-day-old partition

    report = run(
        ENDPOINT,
        f"s3://{BUCKET}/capture",
        f"s3://{BUCKET}/baseline/baseline.csv",
        s3_client=s3,
        cloudwatch_client=cloudwatch,
        now=now,
    )
    assert report.captured_records == 0 and report.features == {}
    assert report.capture["files"] == 0
    assert report.metrics_published == 2
    assert_metrics_match_report(cloudwatch, report, now)  # CapturedRecords = 0 and CorruptCaptureFiles = 0, nothing else

    # a window of 0 hours reads everything, the stale partition included
    report = run(
        ENDPOINT,
        f"s3://{BUCKET}/capture",
        f"s3://{BUCKET}/baseline/baseline.csv",
        s3_client=s3,
        cloudwatch_client=cloudwatch,
        now=now,
        window_hours=0,
    )
    assert report.captured_records == len(scenario.rows)


def test_local_capture_directory(aws_session, scenario: Scenario, tmp_path: Path) -> None:
    """The processing-job layout: inputs mounted as local files, report to the output dir."""
    now = now_utc()
    capture = tmp_path / "input" / "capture"
    hour = capture / ENDPOINT / "AllTraffic" / f"{now:%Y/%m/%d/%H}"
    hour.mkdir(parents=True)
    for name, body in scenario.capture_files().items():
        (hour / name).write_bytes(body)
    baseline = tmp_path / "input" / "baseline" / "baseline.csv"
    baseline.parent.mkdir(parents=True)
    baseline.write_bytes(scenario.baseline_csv())
    output = tmp_path / "output"

    cloudwatch = aws_session.client("cloudwatch")
    report = run(ENDPOINT, str(capture), str(baseline), cloudwatch_client=cloudwatch, now=now, report_uri=str(output))
    assert report.captured_records == len(scenario.rows)
    assert_metrics_match_report(cloudwatch, report, now)
    (written,) = output.iterdir()
    assert json.loads(written.read_text())["drifted"] == report.drifted


# -- corrupt capture files ------------------------------------------------------------------


def corrupt_files(scenario: Scenario) -> dict[str, bytes]:
    """Files of the capture prefix no run can read, each broken its own way."""
    import gzip

    good = scenario.capture_files()["csv-payloads.jsonl"]
    return {
        "garbage.jsonl": bytes(range(256)) * 4,
        "not-gzip.jsonl.gz": good,
        "truncated.jsonl.gz": gzip.compress(good)[: len(gzip.compress(good)) // 2],
        "not-utf8.jsonl": "caf\xe9,1,2\n".encode("latin-1") * 3,
        "other-format.jsonl": b'{"level": "info", "msg": "not a capture event"}\n' * 5,
        "nested.jsonl": b"[" * 200_000 + b"\n",
    }


def test_corrupt_capture_files_are_skipped_counted_and_published(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now)
    broken = corrupt_files(scenario)
    for name, body in broken.items():
        s3.put_object(Bucket=BUCKET, Key=hour_prefix(now) + name, Body=body)

    report = run(
        ENDPOINT,
        f"s3://{BUCKET}/capture/",
        f"s3://{BUCKET}/baseline/baseline.csv",
        s3_client=s3,
        cloudwatch_client=cloudwatch,
        now=now,
        report_uri=f"s3://{BUCKET}/reports/",
    )

    assert report.corrupt_files == len(broken) == 6
    assert sorted(name.rsplit("/", 1)[1] for name in report.capture["corrupt"]) == sorted(broken)
    assert report.capture["files"] == 2 + len(broken)
    # the readable files are read as if the corrupt ones were not there
    assert report.captured_records == len(scenario.rows) and report.capture["malformed"] == 0
    independent = BaselineProfile.from_columns(scenario.baseline).compare(scenario.production())
    for name, drift in report.features.items():
        assert drift.psi == pytest.approx(independent[name].psi, rel=1e-12)
    assert report.metrics_published == 2 * 3 + 3
    assert_metrics_match_report(cloudwatch, report, now)  # CorruptCaptureFiles = 6 in CloudWatch
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]]
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["corrupt_files"] == 6


def test_cli_run_with_a_corrupt_file_exits_0_and_names_it(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now)
    s3.put_object(Bucket=BUCKET, Key=hour_prefix(now) + "zz-garbage.jsonl.gz", Body=b"\x00\x01 not gzip")
    result = drift_cli(
        "--endpoint-name", ENDPOINT,
        "--capture-uri", f"s3://{BUCKET}/capture",
        "--baseline-uri", f"s3://{BUCKET}/baseline/baseline.csv",
        env=aws_session.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "skipping corrupt capture file" in result.stderr and "zz-garbage.jsonl.gz" in result.stderr
    assert "Traceback" not in result.stderr
    values = metric_values(cloudwatch, now_utc(), {"corrupt": (METRIC_CORRUPT_FILES, {DIMENSION_ENDPOINT: ENDPOINT})})
    assert values["corrupt"] == [1.0]


def test_a_file_with_some_bad_lines_is_read_not_skipped() -> None:
    good = [event(f"{i},{i},basic", "CSV", "text/csv") for i in range(4)]
    parser = CaptureParser(COLUMNS, KINDS)
    # the last line cut mid-way (an interrupted upload) and a line that is not UTF-8
    data = ("\n".join(good) + "\n").encode() + b"caf\xe9\n" + good[0][:30].encode()
    assert parser.add_file(data, "partial.jsonl")
    result = parser.finish()
    assert (result.rows, result.malformed, result.corrupt_files) == (4, 2, 0)


def test_unicode_line_separators_inside_a_payload_are_data() -> None:
    payload = json.dumps({"tenure": 1, "spend": 2, "plan": "pro\u2028team\u0085x"}, ensure_ascii=False)
    line = json.dumps(json.loads(event(payload, "JSON", "application/json")), ensure_ascii=False)
    assert "\u2028" in line and len(line.splitlines()) > 1  # what str.splitlines would break
    parser = CaptureParser(COLUMNS, KINDS)
    parser.add_file((line + "\n" + line + "\n").encode())
    result = parser.finish()
    assert (result.records, result.rows, result.malformed) == (2, 2, 0)
    assert result.columns["plan"].tolist() == ["pro\u2028team\u0085x"] * 2


def test_hostile_payloads_are_malformed_records_not_a_failed_run() -> None:
    import csv as csv_module

    huge = "9" * 400  # parses, but no float holds it
    lines = [
        event(f"{huge},1,basic", "CSV", "text/csv"),
        event(json.dumps({"tenure": int(huge), "spend": 1, "plan": "pro"}), "JSON", "application/json"),
        event('{"tenure": ' + "1" * 5000 + "}", "JSON", "application/json"),  # beyond Python's int digits
        event("[" * 5000 + "]" * 5000, "JSON", "application/json"),  # nested beyond the JSON reader
        event('1,2,"' + "x" * (csv_module.field_size_limit() + 1) + '"', "CSV", "text/csv"),  # over csv's field limit
        event("3,4,team", "CSV", "text/csv"),
    ]
    data = parse(lines)
    assert data.malformed == 3  # the over-long integer, the deep nesting, the over-long CSV field
    assert data.rows == 3
    # CSV rows first, then JSON; a number beyond float's range is infinite, written as digits or as JSON
    assert data.columns["tenure"].tolist() == [np.inf, 3.0, np.inf]
    assert data.columns["plan"].tolist() == ["basic", "team", "pro"]
    assert BaselineProfile.from_columns({"tenure": [1.0, 2.0, 3.0]}).compare({"tenure": data.columns["tenure"]})["tenure"].psi >= 0


# -- the CLI ------------------------------------------------------------------------------


URIS = ("--capture-uri", "s3://b-1/c", "--baseline-uri", "s3://b-1/x.csv")


def drift_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlstack.drift", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_runs_against_the_endpoint_from_the_environment(aws_session, scenario: Scenario, tmp_path: Path) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    now = now_utc()
    upload(s3, scenario, now)
    result = drift_cli(
        "--endpoint-name", ENDPOINT,
        "--capture-uri", f"s3://{BUCKET}/capture",
        "--baseline-uri", f"s3://{BUCKET}/baseline/baseline.csv",
        "--features", "tenure,spend",
        "--psi-threshold", "0.25",
        "--window-hours", "2",
        "--report-uri", str(tmp_path / "report.json"),
        env=aws_session.env,  # AWS_ENDPOINT_URL and fake credentials
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["features"]) == {"tenure", "spend"}
    assert report["psi_threshold"] == 0.25 and report["window_hours"] == 2
    assert report["captured_records"] == len(scenario.rows)

    generated = datetime.fromisoformat(report["generated_at"])
    values = metric_values(
        cloudwatch,
        generated,
        {
            "psi": (METRIC_PSI, {DIMENSION_ENDPOINT: ENDPOINT, DIMENSION_FEATURE: "tenure"}),
            "records": (METRIC_CAPTURED_RECORDS, {DIMENSION_ENDPOINT: ENDPOINT}),
            "drifted": (METRIC_FEATURES_DRIFTED, {DIMENSION_ENDPOINT: ENDPOINT}),
        },
    )
    assert values["psi"] == [pytest.approx(report["features"]["tenure"]["psi"], rel=1e-12)]
    assert values["records"] == [len(scenario.rows)]
    assert values["drifted"] == [report["features_drifted"]]


def test_cli_empty_window_exits_0_and_says_so(aws_session, scenario: Scenario) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    upload(s3, scenario, now_utc(), current=False)
    result = drift_cli(
        "--endpoint-name", ENDPOINT,
        "--capture-uri", f"s3://{BUCKET}/capture",
        "--baseline-uri", f"s3://{BUCKET}/baseline/baseline.csv",
        env=aws_session.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no captured data" in result.stderr
    names = {m for m, _ in listed_metrics(cloudwatch)}
    assert names == {METRIC_CAPTURED_RECORDS, METRIC_CORRUPT_FILES}
    values = metric_values(
        cloudwatch, now_utc(), {"records": (METRIC_CAPTURED_RECORDS, {DIMENSION_ENDPOINT: ENDPOINT})}
    )
    assert values["records"] == [0.0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "required"),
        (("--endpoint-name", "bad_name!", *URIS), "endpoint name"),
        (("--endpoint-name", "ep", *URIS, "--psi-threshold", "-1"), "> 0"),
        (("--endpoint-name", "ep", *URIS, "--window-hours", "an hour"), "number of hours"),
        (("--endpoint-name", "ep", "--capture-uri", "s3://b-1/c", "--baseline-uri", "s3://b-1"), "bucket, not an object"),
        (("--endpoint-name", "ep", "--capture-uri", "http://x/c", "--baseline-uri", "s3://b-1/x.csv"), "s3://"),
    ],
)
def test_cli_bad_usage_exits_2(args: tuple[str, ...], message: str) -> None:
    result = drift_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_unknown_feature_exits_2(scenario: Scenario, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.csv"
    baseline.write_bytes(scenario.baseline_csv())
    result = drift_cli(
        "--endpoint-name", ENDPOINT,
        "--capture-uri", str(tmp_path),
        "--baseline-uri", str(baseline),
        "--features", "tenure,nope",
    )  # fmt: skip
    assert result.returncode == 2
    assert "features not in the baseline: nope" in result.stderr
    assert "Traceback" not in result.stderr


# -- capture parsing and batching (no AWS) ---------------------------------------------------


def parse(lines: list[str]) -> Any:
    parser = CaptureParser(COLUMNS, KINDS)
    parser.add_file(("\n".join(lines) + "\n").encode())
    return parser.finish()


def test_csv_fast_and_general_paths_agree() -> None:
    rows = ["1.5,10,basic", ",20,pro", "3,,", "4e2,nan,team"]
    fast = parse([event(r, "CSV", "text/csv") for r in rows])
    quoted = parse([event(r, "CSV", "text/csv") for r in rows] + [event('5,6,"a,b"', "CSV", "text/csv")])
    assert fast.rows == 4 and quoted.rows == 5
    for name in COLUMNS:
        np.testing.assert_array_equal(quoted.columns[name][:4], fast.columns[name])
    np.testing.assert_array_equal(fast.columns["tenure"], [1.5, np.nan, 3.0, 400.0])
    np.testing.assert_array_equal(fast.columns["spend"], [10.0, 20.0, np.nan, np.nan])
    assert fast.columns["plan"].tolist() == ["basic", "pro", "", "team"]
    assert quoted.columns["plan"][4] == "a,b"


def test_short_rows_are_padded_and_long_rows_skipped() -> None:
    data = parse([event(payload, "CSV", "text/csv") for payload in ("1,2", "1,2,a,extra", "3,4,b")])
    assert data.rows == 2 and data.malformed == 1
    assert data.columns["plan"].tolist() == ["", "b"]


def test_json_payload_forms() -> None:
    lines = [
        event(json.dumps({"tenure": 1, "spend": 2, "plan": "a", "ignored": 5}), "JSON", "application/json"),
        event(json.dumps([{"tenure": 3}, {"plan": "b"}]), "JSON", "application/json"),
        event(json.dumps([[5, 6, "c"], [7, 8]]), "JSON", "application/json"),
        event(json.dumps([9, 10, "d"]), "JSON", "application/json"),
        event(json.dumps({"instances": [{"features": [11, 12, "e"]}]}), "JSON", "application/json"),
        event('{"tenure": 13}\n{"tenure": 14}', "JSON", "application/jsonlines"),
        event("{not json", "JSON", "application/json"),
        event("[1", "JSON", "application/json"),  # fragments that would make a row if joined
        event("2, 3]", "JSON", "application/json"),
        '{"no": "capture data"}',
        "this line is not JSON",
    ]
    data = parse(lines)
    assert data.records == 9 and data.malformed == 5
    assert data.rows == 9
    assert sorted(np.nan_to_num(data.columns["tenure"], nan=-1).tolist()) == [-1, 1, 3, 5, 7, 9, 11, 13, 14]
    assert sorted(data.columns["plan"].tolist()) == ["", "", "", "", "a", "b", "c", "d", "e"]


def test_capture_windows() -> None:
    assert hour_of_path("capture/ep/AllTraffic/2024/05/01/13/x.jsonl") == datetime(2024, 5, 1, 13, tzinfo=UTC)
    assert hour_of_path("capture/ep/x.jsonl") is None
    now = datetime(2024, 5, 1, 13, 20, tzinfo=UTC)
    start = now - timedelta(hours=1)
    assert in_window("a/2024/05/01/13/x.jsonl", None, start, now)
    assert in_window("a/2024/05/01/12/x.jsonl", None, start, now)  # 12:20-12:59 is in the window
    assert not in_window("a/2024/05/01/11/x.jsonl", None, start, now)
    assert not in_window("a/2024/05/01/14/x.jsonl", None, start, now)
    assert in_window("flat/x.jsonl", now - timedelta(minutes=5), start, now)
    assert not in_window("flat/x.jsonl", now - timedelta(hours=2), start, now)


def test_read_capture_from_a_local_file(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(event("1,2,a", "CSV", "text/csv") + "\n")
    data = read_capture(str(path), COLUMNS, KINDS)
    assert data.rows == 1 and data.files == 1


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_put_metric_data_respects_the_api_limits() -> None:
    now = now_utc()
    features = {f"feature_{i}": (0.1 * i, 0.05 * i) for i in range(1_200)}
    data = drift_metric_data(ENDPOINT, features, captured_records=10, features_drifted=3, timestamp=now)
    assert len(data) == 2 * 1_200 + 3
    client = RecordingClient()
    assert put_metric_data(client, data) == 3
    assert [len(c["MetricData"]) for c in client.calls] == [1_000, 1_000, 403]
    assert all(c["Namespace"] == NAMESPACE for c in client.calls)
    assert [d for c in client.calls for d in c["MetricData"]] == data

    # long dimension values: batches split by size well before 1 MB
    long = {("f" * 1_000) + str(i): (0.1, 0.1) for i in range(1_000)}
    data = drift_metric_data(ENDPOINT, long, captured_records=1, features_drifted=0, timestamp=now)
    sizes = [len(b) for b in batches(data)]
    assert sum(sizes) == len(data) and max(sizes) < MAX_DATUMS_PER_CALL
    for batch in batches(data):
        assert len(json.dumps(batch, default=str)) < 1_000_000 / 3

    with pytest.raises(ValueError):
        drift_metric_data(ENDPOINT, {"x" * 1_025: (0.1, 0.1)}, captured_records=1, features_drifted=0, timestamp=now)
    skipped = drift_metric_data(
        ENDPOINT, {"x": (float("nan"), 0.2)}, captured_records=1, features_drifted=0, timestamp=now
    )
    assert [d["MetricName"] for d in skipped] == [METRIC_KL, METRIC_FEATURES_DRIFTED, METRIC_CAPTURED_RECORDS, METRIC_CORRUPT_FILES]
