"""``mlstack check STACK``: plan a stack offline and run the policy pack over it (the CI gate).

Exit codes: 0 no mandatory violation (advisory ones are printed), 1 at least one mandatory
violation, 2 bad input (stack file, policy config, options).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "cmd_check", "render_text", "render_github"]

FORMATS = ("text", "json", "github")


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
    p.add_argument(
        "stack", nargs="*", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file; several: one combined report"
    )
    p.add_argument("--all", action="store_true", help="check every stack of the project (its Pulumi.<stack>.yaml files), one combined report")
    p.add_argument("--jobs", type=int, metavar="N", help="with several stacks: at most N plan workers at once (default: the free cores)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH ('-' for stdout)")
    p.add_argument("--format", choices=FORMATS, default="text", help="text (default), json, or github (Actions annotations)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="policy pack config: the JSON file `pulumi preview --policy-pack-config` takes (levels and settings)",
    )
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1 (got {args.jobs})")
    if args.all and args.stack:
        raise UsageError("--all checks every stack of the project; name stacks or pass --all, not both")
    if not args.all and not args.stack:
        raise UsageError("name the stack to check (e.g. mlstack check churn-prod), several stacks, or --all")
    if args.all or len(args.stack) > 1:
        from .multi_cli import cmd_check_many

        return cmd_check_many(args)
    args.stack = args.stack[0]
    return _check_one(args)


def _check_one(args: argparse.Namespace) -> int:
    from ..cli import write_json
    from ..config import stack_inputs
    from ..files import open_output
    from .check import check_stack
    from .kit.config import load_config_file

    config = load_config_file(args.config) if args.config is not None else None
    # Checked before the plan: a typo in --json fails at once, and never overwrites an input.
    inputs = stack_inputs(args.stack) + ([(Path(args.config), "the policy pack config")] if args.config is not None else [])
    output = open_output(args.json, option="--json", inputs=inputs) if args.json is not None else None
    report = check_stack(args.stack, config=config, config_file=args.config)
    data = report.to_json()
    if output is not None:
        write_json(output, data)
    if args.format == "json":
        if args.json != "-":
            write_json(open_output("-", option="--format json"), data)
    elif args.format == "github":
        print(render_github(report, _stack_file(args.stack)))
    elif args.json != "-":
        print(render_text(report))
    return 0 if report.passed else 1


def _stack_file(stack: str) -> str:
    """The stack file to annotate, relative to the working directory where possible."""
    from ..config import resolve_stack_file
    from .check import shown_path

    path, _ = resolve_stack_file(stack)
    return shown_path(path)


def _summary(report: Any) -> str:
    mandatory, advisory = len(report.mandatory), len(report.advisory)
    active = sum(1 for s in report.settings.values() if s.level != "disabled")
    verdict = "passed" if report.passed else "FAILED"
    env = f" ({report.environment})" if report.environment else ""
    return (
        f"{report.stack}{env}: {active} policies over {report.resources} resources: "
        f"{mandatory} mandatory, {advisory} advisory violation{'s' if advisory != 1 else ''}; {verdict}"
    )


def render_text(report: Any) -> str:
    """Each violation with its level, policy, resource, the stack-file entry the resource was
    declared by (``declared at: stacks/Pulumi.x.yaml:41 mlstack:endpoints[0]``) and message;
    then a summary line."""
    lines = []
    for v in report.violations:
        lines.append(f"[{v.level}] {v.policy}")
        lines.append(f"  resource: {v.urn or '(the stack)'}")
        if v.declared_at is not None:
            lines.append(f"  declared at: {v.declared_at}")
        lines.append(f"  {v.message}")
        lines.append("")
    lines.append(_summary(report))
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Any, stack_file: str) -> str:
    """GitHub Actions workflow commands: an error per mandatory violation, a warning per advisory
    one, on the stack file — at the line of the entry the resource was declared by, when there is
    one; then the summary."""
    lines = []
    for v in report.violations:
        command = "error" if v.level == "mandatory" else "warning"
        title = _escape_property(f"{v.policy} ({v.level})")
        declared = v.declared_at
        where = f"file={_escape_property(declared.file if declared and declared.file else stack_file)}"
        if declared is not None and declared.line:
            where += f",line={declared.line}"
        text = f"{v.message}\nresource: {v.urn or '(the stack)'}" + (f"\ndeclared at: {declared.key}" if declared else "")
        lines.append(f"::{command} {where},title={title}::{_escape_data(text)}")
    lines.append(_summary(report))
    return "\n".join(lines)
