"""``mlstack validate-data`` reports in every format: each bad value is a finding at its line of
the data file (SARIF, GitHub annotations), and each column of the feature group a JUnit case."""

from __future__ import annotations

import io
from typing import Any

from ..reports import Finding, Rule, Run
from .validate import Report, write_report

__all__ = ["RULE", "data_run", "data_document", "text_report"]

RULE = "mlstack-data-matches-feature-group"
RECORD = "(record)"


def data_document(report: Report, *, feature_group: str, stack: str) -> dict[str, Any]:
    return {
        "stack": stack,
        "featureGroup": feature_group,
        "file": report.path,
        "format": report.format,
        "rows": report.rows,
        "passed": report.ok,
        "badRows": report.bad_rows,
        "badColumns": report.bad_columns,
        "problems": [{"line": p.line, "row": p.row, "column": p.column, "message": p.message} for p in report.sorted_problems()],
    }


def text_report(report: Report, *, schema_title: str, max_problems: int) -> str:
    out = io.StringIO()
    write_report(report, schema_title=schema_title, max_problems=max_problems, out=out)
    return out.getvalue()


def data_run(report: Report, schema: dict[str, Any], *, feature_group: str, stack: str, summary: str) -> Run:
    columns = list((schema.get("properties") or {}).keys())
    subjects = [*columns, RECORD]
    rule = Rule(
        id=RULE,
        description=f"Checks that every row of a data sample matches the schema of its feature group ({feature_group} in stack {stack}).",
        help="Fix the rows named, or the feature group's declared features (mlstack:featureGroups) if the data is right.",
        level="error",
        tags=("data",),
    )
    findings = [
        Finding(
            rule=RULE,
            level="error",
            message=(f"row {p.row}: " if p.row is not None else "") + (f"column {p.column!r}: " if p.column else "") + p.message,
            subject=p.column or RECORD,
            file=report.path,
            line=p.line,
        )
        for p in report.sorted_problems()
    ]
    return Run(
        name=feature_group,
        command="validate-data",
        rules=[rule],
        findings=findings,
        cases=[(RULE, s) for s in subjects],
        subject_names={c: f"column {c}" for c in columns} | {RECORD: "whole records"},
        file=report.path,
        passed=report.ok,
        summary=summary,
        document=data_document(report, feature_group=feature_group, stack=stack),
    )
