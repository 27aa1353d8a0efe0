"""``mlstack validate-data STACK FEATURE_GROUP FILE``: check a data sample before it lands.

Exit codes: 0 every row matches the feature group's schema; 1 bad data (each bad row and
column is printed as ``FILE:LINE: row N: column 'c': message``); 2 bad usage (unknown stack
or feature group, invalid stack file, unreadable file, unknown format).
"""

from __future__ import annotations

import argparse
import json
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
    p.add_argument("feature_group", metavar="FEATURE_GROUP", help="a feature group name from the stack's mlstack:featureGroups")
    p.add_argument(
        "file",
        metavar="FILE",
        nargs="+",
        help="the samples: .csv (header row first) or .jsonl/.ndjson/.json (one JSON object per line); several are reported together",
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
    schema = feature_group_schema(args.stack, args.feature_group)
    if args.print_schema:
        print(json.dumps(schema, indent=2))
        return EXIT_OK
    if args.max_errors < 0:
        raise UsageError(f"--max-errors must be 0 (all) or more (got {args.max_errors})")
    files = []
    for name in args.file:
        path = Path(name)
        # A regular file: the checks read it more than once, and /dev/zero would never end.
        if stat_input(path, what="the data file") is None:
            raise UsageError(f"data file {name!r} does not exist")
        fmt = detect_format(path, args.data_format)
        if fmt is None:
            raise UsageError(f"cannot tell the format of {name!r} from its extension; name it .csv or .jsonl, or pass --data-format csv|jsonl")
        files.append((name, path, fmt))
    from ..config import stack_inputs
    from ..progress import activity
    from ..reports import render
    from ..reports.options import open_targets
    from .reports import data_run, text_report
    from .validate import BadValue, Report

    targets = open_targets(args, inputs=[*stack_inputs(args.stack), *((path, "a data file") for _, path, _ in files)])
    title = schema.get("title", args.feature_group)
    runs, texts = [], []
    for name, path, fmt in files:
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
        runs.append(data_run(report, schema, feature_group=args.feature_group, stack=args.stack, summary=text.rstrip("\n").rsplit("\n", 1)[-1]))
    everything = "".join(texts)
    targets.emit(text=lambda: everything, report=lambda: render(args.format, runs, text=everything), document=lambda: _document(runs))
    return EXIT_OK if all(run.passed for run in runs) else EXIT_FAILED


def _document(runs: list) -> dict:
    from ..reports import json_document

    return json_document(runs)
