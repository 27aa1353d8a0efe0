"""SARIF 2.1.0 logs, the format code-scanning services ingest (GitHub code scanning among them).

Shape taken from the OASIS SARIF 2.1.0 schema (copied in tests/data/sarif/ with its provenance;
every log is validated against it in tests): one ``run`` for the tool, whatever the number of
stacks (code scanning refuses several runs of one tool in one upload), its ``rules`` the union of
the runs' rules, each result located at the stack file's line of the entry it came from, with a
logical location (the key path, else the resource URN). A waived result carries a
``suppressions`` entry (``inSource`` for the stack file's ``mlstack:waivers``, ``external`` for
the pack config) with the reason as justification; an expired one carries none.
GitHub reads ``properties.security-severity`` (a number as a string) to rank security rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from . import Finding, Rule, Run

__all__ = ["sarif_log", "SARIF_SCHEMA", "SECURITY_SEVERITY"]

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _uri(path: str) -> str:
    return quote(PurePath(path).as_posix(), safe="/")


def _rule(rule: Rule) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": sorted(set(rule.tags) | {"mlstack"}), "precision": "very-high"}
    if rule.severity:
        properties["severity"] = rule.severity
        if rule.severity in SECURITY_SEVERITY:
            properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("_", "-").split("-")),
        "shortDescription": {"text": rule.description.split(". ")[0].rstrip(".") or rule.id},
        "fullDescription": {"text": rule.description or rule.id},
        "help": {"text": rule.help or rule.description or rule.id},
        "defaultConfiguration": {"level": rule.level},
        "properties": properties,
    }


def _result(run: Run, finding: Finding, index: int) -> dict[str, Any]:
    file = finding.file or run.file
    location: dict[str, Any] = {}
    if file:
        location["physicalLocation"] = {"artifactLocation": {"uri": _uri(file)}, "region": {"startLine": max(1, finding.line or 1)}}
    logical = {"fullyQualifiedName": finding.key or finding.subject, "kind": "element" if finding.key else "resource"}
    location["logicalLocations"] = [logical]
    message = finding.message
    if finding.waived is not None and not finding.waived.applies:
        message += f" ({finding.waived.describe()})"
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": finding.level,
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {
            "mlstackFinding/v1": hashlib.sha256(f"{run.command}\0{run.name}\0{finding.rule}\0{finding.subject}".encode("utf-8", "surrogatepass")).hexdigest()
        },
        "properties": {"run": run.name, "subject": finding.subject},
    }
    if finding.waived is not None:
        result["properties"]["waiver"] = finding.waived.to_json()
        if finding.waived.applies:
            result["suppressions"] = [
                {
                    "kind": "inSource" if finding.waived.source == "stack file" else "external",
                    "status": "accepted",
                    "justification": finding.waived.reason,
                    "properties": {"owner": finding.waived.owner, "expires": finding.waived.expires},
                }
            ]
    return result


def sarif_log(runs: Sequence[Run], *, tool: str = "mlstack") -> dict[str, Any]:
    """The SARIF log of ``runs`` (one SARIF run)."""
    from .. import __version__

    rules: dict[str, Rule] = {}
    for run in runs:
        for rule in run.rules:
            rules.setdefault(rule.id, rule)
    for run in runs:  # a finding of a rule the run did not list still needs a rule entry
        for finding in run.findings:
            rules.setdefault(finding.rule, Rule(id=finding.rule, description=finding.rule))
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = [_result(run, f, index[f.rule]) for run in runs for f in run.findings]
    commands = sorted({run.command for run in runs})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(rule) for rule in rules.values()],
                    }
                },
                # code scanning keeps one set of alerts per category: one per command.
                "automationDetails": {"id": f"mlstack/{'+'.join(commands)}/"},
                "results": results,
                "properties": {"runs": [{"name": r.name, "passed": r.passed} for r in runs]},
            }
        ],
    }
