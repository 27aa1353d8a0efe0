"""mlstack validate-data: every bad row and column of a sample, exit codes 0 / 1 / 2, and a fast
path that never lets through what jsonschema rejects."""

from __future__ import annotations

import json
import random
import re

import jsonschema
import pytest

from conftest import ROOT
from mlstack.config import load_stack
from mlstack.datacheck import feature_group_schema, validate_file, validate_records

DATA = ROOT / "examples" / "data"
PROBLEM = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?:row (?P<row>\d+): )?(?:column '(?P<column>[^']+)': )?(?P<message>.*)$")


def problems(out: str) -> list[tuple[int, str | None, str | None, str]]:
    found = []
    for line in out.splitlines():
        match = PROBLEM.match(line)
        if match and match["line"]:
            found.append((int(match["line"]), match["row"] and int(match["row"]), match["column"], match["message"]))
    return found


@pytest.mark.parametrize("sample", ["customers-good.csv", "customers-good.jsonl"])
def test_good_samples_pass(cli, sample):
    code, out, err = cli("validate-data", "churn-prod", "customers", str(DATA / sample))
    assert code == 0, out + err
    assert out.strip().endswith("rows match feature group churn-customers")
    assert problems(out) == []


def test_bad_csv_sample_reports_every_bad_row_and_column(cli):
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(DATA / "customers-bad.csv"))
    assert code == 1
    assert [(line, row, column) for line, row, column, _ in problems(out)] == [
        (3, 2, "customer_id"),
        (4, 3, "event_time"),
        (5, 4, "tenure_months"),
        (6, 5, "contract"),
        (6, 5, "monthly_charges"),
        (7, 6, "churned"),
        (7, 6, "tenure_months"),
        (8, 7, None),
        (9, 8, "support_calls_90d"),
        (9, 8, "tenure_months"),
    ]
    messages = {(row, column): message for _, row, column, message in problems(out)}
    assert messages[(2, "customer_id")] == "'C0000002' does not match '^C[0-9]{8}$'"
    assert messages[(4, "tenure_months")] == "-1 is less than the minimum of 0"
    assert messages[(5, "monthly_charges")] == "'abc' is not of type 'number'"
    assert messages[(5, "contract")] == "'weekly' is not one of ['monthly', 'yearly', 'two-year']"
    assert messages[(6, "tenure_months")] == "None is not of type 'integer'"
    assert messages[(7, None)] == "has 5 fields, the header has 7"
    assert messages[(8, "tenure_months")] == "'5.5' is not of type 'integer'"
    assert "8 rows" in out.splitlines()[-1] and "7 of 8 rows" in out.splitlines()[-1]


def test_bad_jsonl_sample_reports_keys_types_and_broken_lines(cli):
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(DATA / "customers-bad.jsonl"))
    assert code == 1
    assert [(line, row, column) for line, row, column, _ in problems(out)] == [
        (2, 2, "region"),
        (2, 2, "tenure_months"),
        (3, 3, "tenure_months"),
        (4, 4, None),
        (5, 5, None),
    ]
    messages = [m for *_, m in problems(out)]
    assert "Additional properties are not allowed ('region' was unexpected)" in messages
    assert "'tenure_months' is a required property" in messages
    assert messages[3].startswith("not valid JSON")


def test_csv_header_problems_are_reported_once(tmp_path, cli):
    sample = tmp_path / "sample.csv"
    sample.write_text("customer_id,event_time,monthly_charges,contract,colour\nC00000001,2026-11-01T08:00:00Z,1,monthly,red\n")
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(sample))
    assert code == 1
    found = problems(out)
    assert (1, None, "tenure_months", "header: 'tenure_months' is a required property") in found
    assert (1, None, "colour", "header: Additional properties are not allowed ('colour' was unexpected)") in found
    assert len(found) == 2


def test_max_errors_caps_the_listing_not_the_count(cli):
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(DATA / "customers-bad.csv"), "--max-errors", "2")
    assert code == 1
    assert len(problems(out)) == 2
    assert "... 8 more problems not shown" in out
    assert "10 problems in 7 of 8 rows" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["churn-prod", "orders", str(DATA / "customers-good.csv")], "declares no feature group 'orders' in mlstack:featureGroups (declared: customers)"),
        (["churn-prod", "customers", str(DATA / "missing.csv")], "does not exist"),
        (["churn-prod", "customers", str(ROOT / "README.md")], "cannot tell the format"),
        (["churn-prd", "customers", str(DATA / "customers-good.csv")], "did you mean churn-prod?"),
        (["churn-prod", "customers", str(DATA / "customers-good.csv"), "--max-errors", "-1"], "--max-errors must be 0"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(cli, argv, needle):
    code, out, err = cli("validate-data", *argv)
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_print_schema_is_the_json_schema_the_check_uses(cli):
    code, out, _ = cli("validate-data", "churn-prod", "customers", "-", "--print-schema")
    assert code == 0
    schema = json.loads(out)
    assert schema == feature_group_schema("churn-prod", "customers", cwd=ROOT)
    validator = jsonschema.Draft202012Validator(schema)
    for line in (DATA / "customers-good.jsonl").read_text().splitlines():
        assert list(validator.iter_errors(json.loads(line))) == []


def test_format_flag_reads_a_file_without_a_known_extension(tmp_path, cli):
    sample = tmp_path / "sample.txt"
    sample.write_text((DATA / "customers-good.jsonl").read_text())
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(sample), "--format", "jsonl")
    assert code == 0, out


