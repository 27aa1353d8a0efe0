"""GitHub Actions workflow commands (``::error file=...,line=...,title=...::message``).

The escaping follows @actions/core (``toCommandValue``/``escapeData``/``escapeProperty`` in
actions/toolkit ``packages/core/src/command.ts``): ``%``, CR and LF in data; also ``:`` and ``,``
in properties.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import Finding, Run

__all__ = ["render_github", "annotation"]


def _escape_data(text: str) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be printed
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, *, default_file: str | None, title: str, detail: str = "") -> str:
    """One annotation; a waived finding is a notice, so it stays visible without failing."""
    command = "notice" if not finding.counts else {"error": "error", "warning": "warning"}.get(finding.level, "notice")
    where = []
    file = finding.file or default_file
    if file:
        where.append(f"file={_escape_property(file)}")
        if finding.line:
            where.append(f"line={finding.line}")
    where.append(f"title={_escape_property(title)}")
    text = finding.message + (f"\n{detail}" if detail else "")
    if finding.waived is not None:
        text += f"\n{finding.waived.describe()}"
    return f"::{command} {','.join(where)}::{_escape_data(text)}"


_CHECK_LEVELS = {"error": "mandatory", "warning": "advisory", "note": "advisory"}


def render_github(runs: Sequence[Run]) -> str:
    lines = []
    for run in runs:
        for f in run.findings:
            if run.command == "check":
                title = f"{f.rule} ({'waived' if not f.counts else _CHECK_LEVELS.get(f.level, f.level)})"
                detail = f"resource: {f.subject}" + (f"\ndeclared at: {f.key}" if f.key else "")
            else:
                title, detail = f.rule, (f"in: {f.subject}" if f.subject else "")
            lines.append(annotation(f, default_file=run.file, title=title, detail=detail))
        if run.summary:
            lines.append(run.summary)
    return "\n".join(lines) + "\n"
