"""The report options every reporting command takes, and where each report goes.

``--format F`` picks the report (text, json, github, sarif, junit — each command lists those it
has); ``--output FILE`` writes it to FILE (atomically, never over an input) and leaves the text
report on stdout; ``--json PATH`` also writes the JSON document to PATH, and a bare ``--json``
(or ``--json -``) writes it to stdout instead of the text. One stream, one document: asking for
two documents on stdout is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import versioned

__all__ = ["add_report_options", "add_quiet_option", "open_targets", "Targets"]


def add_report_options(parser: argparse.ArgumentParser, *, formats: Sequence[str], what: str, quiet: bool = True) -> None:
    """Add ``--format``, ``--output``, ``--json`` (and ``--quiet``) to a subcommand's parser."""
    if quiet:
        add_quiet_option(parser)
    names = {"csv": "csv", "jsonl": "jsonl", "text": "text (default)", "json": "json", "github": "github (Actions annotations)", "sarif": "sarif (SARIF 2.1.0 for code scanning)", "junit": "junit (JUnit XML for CI test reports)"}
    parser.add_argument("--format", choices=list(formats), default="text", help=f"the {what}: " + ", ".join(names[f] for f in formats))
    parser.add_argument("--output", "-o", metavar="FILE", help="write the --format report to FILE (the text report stays on stdout)")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also write the JSON document to PATH; without PATH (or '-'), write it to stdout instead of the text "
        "(write a bare --json after the positional arguments, or as --json=-)",
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (shown only on a terminal anyway)")


@dataclass
class Targets:
    fmt: str
    output: Any | None
    json: Any | None

    @property
    def json_on_stdout(self) -> bool:
        return self.json is not None and self.json.is_stdout

    def emit(self, *, text: Callable[[], str], report: Callable[[], str], document: Callable[[], dict[str, Any]]) -> None:
        """Write each report where it goes; ``document`` is versioned here."""
        if self.json is not None:
            self.json.write(json.dumps(versioned(document()), indent=2, sort_keys=True) + "\n")
        rendered = report() if self.fmt != "text" else None
        if self.output is not None and not self.output.is_stdout:
            self.output.write(rendered if rendered is not None else _line(text()))
            if not self.json_on_stdout:
                sys.stdout.write(_line(text()))
            return
        if self.json_on_stdout:
            return
        sys.stdout.write(rendered if rendered is not None else _line(text()))


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def open_targets(args: argparse.Namespace, *, inputs: Iterable[tuple[Any, str]]) -> Targets:
    """Check ``--output`` and ``--json`` before the command's work (a typo fails at once)."""
    from ..errors import UsageError
    from ..files import open_output

    inputs = list(inputs)
    fmt = getattr(args, "format", "text") or "text"
    target = getattr(args, "output", None)
    json_target = getattr(args, "json", None)
    if target is not None and json_target not in (None, "-") and os.path.realpath(target) == os.path.realpath(json_target):
        raise UsageError(f"--output {target!r} and --json {json_target!r} name the same file; give each its own")
    output = open_output(target, option="--output", inputs=inputs) if target is not None else None
    json_output = open_output(json_target, option="--json", inputs=inputs) if json_target is not None else None
    stdout_report = fmt != "text" and (output is None or output.is_stdout)
    if json_output is not None and json_output.is_stdout and stdout_report and fmt != "json":
        raise UsageError(
            f"--json without a path writes JSON to stdout, and --format {fmt} writes its report there too; "
            f"give --output FILE for the {fmt} report or --json PATH"
        )
    if json_output is not None and json_output.is_stdout and fmt == "json" and (output is None or output.is_stdout):
        json_output = None  # the same document, once
    return Targets(fmt=fmt, output=output, json=json_output)