def test_csv_records_spanning_lines_are_reported_at_their_own_line(tmp_path):
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    sample = tmp_path / "multi.csv"
    sample.write_text(
        "customer_id,event_time,tenure_months,monthly_charges,support_calls_90d,contract,churned\n"
        'C00000001,2026-11-01T08:00:00Z,1,1,0,"month\nly",0\n'
        "C00000002,2026-11-01T08:00:00Z,-5,1,0,monthly,0\n"
    )
    report = validate_file(sample, schema, "csv")
    assert sorted((p.line, p.row, p.column) for p in report.problems) == [(2, 1, "contract"), (4, 2, "tenure_months")]


# --- the fast path agrees with plain jsonschema ----------------------------------------------


def _random_value(rng: random.Random):
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            1,
            -1,
            2,
            600,
            601,
            2**63,
            -(2**63) - 1,
            1.0,
            0.5,
            -0.0,
            10000.0,
            10000.5,
            "",
            "monthly",
            "yearly",
            "weekly",
            "C00000001",
            "C0000001",
            "c00000001",
            "2026-11-01T08:00:00Z",
            "2026-13-01T08:00:00Z",
            "2026-11-01T08:00:00.1Z",
            "1",
            [1],
            {"a": 1},
            rng.random() * 20000 - 5000,
            rng.randint(-10, 700),
        ]
    )


def test_fast_path_flags_exactly_what_per_row_jsonschema_flags():
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    rng = random.Random(7)
    names = list(schema["properties"])
    records = []
    for _ in range(3000):
        record = {name: _random_value(rng) for name in names if rng.random() > 0.1}
        if rng.random() < 0.05:
            record["unexpected"] = 1
        records.append(record)
    report = validate_records(records, schema)
    flagged = {(p.row, p.column) for p in report.problems}
    validator = jsonschema.Draft202012Validator(schema)
    expected = set()
    for row, record in enumerate(records, start=1):
        for error in validator.iter_errors(record):
            if error.path:
                expected.add((row, error.path[0]))
            elif error.validator == "required":
                expected.add((row, error.message.split("'")[1]))
            else:
                expected.add((row, "unexpected"))
    assert flagged == expected
    assert len(expected) > 1000  # the sample really exercises the rules


def test_schema_comes_from_the_stack_file():
    (group,) = load_stack("churn-prod", cwd=ROOT).spec.feature_groups
    assert feature_group_schema("churn-prod", "customers", cwd=ROOT) == group.record_json_schema(title="churn-customers")


def test_vectorised_csv_path_agrees_with_the_row_by_row_reader_and_jsonschema(tmp_path, monkeypatch):
    import csv as csv_module

    from mlstack.datacheck import validate as module
    from mlstack.datacheck.validate import Report, _check_csv_python, _Checker, _coerce

    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    names = list(schema["properties"])
    rng = random.Random(11)
    cells = ["", "0", "1", "07", "-1", "+3", "600", "601", "1.5", "1.0", "1e3", "-0", "nan", "inf", "9" * 19, "٣",
             "monthly", "weekly", "C00000001", "C0000001", "2026-11-01T08:00:00Z", "2026-11-01T08:00:00.1Z", " 1", "1_0"]
    rows = [[rng.choice(cells) if rng.random() < 0.6 else str(rng.randint(-5, 700)) for _ in names] for _ in range(2000)]
    sample = tmp_path / "random.csv"
    with sample.open("w", newline="") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(names)
        writer.writerows(rows)
    with monkeypatch.context() as patch:
        patch.setattr(module, "_check_csv_python", lambda *a: pytest.fail("the vectorised path fell back"))
        fast = validate_file(sample, schema, "csv")
    slow = Report(path=str(sample), format="csv")
    _check_csv_python(sample, _Checker(schema), slow)
    assert sorted(fast.problems, key=repr) == sorted(slow.problems, key=repr)
    validator = jsonschema.Draft202012Validator(schema)
    expected = set()
    for row, cells_of_row in enumerate(rows, start=1):
        record = {n: _coerce(c, {schema["properties"][n]["type"]} if isinstance(schema["properties"][n]["type"], str) else set(schema["properties"][n]["type"])) for n, c in zip(names, cells_of_row)}
        for error in validator.iter_errors(record):
            expected.add((row, error.path[0]))
    assert {(p.row, p.column) for p in fast.problems} == expected
    assert len(expected) > 1000
