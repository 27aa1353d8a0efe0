"""JUnit XML, the test report format CI systems render (GitLab, Jenkins, Azure Pipelines, the
GitHub test-report actions): ``<testsuites>`` with a ``<testsuite>`` per run (a stack, a data
file) and a ``<testcase>`` per rule and subject (policy x resource). An error-level finding is a
``<failure>``; a warning (advisory) stays a passing case with the message in ``<system-out>``;
a finding under a waiver that applies, or a rule that found the subject not applicable, is
``<skipped>`` with the reason. The element and attribute names are those of the JUnit XML schema
the Jenkins and GitLab parsers read (``tests``, ``failures``, ``errors``, ``skipped``,
``classname``, ``name``, ``message``, ``type``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence

from . import Finding, Run

__all__ = ["junit_xml"]


def _clean(text: str) -> str:
    # XML 1.0 forbids most control characters even escaped; a hostile message must not break the file.
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff" else "\ufffd" for ch in text)


def junit_xml(runs: Sequence[Run]) -> str:
    root = ET.Element("testsuites", name="mlstack")
    totals = defaultdict(int)
    for run in runs:
        suite = ET.SubElement(root, "testsuite", name=_clean(f"{run.command} {run.name}"))
        by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for f in run.findings:
            by_case[(f.rule, f.subject)].append(f)
        cases = list(run.cases)
        seen = set(cases)
        cases += [key for key in by_case if key not in seen]
        counts = defaultdict(int)
        for rule, subject in cases:
            case = ET.SubElement(
                suite, "testcase", classname=_clean(f"{run.name}.{rule}"), name=_clean(run.subject_names.get(subject, subject))
            )
            counts["tests"] += 1
            findings = by_case.get((rule, subject), [])
            failing = [f for f in findings if f.counts and f.level == "error"]
            waived = [f for f in findings if not f.counts]
            if failing:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=_clean(failing[0].message), type="mandatory" if run.command == "check" else "error")
                failure.text = _clean("\n".join(_detail(f, run.command) for f in failing))
            elif waived and not [f for f in findings if f.counts]:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_clean("; ".join(f.waived.describe() for f in waived if f.waived)))
            elif (rule, subject) in run.skipped and not findings:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_clean(f"not applicable: {run.skipped[(rule, subject)]}"))
            notes = [f for f in findings if f not in failing]
            if notes:
                out = ET.SubElement(case, "system-out")
                out.text = _clean("\n".join(_detail(f, run.command) for f in notes))
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        for key in ("tests", "failures", "skipped"):
            totals[key] += counts[key]
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _detail(f: Finding, command: str) -> str:
    level = {"error": "mandatory", "warning": "advisory"}.get(f.level, f.level) if command == "check" else f.level
    where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
    lines = [f"[{level}] {f.message}", f"{'resource' if command == 'check' else 'in'}: {f.subject}"]
    if where or f.key:
        lines.append(f"{'declared at' if command == 'check' else 'at'}: {where} {f.key or ''}".rstrip())
    if f.waived is not None:
        lines.append(f.waived.describe())
    return "\n".join(lines)
