"""``mlstack check STACK``: plan a stack offline and run the policy pack over it (the CI gate).

Exit codes: 0 no mandatory violation (advisory ones are printed), 1 at least one mandatory
violation, 2 bad input (stack file, policy config, options).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "cmd_check", "render_text", "render_github", "FORMATS"]

FORMATS = ("text", "json", "github", "sarif", "junit")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``check`` to the ``mlstack`` command line."""
    p = subparsers.add_parser(
        "check",
        help="run the policy pack over a stack, offline (the same rules as `pulumi preview --policy-pack policies`)",
        description=(
            "Plan STACK offline and evaluate mlstack's policy pack over the resources it would create. "
            "Exit 0 when no mandatory policy is violated, 1 when one is, 2 on bad input."
        ),
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    from ..reports.options import add_report_options

    add_report_options(p, formats=FORMATS, what="report")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="policy pack config: the JSON file `pulumi preview --policy-pack-config` takes (levels and settings)",
    )
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from ..config import stack_inputs
    from ..reports.options import open_targets
    from .check import check_stack
    from .kit.config import load_config_file
    from .reports import json_report, render_reports

    config = load_config_file(args.config) if args.config is not None else None
    stacks = args.stack if isinstance(args.stack, list) else [args.stack]
    # Checked before the plan: a typo in --output or --json fails at once, and never overwrites an input.
    inputs = [i for stack in stacks for i in stack_inputs(stack)]
    inputs += [(Path(args.config), "the policy pack config")] if args.config is not None else []
    targets = open_targets(args, inputs=inputs)
    reports = [check_stack(stack, config=config, config_file=args.config) for stack in stacks]
    targets.emit(
        text=lambda: render_reports("text", reports),
        report=lambda: render_reports(args.format, reports),
        document=lambda: json_report(reports),
    )
    return 0 if all(r.passed for r in reports) else 1


def render_text(report: Any) -> str:
    """See :func:`mlstack.policy.reports.render_text`."""
    from .reports import render_text as text

    return text(report)


def render_github(report: Any, stack_file: str | None = None) -> str:
    """See :func:`mlstack.policy.reports.render_github`."""
    from .reports import render_github as github

    return github(report, stack_file)
