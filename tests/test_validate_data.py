"""mlstack validate-data: every bad row and column of a sample, exit codes 0 / 1 / 2, and a fast
path that never lets through what jsonschema rejects."""

from __future__ import annotations

import json
import random
import re
import sys

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


# --- whatever the file's quirks, validate-data agrees with a plain row-by-row check -------------
#
# The reference below reads records the way the module docstring says (Python's csv module;
# JSON lines split at "\n" only) and checks each one with jsonschema: it shares no code with
# mlstack's readers. Random files mix BOMs, CRLF / LF / CR line ends, quoted separators and
# line breaks, blank and whitespace-only lines, NUL bytes, Unicode line separators inside
# strings, ragged rows, broken and deeply nested JSON lines.

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _kinds_of(schema: dict, name: str) -> set[str]:
    kind = schema["properties"][name]["type"]
    return {kind} if isinstance(kind, str) else set(kind)


def _reference_cell(text: str, kinds: set[str]):
    """A CSV cell as the module docstring defines it."""
    import math

    if text == "":
        return None
    if "integer" in kinds and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    if "number" in kinds and _NUMBER_TEXT.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    return text


def _schema_problems(validator, record: dict, line: int, row: int) -> set[tuple]:
    found = set()
    for error in validator.iter_errors(record):
        if error.path:
            found.add((line, row, error.path[0], error.message))
        elif error.validator == "required":
            found.add((line, row, error.message.split("'")[1], error.message))
        else:  # additionalProperties: the column names the extras; their order in the message varies
            extras = sorted(k for k in record if k not in validator.schema["properties"])
            found.add((line, row, ", ".join(extras), "additionalProperties"))
    return found


def _normalised(report) -> set[tuple]:
    return {
        (p.line, p.row, p.column, "additionalProperties" if p.message.startswith("Additional properties") else p.message)
        for p in report.problems
    }


def _reference_csv(data: bytes, schema: dict) -> set[tuple]:
    import csv
    import io

    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    records, previous = [], 0
    limit = csv.field_size_limit(sys.maxsize)  # fields of any size, as the module docstring says
    try:
        for fields in reader:
            if fields:
                records.append((previous + 1, fields))
            previous = reader.line_num
    finally:
        csv.field_size_limit(limit)
    header = records[0][1]
    validator = jsonschema.Draft202012Validator(schema)
    found = set()
    for row, (line, fields) in enumerate(records[1:], start=1):
        if len(fields) != len(header):
            found.add((line, row, None, f"has {len(fields)} fields, the header has {len(header)}"))
            continue
        record = {name: _reference_cell(cell, _kinds_of(schema, name)) for name, cell in zip(header, fields)}
        found |= _schema_problems(validator, record, line, row)
    return found


def _reference_jsonl(data: bytes, schema: dict) -> set[tuple]:
    text = data.decode("utf-8-sig")
    validator = jsonschema.Draft202012Validator(schema)
    found, row = set(), 0
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        row += 1
        try:
            value = json.loads(line, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
        except (ValueError, RecursionError):
            found.add((line_number, row, None, "invalid JSON"))
            continue
        if not isinstance(value, dict):
            found.add((line_number, row, None, "not an object"))
            continue
        found |= _schema_problems(validator, value, line_number, row)
    return found


_TRICKY_CELLS = [
    "", "0", "07", "+3", "-0", "1.5", "1e3", "nan", "inf", "9" * 19, "٣", " 1", "1_0", "600", "601", "-1",
    "monthly", "weekly", "two-year", "C00000001", "C0000001", "2026-11-01T08:00:00Z", "2026-11-01T08:00:00.123Z",
    "a,b", 'say "hi"', "month\nly", "line\r\nbreak", "x\x00y", "C0000000\u2028", "\ufeff1", "\u00851", "C00000001\n",
]


def _random_csv(rng: random.Random, names: list[str]) -> tuple[bytes, bool]:
    """A CSV file with random quirks, and whether it has a BOM."""
    end = rng.choice(["\n", "\r\n", "\r"])
    header = rng.sample(names, len(names))

    def cell(text: str) -> str:
        if any(c in text for c in ',"\r\n') or rng.random() < 0.1:
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(cell(h) for h in header)]
    ragged = 0.05 if rng.random() < 0.3 else 0.0
    for _ in range(rng.randint(1, 60)):
        if rng.random() < 0.06:
            lines.append("")  # a blank line between records
            continue
        fields = [rng.choice(_TRICKY_CELLS) if rng.random() < 0.5 else str(rng.randint(-3, 700)) for _ in header]
        if rng.random() < ragged:
            fields = fields[:-1] if rng.random() < 0.5 else fields + ["extra"]
        lines.append(",".join(cell(f) for f in fields))
    text = end.join(lines) + rng.choice(["", end, end * 3])
    bom = rng.random() < 0.2
    return ("\ufeff" if bom else "").encode() + text.encode(), bom


