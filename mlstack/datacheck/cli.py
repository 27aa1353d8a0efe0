"""``mlstack validate-data STACK FEATURE_GROUP FILE``: check a data sample before it lands.

Exit codes: 0 every row matches the feature group's schema; 1 bad data (each bad row and
column is printed as ``FILE:LINE: row N: column 'c': message``); 2 bad usage (unknown stack
or feature group, invalid stack file, unreadable file, unknown format).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["register", "cmd_validate_data"]

#: What --format meant before it named the report; still read as --data-format.
DATA_FORMATS = ("csv", "jsonl")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validate-data`` to the ``mlstack`` command line."""
    p = subparsers.add_parser(
        "validate-data",
        help="check a CSV or JSON-lines sample against a feature group's schema (for CI and pre-commit)",
        description=(
            "Check every row of FILE against the JSON Schema of FEATURE_GROUP in STACK's mlstack:featureGroups. "
            "Prints each bad row and column. Exit codes: 0 valid, 1 bad data, 2 bad usage."
        ),
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument(
        "feature_group", metavar="FEATURE_GROUP", nargs="?", help="a feature group name from the stack's mlstack:featureGroups"
    )
    p.add_argument(
        "file",
        metavar="FILE",
        nargs="*",
        help="the samples: .csv (header row first) or .jsonl/.ndjson/.json (one JSON object per line); several are reported together",
    )
    p.add_argument(
        "--samples",
        action="store_true",
        help="check the samples the stack declares (mlstack:featureGroups[].samples) instead of FILE: every group's, or FEATURE_GROUP's",
    )
    from ..reports import FORMATS
    from ..reports.options import add_report_options

    p.add_argument("--data-format", choices=["csv", "jsonl"], help="the file's format when its extension does not tell")
    add_report_options(p, formats=[*FORMATS, *DATA_FORMATS], what="report (csv or jsonl here still mean --data-format, as before)")
    p.add_argument("--max-errors", type=int, default=0, metavar="N", help="print at most N problems (default 0: all); the summary counts all")
    p.add_argument("--print-schema", action="store_true", help="print the feature group's JSON Schema instead of checking FILE")
    p.set_defaults(handler=cmd_validate_data)


def cmd_validate_data(args: argparse.Namespace) -> int:
    from ..cli import EXIT_FAILED, EXIT_OK
    from ..errors import UsageError
    from ..files import stat_input
    from . import feature_group_schema
    from .validate import detect_format, validate_file

    if args.format in DATA_FORMATS:
        if args.data_format not in (None, args.format):
            raise UsageError(f"--format {args.format} (the data format, as --data-format) contradicts --data-format {args.data_format}")
        args.data_format, args.format = args.format, "text"
        print(f"mlstack validate-data: --format {args.data_format} names the data format; write --data-format {args.data_format}", file=sys.stderr)
    if args.samples and args.file:
        raise UsageError("--samples checks the samples the stack declares; name files or pass --samples, not both")
    if args.samples and args.print_schema:
        raise UsageError("--print-schema prints one feature group's schema; drop --samples")
    if not args.samples and (args.feature_group is None or (not args.file and not args.print_schema)):
        raise UsageError("name the feature group and the files to check (validate-data STACK FEATURE_GROUP FILE...), or pass --samples")
    if args.max_errors < 0:
        raise UsageError(f"--max-errors must be 0 (all) or more (got {args.max_errors})")
    if args.samples:
        wanted = declared_samples(args.stack, args.feature_group)
    else:
        wanted = [(args.feature_group, name) for name in args.file]
    schemas: dict[str, dict] = {}
    for group, _ in wanted or [(args.feature_group, None)]:
        if group not in schemas:
            schemas[group] = feature_group_schema(args.stack, group)
    if args.print_schema:
        print(json.dumps(schemas[args.feature_group], indent=2))
        return EXIT_OK
    files = []
    for group, name in wanted:
        path = Path(name)
        # A regular file: the checks read it more than once, and /dev/zero would never end.
        if stat_input(path, what="the data file") is None:
            raise UsageError(f"data file {name!r} does not exist")
        fmt = detect_format(path, args.data_format)
        if fmt is None:
            raise UsageError(f"cannot tell the format of {name!r} from its extension; name it .csv or .jsonl, or pass --data-format csv|jsonl")
        files.append((group, name, path, fmt))
    from ..config import stack_inputs
    from ..progress import activity
    from ..reports import render
    from ..reports.options import open_targets
    from .reports import data_run, text_report
    from .validate import BadValue, Report

    targets = open_targets(args, inputs=[*stack_inputs(args.stack), *((path, "a data file") for _, _, path, _ in files)])
    runs, texts = [], []
    for group, name, path, fmt in files:
        schema = schemas[group]
        title = schema.get("title", group)
        try:
            with activity(f"checking {name} ({path.stat().st_size / 1e6:.1f} MB)"):
                report = validate_file(path, schema, fmt)
        except OSError as exc:
            raise UsageError(f"cannot read {name!r}: {exc.strerror or exc}") from None
        except RecursionError:
            # Python's JSON reader stops near 1000 levels; no feature value nests like that.
            report = Report(path=name, format=fmt, problems=[BadValue(1, None, None, "a record is nested too deeply to read (no feature value nests like that)")])
        text = text_report(report, schema_title=title, max_problems=args.max_errors)
        texts.append(text)
        runs.append(data_run(report, schema, feature_group=group, stack=args.stack, summary=text.rstrip("\n").rsplit("\n", 1)[-1]))
    everything = "".join(texts)
    targets.emit(text=lambda: everything, report=lambda: render(args.format, runs, text=everything), document=lambda: _document(runs))
    return EXIT_OK if all(run.passed for run in runs) else EXIT_FAILED


def declared_samples(stack: str, only: str | None = None) -> list[tuple[str, str]]:
    """(feature group, file) for every sample the stack declares (``mlstack:featureGroups[].samples``),
    patterns expanded against the project root in sorted order. A pattern that matches no file, or a
    file outside the project (through a symbolic link), is refused at its key: a declared sample
    that is not checked must not pass silently."""
    from ..config import load_stack
    from ..errors import ConfigError, Problem, UsageError

    stack_file = load_stack(stack)
    root = (stack_file.project.root if stack_file.project is not None else stack_file.path.parent).resolve()
    groups = list(enumerate(stack_file.spec.feature_groups))
    if only is not None:
        groups = [(i, g) for i, g in groups if g.name == only]
        if not groups:
            known = ", ".join(g.name for g in stack_file.spec.feature_groups) or "none"
            raise UsageError(f"stack {stack_file.stack!r} declares no feature group {only!r} (declared: {known})")
    found: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for i, group in groups:
        for j, pattern in enumerate(group.samples):
            key = f"mlstack:featureGroups[{i}].samples[{j}]"
            at = {"file": str(stack_file.path), "line": stack_file.lines.get(("config", "mlstack:featureGroups", i, "samples", j))}
            matches = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matches:
                problems.append(Problem(key, f"{pattern!r} matches no file under {root}", hint="fix the pattern or add the sample", **at))
                continue
            for match in matches:
                if not match.resolve().is_relative_to(root):
                    problems.append(Problem(key, f"{pattern!r} reaches {match}, which leads outside the project", hint="keep samples inside the project", **at))
                    continue
                found.append((group.name, os.path.relpath(match)))
    if problems:
        raise ConfigError(problems, title="declared samples that cannot be checked")
    if not found:
        where = f"feature group {only!r}" if only else "no feature group"
        raise UsageError(f"{where} of stack {stack_file.stack!r} declares samples; add mlstack:featureGroups[].samples (paths or glob patterns)")
    return found


def _document(runs: list) -> dict:
    from ..reports import json_document

    return json_document(runs)
