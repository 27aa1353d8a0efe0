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
    p.add_argument(
        "stack", nargs="*", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file; several: one combined report"
    )
    p.add_argument("--all", action="store_true", help="check every stack of the project (its Pulumi.<stack>.yaml files), one combined report")
    p.add_argument("--jobs", type=int, metavar="N", help="with several stacks: at most N plan workers at once (default: the free cores)")
    from ..reports.options import add_report_options

    add_report_options(p, formats=FORMATS, what="report")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="policy pack config: the JSON file `pulumi preview --policy-pack-config` takes (levels and settings)",
    )
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """One stack or several (``STACK...``, ``--all``), one report in the chosen format. Exit 2 when
    a stack could not be checked (its error is on stderr and in the report), else 1 when a stack
    violates a mandatory policy, else 0."""
    worker = _early_worker(args)
    try:
        return _check(args, worker)
    finally:
        if worker is not None:
            worker.cancel()  # a no-op once collected; stops it when something failed before


def _early_worker(args: argparse.Namespace) -> Any:
    """For one stack: its plan worker, started before this process imports the policy pack and
    the stack file's validation (about 0.4 s), so the two overlap. None when the file cannot be
    found (the check reports that) or for several stacks (they have their own scheduling)."""
    if args.all or len(args.stack) != 1:
        return None
    from ..config.project import resolve_stack_file
    from ..engine.isolation import start_worker
    from ..errors import ConfigError, UsageError

    try:
        path, _ = resolve_stack_file(str(args.stack[0]))
    except (ConfigError, UsageError):
        return None
    return start_worker([path])


def _check(args: argparse.Namespace, worker: Any) -> int:
    import sys

    from ..config import stack_inputs
    from ..errors import ConfigError, UsageError
    from ..reports.options import open_targets
    from .check import check_stack
    from .kit.config import load_config_file
    from .multi import all_stacks, check_stacks
    from .reports import json_report, render_reports

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1 (got {args.jobs})")
    if args.all and args.stack:
        raise UsageError("--all checks every stack of the project; name stacks or pass --all, not both")
    if not args.all and not args.stack:
        raise UsageError("name the stack to check (e.g. mlstack check churn-prod), several stacks, or --all")
    stacks = all_stacks() if args.all else list(args.stack)
    single = len(stacks) == 1 and not args.all
    config = load_config_file(args.config) if args.config is not None else None
    # Checked before the plans: a typo in --output or --json fails at once, and never overwrites an input.
    inputs = [(Path(args.config), "the policy pack config")] if args.config is not None else []
    for stack in stacks:
        try:
            inputs += stack_inputs(stack)
        except (ConfigError, UsageError):
            if single:
                raise
            # with several stacks, reported as that stack's outcome
    targets = open_targets(args, inputs=inputs)
    if single:
        reports, failures = [check_stack(stacks[0], config=config, config_file=args.config, worker=worker)], []
    else:
        outcomes = check_stacks(stacks, config=config, config_file=args.config, jobs=args.jobs)
        reports = [o.report for o in outcomes if o.report is not None]
        failures = [o for o in outcomes if o.error is not None]
        for o in failures:
            text = o.error.render() if isinstance(o.error, ConfigError) else f"mlstack: error: {o.error}"
            print(f"{o.stack}: {text}", file=sys.stderr)

    def text() -> str:
        if single:
            return render_reports("text", reports)
        parts = [render_reports("text", [o.report]).rstrip("\n") if o.report is not None else _not_checked(o) for o in outcomes]
        return "\n\n".join([*parts, _total(outcomes)]) + "\n"

    def report() -> str:
        if args.format == "json":  # the document, stacks that could not be checked included
            import json

            return json.dumps(document(), indent=2, sort_keys=True) + "\n"
        rendered = render_reports(args.format, reports)
        if args.format == "github" and not single:
            rendered = rendered.rstrip("\n") + "\n" + "".join(f"{_not_checked(o)}\n" for o in failures) + _total(outcomes) + "\n"
        return rendered

    def document() -> dict[str, Any]:
        data = json_report(reports, combined=not single)
        if failures:
            data["passed"] = False
            data["stacks"] = [o.to_json() for o in outcomes]
        return data

    targets.emit(text=text, report=report, document=document)
    if failures:
        return 2
    return 0 if all(r.passed for r in reports) else 1


def _not_checked(outcome: Any) -> str:
    from ..errors import ConfigError

    first = (outcome.error.render() if isinstance(outcome.error, ConfigError) else str(outcome.error)).splitlines()[0]
    return f"{outcome.stack}: not checked: {first} (details on stderr)"


def _total(outcomes: list) -> str:
    passed = sum(1 for o in outcomes if o.report is not None and o.report.passed)
    failed = sum(1 for o in outcomes if o.report is not None and not o.report.passed)
    errors = len(outcomes) - passed - failed
    verdict = "passed" if passed == len(outcomes) else "FAILED"
    return f"{len(outcomes)} stacks: {passed} passed, {failed} failed, {errors} not checked; {verdict}"

def render_text(report: Any) -> str:
    """See :func:`mlstack.policy.reports.render_text`."""
    from .reports import render_text as text

    return text(report)


def render_github(report: Any, stack_file: str | None = None) -> str:
    """See :func:`mlstack.policy.reports.render_github`."""
    from .reports import render_github as github

    return github(report, stack_file)
