"""Regression file of hostile inputs: values AWS would refuse only at deploy time, and data files
built to trip the readers. Each case runs through the command a user runs; none may print a
traceback, every refusal names its key (or line) and exit codes follow the contract (2: bad
input; validate-data: 1 bad data). Add a case here whenever a new one is found.

The data cases are also checked against the plain row-by-row reference of
tests/test_validate_data.py, so "no traceback" never hides a wrong verdict.
"""

from __future__ import annotations

import copy
import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from mlstack.datacheck import feature_group_schema
from test_validate_data import _normalised, _reference_csv, _reference_jsonl

KEY_ELSEWHERE = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_HERE = KEY_ELSEWHERE.replace("us-east-1", "eu-west-1")


def _prod_config() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.churn-prod.yaml").read_text())["config"]
    # The cases below bring their own KMS keys, which mlstack cannot share with another account:
    # without readers, each case fails for its own value only (readers + kmsKeyArn is refused too).
    config["mlstack:registry"].pop("crossAccountReaders", None)
    return config


def _training(config: dict) -> dict:
    return config["mlstack:models"][0]["training"]


def _set(path: str, value: Any):
    """A change to the churn-prod config: ``path`` is dotted, list items by index."""

    def change(config: dict) -> None:
        *parents, last = path.split(".")
        node: Any = config
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return change


