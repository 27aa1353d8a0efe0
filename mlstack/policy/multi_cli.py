"""The command-line side of ``mlstack check STACK... | --all`` (see :mod:`mlstack.policy.multi`):
one combined report, in text or JSON, and one exit code for all the stacks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["cmd_check_many", "render_many"]


def cmd_check_many(args: argparse.Namespace) -> int:
    """Exit 2 when a stack could not be checked (its error is on stderr and in the report), else 1
    when a stack violates a mandatory policy, else 0."""
    from ..cli import write_json
    from ..config import stack_inputs
    from ..errors import ConfigError, UsageError
    from ..files import open_output
    from .cli import _stack_file, render_github
    from .kit.config import load_config_file
    from .multi import all_stacks, check_stacks

    stacks = all_stacks() if args.all else list(args.stack)
    config = load_config_file(args.config) if args.config is not None else None
    output = None
    if args.json is not None:
        inputs = [(Path(args.config), "the policy pack config")] if args.config is not None else []
        for stack in stacks:
            try:
                inputs += stack_inputs(stack)
            except (ConfigError, UsageError):
                pass  # reported as that stack's outcome
        output = open_output(args.json, option="--json", inputs=inputs)
    outcomes = check_stacks(stacks, config=config, config_file=args.config, jobs=args.jobs)
    for o in outcomes:
        if o.error is not None:
            text = o.error.render() if isinstance(o.error, ConfigError) else f"mlstack: error: {o.error}"
            print(f"{o.stack}: {text}", file=sys.stderr)
    data = {
        "passed": all(o.report is not None and o.report.passed for o in outcomes),
        "stacks": [o.to_json() for o in outcomes],
    }
    if output is not None:
        write_json(output, data)
    if args.format == "json":
        if args.json != "-":
            write_json(open_output("-", option="--format json"), data)
    elif args.format == "github":
        for o in outcomes:
            if o.report is not None:
                print(render_github(o.report, _stack_file(o.stack)))
        print(_total(outcomes))
    elif args.json != "-":
        print(render_many(outcomes))
    if any(o.error is not None for o in outcomes):
        return 2
    return 0 if data["passed"] else 1


def render_many(outcomes: list) -> str:
    """Each stack's text report (:func:`mlstack.policy.cli.render_text`) or error, then a total."""
    from ..errors import ConfigError
    from .cli import render_text

    parts = []
    for o in outcomes:
        if o.report is not None:
            parts.append(render_text(o.report))
        else:
            first = (o.error.render() if isinstance(o.error, ConfigError) else str(o.error)).splitlines()[0]
            parts.append(f"{o.stack}: not checked: {first} (details on stderr)")
    parts.append(_total(outcomes))
    return "\n\n".join(parts)


def _total(outcomes: list) -> str:
    passed = sum(1 for o in outcomes if o.report is not None and o.report.passed)
    failed = sum(1 for o in outcomes if o.report is not None and not o.report.passed)
    errors = len(outcomes) - passed - failed
    verdict = "passed" if passed == len(outcomes) else "FAILED"
    return f"{len(outcomes)} stacks: {passed} passed, {failed} failed, {errors} not checked; {verdict}"
