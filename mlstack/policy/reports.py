"""``mlstack check`` reports in every format: text, JSON, GitHub annotations, SARIF, JUnit.

Every writer takes a list of :class:`~mlstack.policy.check.Report` (one per stack), so a run over
several stacks is reported in one document::

    print(render_reports("sarif", [check_stack("churn-dev"), check_stack("churn-prod")]))

Mandatory violations are errors, advisory ones warnings, the list of waivers
(``mlstack-waivers-reported``) notes; a waived violation is kept in every format: a suppressed
SARIF result, a skipped JUnit case, a GitHub notice, a ``waived`` entry in JSON, a ``[waived]``
block in text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..reports import FORMAT_VERSION, Finding, Rule, Run, Waived, render, versioned
from .check import Report, Violation
from .rules.waivers_reported import NAME as WAIVERS_REPORTED

__all__ = ["check_run", "render_reports", "render_text", "render_github", "summary"]

STACK_SUBJECT = "stack"


def _level(v: Violation) -> str:
    if v.policy == WAIVERS_REPORTED:
        return "note"
    return "error" if v.level == "mandatory" else "warning"


def _finding(v: Violation) -> Finding:
    waived = None
    if v.waiver is not None:
        w = v.waiver.waiver
        waived = Waived(v.waiver.status, w.reason, w.owner, w.expires.isoformat(), w.source)
    declared = v.declared_at
    return Finding(
        rule=v.policy,
        level=_level(v),
        message=v.message,
        subject=v.urn or STACK_SUBJECT,
        file=declared.file if declared else None,
        line=declared.line if declared else None,
        key=declared.key if declared else None,
        waived=waived,
    )


def _rule(name: str, report: Report) -> Rule:
    policy = report.policies.get(name)
    setting = report.settings.get(name)
    level = "error" if setting is not None and setting.level == "mandatory" else "warning"
    if name == WAIVERS_REPORTED:
        level = "note"
    severity = getattr(getattr(policy, "severity", None), "value", None)
    tags = tuple(getattr(policy, "tags", None) or ())
    description = report.descriptions.get(name, "")
    remediation = getattr(policy, "remediation_steps", None) or ""
    return Rule(id=name, description=description, help=f"{description}\n\nHow to fix: {remediation}".strip() if remediation else description, level=level, severity=severity, tags=tags)


def summary(report: Report) -> str:
    mandatory, advisory = len(report.mandatory), len(report.advisory)
    active = sum(1 for s in report.settings.values() if s.level != "disabled")
    verdict = "passed" if report.passed else "FAILED"
    env = f" ({report.environment})" if report.environment else ""
    waived = f", {len(report.waived)} waived" if report.waived else ""
    return (
        f"{report.stack}{env}: {active} policies over {report.resources} resources: "
        f"{mandatory} mandatory, {advisory} advisory violation{'s' if advisory != 1 else ''}{waived}; {verdict}"
    )


def check_run(report: Report) -> Run:
    """``report`` as a :class:`~mlstack.reports.Run`: one JUnit case per active policy and resource
    (per policy and stack, for stack policies)."""
    active = [name for name, s in report.settings.items() if s.level != "disabled"]
    subjects = [urn for urn, _, _ in report.subjects]
    cases: list[tuple[str, str]] = []
    for name in active:
        if report.kinds.get(name) == "stack":
            cases.append((name, STACK_SUBJECT))
        else:
            cases.extend((name, urn) for urn in subjects)
    names = {urn: f"{name} ({type_})" for urn, type_, name in report.subjects}
    names[STACK_SUBJECT] = f"stack {report.stack}"
    return Run(
        name=report.stack,
        command="check",
        rules=[_rule(name, report) for name in active],
        findings=[_finding(v) for v in (*report.violations, *report.waived)],
        cases=cases,
        skipped={(n["policy"], n["urn"] or STACK_SUBJECT): n["reason"] for n in report.not_applicable},
        subject_names=names,
        file=report.stack_file,
        passed=report.passed,
        summary=summary(report),
        document=report.to_json(),
    )


def render_text(report: Report) -> str:
    """Each violation with its level, policy, resource, the stack-file entry the resource was
    declared by (``declared at: stacks/Pulumi.x.yaml:41 mlstack:endpoints[0]``) and message;
    each waived violation with its waiver; then a summary line."""
    lines = []
    for v in report.violations:
        lines.append(f"[{v.level}] {v.policy}")
        lines.append(f"  resource: {v.urn or '(the stack)'}")
        if v.declared_at is not None:
            lines.append(f"  declared at: {v.declared_at}")
        lines.append(f"  {v.message}")
        lines.append("")
    for v in report.waived:
        assert v.waiver is not None
        lines.append(f"[waived] {v.policy}")
        lines.append(f"  resource: {v.urn or '(the stack)'}")
        if v.declared_at is not None:
            lines.append(f"  declared at: {v.declared_at}")
        lines.append(f"  {v.message}")
        lines.append(f"  {v.waiver.describe()}")
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines)


def render_github(report: Report, stack_file: str | None = None) -> str:
    """GitHub Actions workflow commands: an error per mandatory violation, a warning per advisory
    one, a notice per waived one and per waiver listed, on the stack file at the line of the
    declaring entry (``line=``); then the summary."""
    run = check_run(report)
    if stack_file is not None:
        run.file = stack_file
    return render("github", [run]).rstrip("\n")


def render_reports(fmt: str, reports: Sequence[Report]) -> str:
    """The report of one or several stacks in ``fmt`` (text, json, github, sarif, junit)."""
    if fmt == "text":
        return "\n\n".join(render_text(r) for r in reports) + "\n"
    if fmt == "json":  # several stacks: {"formatVersion", "passed", "stacks": [...]}, as `check --all` writes
        import json

        return json.dumps(json_report(reports), indent=2, sort_keys=True) + "\n"
    return render(fmt, [check_run(r) for r in reports])


def json_report(reports: Sequence[Report], *, combined: bool | None = None) -> dict[str, Any]:
    """The JSON document of one stack (its report, with ``formatVersion``) or, ``combined`` (by
    default when there are several), of several: ``{"formatVersion", "passed", "stacks": [...]}``."""
    if not (len(reports) > 1 if combined is None else combined):
        return versioned(reports[0].to_json())
    return {"formatVersion": FORMAT_VERSION, "passed": all(r.passed for r in reports), "stacks": [r.to_json() for r in reports]}
