"""Report writers shared by the commands: JSON, GitHub annotations, SARIF 2.1.0 and JUnit XML.

A command turns its outcome into :class:`Run` objects (one per stack, or per data file) made of
:class:`Rule` and :class:`Finding` values, and hands a *list* of runs to :func:`render`, so a
report over several stacks is one call::

    text = render("sarif", [run_of(report) for report in reports])

Every JSON document mlstack writes carries ``"formatVersion": FORMAT_VERSION`` (SARIF logs carry
SARIF's own ``version`` instead; the import file is Pulumi's format and carries neither).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMAT_VERSION", "FORMATS", "Rule", "Finding", "Waived", "Run", "render", "versioned"]

FORMAT_VERSION = 1
"""The version of the JSON documents mlstack writes; raised only when a key changes meaning or
goes away (a new key is not a new version)."""

FORMATS = ("text", "json", "github", "sarif", "junit")


def versioned(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``formatVersion`` first."""
    return {"formatVersion": FORMAT_VERSION, **{k: v for k, v in document.items() if k != "formatVersion"}}


@dataclass(frozen=True)
class Rule:
    """What a finding breaks: a policy, or a data check."""

    id: str
    description: str
    help: str = ""
    level: str = "error"
    """The default level of its findings: error, warning or note (SARIF's names)."""
    severity: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waived:
    """The waiver a finding is under, as reported: applied, or expired / forbidden (then the
    finding counts as if there were none)."""

    status: str
    reason: str
    owner: str
    expires: str
    source: str

    @property
    def applies(self) -> bool:
        return self.status == "applied"

    def describe(self) -> str:
        state = {"applied": "waived", "expired": "waiver EXPIRED", "forbidden": "waiver FORBIDDEN here"}.get(self.status, self.status)
        return f"{state} until {self.expires} by {self.owner} ({self.source}): {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "owner": self.owner, "expires": self.expires, "source": self.source}


@dataclass(frozen=True)
class Finding:
    """One result: the rule, ``error``/``warning``, the message, what it is about (a resource URN,
    a data column) and where the user wrote it (file, line, key path)."""

    rule: str
    level: str
    message: str
    subject: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    waived: Waived | None = None

    @property
    def counts(self) -> bool:
        """Whether it counts against the run (not under a waiver that applies)."""
        return self.waived is None or not self.waived.applies


@dataclass
class Run:
    """One checked thing (a stack, a data file) and what was found.

    ``cases`` are the (rule, subject) pairs that were evaluated — JUnit's test cases — and
    ``skipped`` those a rule found not applicable, with the reason.
    """

    name: str
    command: str
    rules: list[Rule]
    findings: list[Finding] = field(default_factory=list)
    cases: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    subject_names: dict[str, str] = field(default_factory=dict)
    file: str | None = None
    passed: bool = True
    summary: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    """The run's own JSON document (without formatVersion)."""


def render(fmt: str, runs: Sequence[Run], *, text: str = "") -> str:
    """The report of ``runs`` in ``fmt``; ``text`` is the command's own text rendering."""
    if fmt == "text":
        return text
    if fmt == "json":
        import json

        return json.dumps(json_document(runs), indent=2, sort_keys=True) + "\n"
    if fmt == "github":
        from .github import render_github

        return render_github(runs)
    if fmt == "sarif":
        import json

        from .sarif import sarif_log

        return json.dumps(sarif_log(runs), indent=2) + "\n"
    if fmt == "junit":
        from .junit import junit_xml

        return junit_xml(runs)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def json_document(runs: Sequence[Run]) -> dict[str, Any]:
    """One run: its document; several: ``{"formatVersion", "passed", "runs": [...]}``."""
    if len(runs) == 1:
        return versioned(runs[0].document)
    return {"formatVersion": FORMAT_VERSION, "passed": all(r.passed for r in runs), "runs": [r.document for r in runs]}
