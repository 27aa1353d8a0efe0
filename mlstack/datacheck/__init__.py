"""Data checks for CI and pre-commit hooks: ``mlstack validate-data STACK FEATURE_GROUP FILE``.

A feature group's schema (``mlstack:featureGroups`` in the stack file) yields a JSON Schema of
one record; :func:`validate_file` checks a CSV or JSON-lines sample against it with the
``jsonschema`` package and reports every bad row and column::

    from mlstack.datacheck import feature_group_schema, validate_file

    schema = feature_group_schema("churn-prod", "customers")
    report = validate_file(Path("sample.csv"), schema, "csv")
    for problem in report.problems:
        print(problem.render(report.path))
"""

from __future__ import annotations

from .validate import BadValue, Report, detect_format, validate_file, validate_records

__all__ = ["BadValue", "Report", "detect_format", "validate_file", "validate_records", "feature_group_schema"]


def feature_group_schema(stack: str, group: str, *, cwd=None) -> dict:
    """The record JSON Schema of feature group ``group`` of ``stack`` (a name or a stack file).

    Raises ConfigError for an invalid stack file and UsageError for an unknown stack or group.
    """
    from ..config import load_stack
    from ..errors import UsageError

    stack_file = load_stack(stack, cwd=cwd)
    spec = stack_file.spec
    for candidate in spec.feature_groups:
        if candidate.name == group:
            return candidate.record_json_schema(title=f"{spec.team}-{candidate.name}")
    declared = ", ".join(g.name for g in spec.feature_groups) or "none"
    raise UsageError(f"stack {stack_file.stack!r} declares no feature group {group!r} in mlstack:featureGroups (declared: {declared})")