# (id, change to churn-prod's config, environment, the key the problem is reported at, what it says)
STACK_CASES = [
    ("cron-both-days", _set("mlstack:models.0.training.schedule", "cron(0 3 * * MON *)"), {}, "mlstack:models[0].training.schedule", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron-five-fields", _set("mlstack:models.0.training.schedule", "cron(0 3 * * ?)"), {}, "mlstack:models[0].training.schedule", "has 6 fields"),
    ("cron-minute-60", _set("mlstack:models.0.training.schedule", "cron(60 3 ? * MON *)"), {}, "mlstack:models[0].training.schedule", "minutes: 60 is outside 0-59"),
    ("cron-year-past", _set("mlstack:models.0.training.schedule", "cron(0 3 ? * MON 1969)"), {}, "mlstack:models[0].training.schedule", "year: 1969 is outside 1970-2199"),
    ("cron-hash-6", _set("mlstack:models.0.training.schedule", "cron(0 3 ? * 2#6 *)"), {}, "mlstack:models[0].training.schedule", "the week after '#' is 1 to 5"),
    ("cron-W-in-list", _set("mlstack:models.0.training.schedule", "cron(0 3 1,15W * ? *)"), {}, "mlstack:models[0].training.schedule", "stand alone"),
    ("cron-step-0", _set("mlstack:models.0.training.schedule", "cron(0/0 3 ? * MON *)"), {}, "mlstack:models[0].training.schedule", "increment"),
    ("rate-singular-plural", _set("mlstack:models.0.training.schedule", "rate(1 hours)"), {}, "mlstack:models[0].training.schedule", "write 'hour'"),
    ("rate-zero", _set("mlstack:models.0.training.schedule", "rate(0 days)"), {}, "mlstack:models[0].training.schedule", "1 or more"),
    ("rate-fraction", _set("mlstack:models.0.training.schedule", "rate(1.5 hours)"), {}, "mlstack:models[0].training.schedule", "whole number"),
    ("at-expression", _set("mlstack:models.0.training.schedule", "at(2027-01-01T00:00:00)"), {}, "mlstack:models[0].training.schedule", "is not a schedule"),
    ("time-zone-abbreviation", _set("mlstack:models.0.training.scheduleTimezone", "CEST"), {}, "mlstack:models[0].training.scheduleTimezone", "is not an IANA time zone"),
    ("time-zone-typo", _set("mlstack:models.0.training.scheduleTimezone", "Europe/Dublni"), {}, "mlstack:models[0].training.scheduleTimezone", "did you mean 'Europe/Dublin'"),
    ("time-zone-path", _set("mlstack:models.0.training.scheduleTimezone", "../../etc/passwd"), {}, "mlstack:models[0].training.scheduleTimezone", "is not an IANA time zone"),
    ("kms-training-other-region", _set("mlstack:models.0.training.kmsKeyArn", KEY_ELSEWHERE), {}, "mlstack:models[0].training.kmsKeyArn", "is in us-east-1, but the stack deploys to eu-west-1"),
    ("kms-endpoint-other-region", _set("mlstack:endpoints.0.kmsKeyArn", KEY_ELSEWHERE), {}, "mlstack:endpoints[0].kmsKeyArn", "is in us-east-1"),
    ("kms-monitor-other-region", _set("mlstack:monitors.0.notifications.kmsKeyArn", KEY_ELSEWHERE), {}, "mlstack:monitors[0].notifications.kmsKeyArn", "is in us-east-1"),
    ("kms-other-partition", _set("mlstack:endpoints.0.kmsKeyArn", KEY_HERE.replace("arn:aws:", "arn:aws-us-gov:")), {}, "mlstack:endpoints[0].kmsKeyArn", "is in partition aws-us-gov"),
    ("hyperparameters-101", _set("mlstack:models.0.training.train.hyperparameters", {f"h{i}": i for i in range(101)}), {}, "mlstack:models[0].training.train.hyperparameters", "accepts at most 100"),
    ("hyperparameter-value-2501", _set("mlstack:models.0.training.train.hyperparameters", {"eta": "9" * 2501}), {}, "mlstack:models[0].training.train.hyperparameters.eta", "the value is 2501 characters"),
    ("hyperparameter-line-break", _set("mlstack:models.0.training.train.hyperparameters", {"objective": "binary:\nlogistic"}), {}, "mlstack:models[0].training.train.hyperparameters.objective", "line break"),
    ("tags-51-after-lineage", _set("mlstack:tags", {f"t{i:02d}": "x" for i in range(40)}), {}, "mlstack:tags", "would carry 51 tags"),
    ("tag-value-tab", _set("mlstack:tags", {"data-classification": "confi\tdential"}), {}, "mlstack:tags.data-classification", "no tabs or line breaks"),
    ("tag-value-nel", _set("mlstack:tags", {"data-classification": "confi\x85dential"}), {}, "mlstack:tags.data-classification", "no tabs or line breaks"),
    ("dataset-uri-not-a-tag-value", _set("mlstack:models.0.dataset.uri", "s3://example-churn-data/features/v3?x=1/"), {}, "mlstack:models[0].dataset.uri", "mlstack:dataset tag"),
    ("git-commit-empty", _set("mlstack:gitCommit", ""), {}, "mlstack:gitCommit", "is empty"),
    ("git-commit-branch", _set("mlstack:gitCommit", "main"), {}, "mlstack:gitCommit", "is not a git commit hash"),
    ("git-commit-env-empty", lambda config: None, {"MLSTACK_GIT_COMMIT": ""}, "MLSTACK_GIT_COMMIT", "is empty"),
    ("git-commit-env-unknown", lambda config: None, {"MLSTACK_GIT_COMMIT": "unknown"}, "MLSTACK_GIT_COMMIT", "'unknown' is what mlstack records"),
    ("git-commit-env-injection", lambda config: None, {"MLSTACK_GIT_COMMIT": "abc123; rm -rf /"}, "MLSTACK_GIT_COMMIT", "is not a git commit hash"),
]


@pytest.mark.parametrize("change, env, key, needle", [c[1:] for c in STACK_CASES], ids=[c[0] for c in STACK_CASES])
def test_values_aws_would_refuse_at_deploy_exit_2_at_their_key(tmp_path, cli, monkeypatch, change, env, key, needle):
    config = copy.deepcopy(_prod_config())
    change(config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stack = tmp_path / "Pulumi.churn-prod.yaml"
    stack.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    code, out, err = cli("plan", str(stack))
    assert code == 2, out + err
    assert "Traceback" not in err
    assert f"{key}: " in err, err
    if needle:
        assert needle in err, err


def test_the_unchanged_stack_plans(tmp_path, cli, monkeypatch):
    """The baseline of the cases above is valid: each case fails for its own change only."""
    monkeypatch.delenv("MLSTACK_GIT_COMMIT", raising=False)
    config = _prod_config()
    _training(config)["kmsKeyArn"] = KEY_HERE
    config["mlstack:endpoints"][0]["kmsKeyArn"] = KEY_HERE
    config["mlstack:tags"] = {f"t{i:02d}": "x" for i in range(39)}  # 50 tags on the registry group
    stack = tmp_path / "Pulumi.churn-prod.yaml"
    stack.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    code, out, err = cli("plan", str(stack))
    assert code == 0, err


# -- data files built to trip validate-data ---------------------------------------------------------

HEADER = "customer_id,event_time,tenure_months,monthly_charges,support_calls_90d,contract,churned"
ROW = "C00000001,2026-11-01T08:00:00Z,12,70.5,1,monthly,0"
RECORD = {"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00Z", "tenure_months": 12, "monthly_charges": 70.5, "contract": "monthly"}


def _jsonl(*records: Any, end: str = "\n") -> bytes:
    return end.join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records).encode() + end.encode()


# (id, format, file bytes, exit code, whether records can be compared with the row-by-row
# reference; files without records or with a header problem get one file-level problem instead)
DATA_CASES = [
    ("csv-bom-crlf", "csv", b"\xef\xbb\xbf" + f"{HEADER}\r\n{ROW}\r\n".encode(), 0, True),
    ("csv-cr-only", "csv", f"{HEADER}\r{ROW}\r".encode(), 0, True),
    ("csv-trailing-blank-lines", "csv", f"{HEADER}\n{ROW}\n\n\n\n".encode(), 0, True),
    ("csv-blank-lines-between", "csv", f"\n{HEADER}\n\n{ROW}\n\n{ROW.replace('12', '-1')}\n".encode(), 1, True),
    ("csv-quoted-separator", "csv", f'{HEADER}\n{ROW.replace("monthly", chr(34) + "month,ly" + chr(34))}\n'.encode(), 1, True),
    ("csv-quoted-newline", "csv", f'{HEADER}\n{ROW.replace("monthly", chr(34) + "month" + chr(10) + "ly" + chr(34))}\n{ROW}\n'.encode(), 1, True),
    ("csv-quoted-newline-in-header", "csv", f'{HEADER.replace("churned", chr(34) + "chur" + chr(10) + "ned" + chr(34))}\n{ROW}\n'.encode(), 1, False),
    ("csv-nul-byte", "csv", f"{HEADER}\n{ROW.replace('monthly', 'month' + chr(0) + 'ly')}\n".encode(), 1, True),
    ("csv-field-over-csv-limit", "csv", f"{HEADER}\n{ROW.replace('monthly', 'm' * (csv.field_size_limit() + 10))}\n".encode(), 1, True),
    ("csv-bom-field-over-csv-limit", "csv", b"\xef\xbb\xbf" + f"{HEADER}\n{ROW.replace('monthly', 'm' * (csv.field_size_limit() + 10))}\n".encode(), 1, True),
    ("csv-ragged", "csv", f"{HEADER}\n{ROW},extra\n{ROW}\n".encode(), 1, True),
    ("csv-header-only", "csv", f"{HEADER}\n".encode(), 1, False),
    ("csv-empty", "csv", b"", 1, False),
    ("csv-latin-1", "csv", f"{HEADER}\n{ROW.replace('monthly', 'mönthly')}\n".encode("latin-1"), 1, False),
    ("csv-utf-16", "csv", f"{HEADER}\n{ROW}\n".encode("utf-16"), 1, False),
    ("csv-gzip", "csv", gzip.compress(f"{HEADER}\n{ROW}\n".encode()), 1, False),
    ("jsonl-line-separators-in-strings", "jsonl", _jsonl(*({**RECORD, "contract": f"month{c}ly"} for c in "\u2028\u2029\u0085\x0c\x1c")), 1, True),
    ("jsonl-crlf-bom", "jsonl", b"\xef\xbb\xbf" + _jsonl(RECORD, RECORD, end="\r\n"), 0, True),
    ("jsonl-blank-and-whitespace-lines", "jsonl", _jsonl("", " \t", RECORD, "\r", RECORD, ""), 0, True),
    ("jsonl-separator-alone-on-a-line", "jsonl", _jsonl(RECORD, "\u2028", RECORD), 1, True),
    ("jsonl-two-values-split-by-cr", "jsonl", _jsonl(json.dumps(RECORD) + "\r" + json.dumps(RECORD)), 1, True),
    ("jsonl-fragments-that-join", "jsonl", _jsonl('{"customer_id": [1', '2], "x": 1}', RECORD), 1, True),
    ("jsonl-nested-200k", "jsonl", _jsonl("[" * 200_000 + "]" * 200_000, RECORD), 1, True),
    ("jsonl-5000-digit-integer", "jsonl", _jsonl(json.dumps(RECORD).replace("12", "1" * 5000)), 1, True),
    ("jsonl-nan-literal", "jsonl", _jsonl(json.dumps(RECORD).replace("70.5", "NaN")), 1, True),
    ("jsonl-nul-in-string", "jsonl", _jsonl(json.dumps(RECORD).replace("monthly", "month\x00ly")), 1, True),
    ("jsonl-not-an-object", "jsonl", _jsonl("[1, 2]", '"text"', "null", RECORD), 1, True),
    ("jsonl-duplicate-keys", "jsonl", _jsonl(json.dumps(RECORD)[:-1] + ', "contract": "weekly"}'), 1, True),
    ("jsonl-only-blank-lines", "jsonl", b"\n\n \r\n", 1, False),
    ("jsonl-binary", "jsonl", bytes(range(256)), 1, False),
]


@pytest.mark.parametrize("fmt, data, expected, comparable", [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES])
def test_hostile_data_files_get_a_verdict_never_a_traceback(tmp_path, cli, fmt, data, expected, comparable):
    from mlstack.datacheck import validate_file

    sample = tmp_path / f"sample.{fmt}"
    sample.write_bytes(data)
    code, out, err = cli("validate-data", "churn-prod", "customers", str(sample))
    assert "Traceback" not in out + err
    assert code == expected, out + err
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    report = validate_file(sample, schema, fmt)
    if not comparable:
        assert any(p.row is None for p in report.problems)  # one problem about the file or its header
        return
    got = _normalised(report)
    if fmt == "jsonl":
        got = {
            (line, row, column, "invalid JSON" if m.startswith("not valid JSON") else "not an object" if m.endswith("is not a JSON object of column values") else m)
            for line, row, column, m in got
        }
    reference = _reference_csv if fmt == "csv" else _reference_jsonl
    assert got == reference(data, schema)


def test_csv_field_limit_is_restored_after_a_file(tmp_path):
    from mlstack.datacheck import validate_file

    before = csv.field_size_limit()
    sample = tmp_path / "big.csv"
    sample.write_text(f"{HEADER}\n{ROW.replace('monthly', 'm' * (before + 10))}\n")
    validate_file(sample, feature_group_schema("churn-prod", "customers", cwd=ROOT), "csv")
    assert csv.field_size_limit() == before