def _random_jsonl(rng: random.Random, names: list[str]) -> bytes:
    separators = ["\u2028", "\u2029", "\u0085", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\r"]
    lines = []
    for _ in range(rng.randint(1, 60)):
        kind = rng.random()
        if kind < 0.05:
            lines.append(rng.choice(["", " \t", "\r", "\u2028", "\x0c"]))
            continue
        if kind < 0.1:
            lines.append(rng.choice(['{"customer_id": "C0000', "[1", "2]", '{"a": 1} {"b": 2}', '{"a": 1}\r{"b": 2}', "NaN", "[" * 2000 + "]" * 2000, "7", '"text"']))
            continue
        record = {name: _random_value(rng) for name in names if rng.random() > 0.1}
        if rng.random() < 0.3:
            record["contract"] = rng.choice(["monthly", "month" + rng.choice(separators) + "ly"])
        if rng.random() < 0.05:
            record["unexpected"] = 1
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.3) + rng.choice(["", " ", "\r", "\t"]))
    text = rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n"])
    return (b"\xef\xbb\xbf" if rng.random() < 0.2 else b"") + text.encode()


def test_csv_files_with_every_quirk_agree_with_a_row_by_row_check(tmp_path, monkeypatch):
    from mlstack.datacheck import validate as module

    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    names = list(schema["properties"])
    rng = random.Random(2026)
    fallbacks = []
    real_fallback = module._check_csv_python
    monkeypatch.setattr(module, "_check_csv_python", lambda *a: fallbacks.append(a[0]) or real_fallback(*a))
    checked = flagged = 0
    for i in range(150):
        data, _ = _random_csv(rng, names)
        sample = tmp_path / f"sample-{i}.csv"
        sample.write_bytes(data)
        expected = _reference_csv(data, schema)
        assert _normalised(validate_file(sample, schema, "csv")) == expected, data[:300]
        checked += 1
        flagged += len(expected)
    assert checked - len(fallbacks) > 50 and len(fallbacks) > 20  # both readers were exercised
    assert flagged > 1000  # the samples really exercise the rules


def test_jsonl_files_with_every_quirk_agree_with_a_row_by_row_check(tmp_path):
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    names = list(schema["properties"])
    rng = random.Random(2027)
    broken = 0
    for i in range(150):
        data = _random_jsonl(rng, names)
        sample = tmp_path / f"sample-{i}.jsonl"
        sample.write_bytes(data)
        expected = _reference_jsonl(data, schema)
        got = {
            (line, row, column, "invalid JSON" if message.startswith("not valid JSON") else "not an object" if message.endswith("is not a JSON object of column values") else message)
            for line, row, column, message in _normalised(validate_file(sample, schema, "jsonl"))
        }
        assert got == expected, data[:300]
        broken += any(m == "invalid JSON" for *_, m in expected)
    assert broken > 20


def test_a_unicode_line_separator_inside_a_string_is_data_not_a_new_record(tmp_path):
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    record = {"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00Z", "tenure_months": 3, "monthly_charges": 1.0, "contract": "monthly"}
    sample = tmp_path / "separators.jsonl"
    lines = [json.dumps({**record, "contract": f"month{sep}ly"}, ensure_ascii=False) for sep in ("\u2028", "\u2029", "\u0085", "\x1e")]
    sample.write_text("\n".join([json.dumps(record), *lines]) + "\n", encoding="utf-8")
    report = validate_file(sample, schema, "jsonl")
    assert report.rows == 5
    assert sorted((p.line, p.row, p.column) for p in report.problems) == [(2, 2, "contract"), (3, 3, "contract"), (4, 4, "contract"), (5, 5, "contract")]
    assert all("is not one of ['monthly', 'yearly', 'two-year']" in p.message for p in report.problems)


def test_blank_lines_are_no_records_and_lines_still_count(tmp_path):
    schema = feature_group_schema("churn-prod", "customers", cwd=ROOT)
    header = "customer_id,event_time,tenure_months,monthly_charges,contract"
    sample = tmp_path / "blank.csv"
    sample.write_bytes(f"{header}\r\n\r\nC00000001,2026-11-01T08:00:00Z,1,1,monthly\r\n\r\nC00000002,2026-11-01T08:00:00Z,-5,1,monthly\r\n\r\n\r\n".encode())
    report = validate_file(sample, schema, "csv")
    assert report.rows == 2
    assert [(p.line, p.row, p.column) for p in report.problems] == [(5, 2, "tenure_months")]
