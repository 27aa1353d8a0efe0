"""The ``mlstack`` command line.

Exit codes: 0 success; 1 the checked thing failed; 2 bad input or usage. Heavy modules
(pulumi, pulumi_aws, boto3) are imported only by the command that needs them, so
``mlstack --help`` stays fast.

No input gives a traceback: user errors print a message and exit 2; an error mlstack did not
foresee prints one line saying so and exits 1 (``MLSTACK_DEBUG=1`` shows the traceback).
Files are read and written through :mod:`mlstack.files` (outputs are checked before the
work and never overwrite an input).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["main", "entry", "run_handler", "write_json", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, Handler] = {}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too; keep its message short and ours
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"mlstack: error: {message}\n")


def write_json(output: Any, data: object) -> None:
    """Write ``data`` as indented JSON to an :class:`mlstack.files.Output`."""
    output.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def cmd_plan(args: argparse.Namespace) -> int:
    from .config import stack_inputs
    from .files import open_output
    from .reports.options import open_targets

    # Checked before the plan, which takes seconds: a typo in a path fails at once.
    inputs = stack_inputs(args.stack)
    targets = open_targets(args, inputs=inputs)
    adopt = open_output(args.import_file, option="--import-file", inputs=inputs) if args.import_file is not None else None
    from .progress import activity

    from .progress import COUNTS

    COUNTS["registered"] = 0
    with activity(f"planning {args.stack}", detail=lambda: f"{COUNTS['registered']} resources" if COUNTS["registered"] else None):
        plan = _plan(args.stack, args.lookups)
    # Before anything is written: an unusable price file stops the command with nothing half done.
    summary = "" if targets.json_on_stdout and targets.output is None else _capacity_summary(args.stack, plan)
    notes = []
    if adopt is not None:
        from .engine.importfile import import_file

        data = import_file(plan)
        # Pulumi's own writer (writeImportFile) indents with four spaces.
        adopt.write(json.dumps(data, indent=4) + "\n")
        adopted = sum(1 for r in data["resources"] if not r.get("component"))
        notes.append(
            f"wrote {adopted} existing resource{'s' if adopted != 1 else ''} to adopt to {args.import_file}; before the "
            f"first `pulumi up`, run: pulumi import --file {args.import_file} --stack {plan.stack} --generate-code=false"
        )
    if args.json not in (None, "-"):
        notes.append(f"wrote the resource graph to {args.json}")
    if args.output is not None and args.output != "-":
        notes.append(f"wrote the {args.format} report to {args.output}")
    targets.emit(text=lambda: _with_summary(plan.render(), summary) + "".join(f"\n\n{n}" for n in notes), report=lambda: _json_text(plan.to_json()), document=plan.to_json)
    return EXIT_OK


def _json_text(data: dict) -> str:
    from .reports import versioned

    return json.dumps(versioned(data), indent=2, sort_keys=True) + "\n"


def _with_summary(text: str, summary: str) -> str:
    """The plan text with the capacity and cost summary under the accelerator totals, before warnings and outputs."""
    cut = min((i for i in (text.find("\n\nwarnings:"), text.find("\n\noutputs:")) if i >= 0), default=len(text))
    return text[:cut] + summary + text[cut:]


def _capacity_summary(stack: str, plan: Any) -> str:
    """Under the accelerator totals: peak instances and monthly hours, and the cost when the
    project has a price file for the stack's region (mlstack.capacity, mlstack.pricing)."""
    from .capacity import capacity_of_plan
    from .config import load_stack
    from .pricing.cli import cost_report, price_file_for

    capacity = capacity_of_plan(plan)
    lines = ["", capacity.render()]
    stack_file = load_stack(stack)
    prices = price_file_for(stack_file)
    if prices is not None:
        report = cost_report(stack_file, plan, prices)
        lo, hi = report.total("min"), report.total("max")
        if lo is None or hi is None:
            lines.append(f"cost: unknown: {prices.path} lacks prices of some instance types (see `mlstack cost {stack}`)")
        else:
            lines.append(f"cost: {lo:,.2f}-{hi:,.2f} USD/month (min-max scale; prices of {prices.retrieved}; `mlstack cost {stack}` for the breakdown)")
    return "\n".join(lines)


def _plan(stack: str, lookups: str) -> Any:
    """Plan in this process; whatever the stack's program raises (or its sys.exit) is reported
    as `mlstack check` reports it from its worker: one line with the program's file and line."""
    from .config import resolve_stack_file
    from .engine import plan_stack
    from .errors import ConfigError, UsageError

    path, project = resolve_stack_file(stack)
    root = project.root if project is not None else path.parent

    try:
        return plan_stack(stack, lookups=lookups)
    except (ConfigError, UsageError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - the program may raise anything, or SystemExit
        pulumi = sys.modules.get("pulumi")
        if (pulumi is not None and isinstance(exc, pulumi.RunError)) or type(exc).__name__ == "UnansweredInvoke":
            raise
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        from .engine.worker import describe_program_error

        raise UsageError(f"the stack's program failed: {describe_program_error(exc, root)}") from None


def cmd_schema(args: argparse.Namespace) -> int:
    from .files import open_output
    from .schema import stack_config_schema

    output = open_output("-" if args.output is None else args.output, option="--output")
    write_json(output, stack_config_schema())
    return EXIT_OK


def cmd_catalog(args: argparse.Namespace) -> int:
    from . import catalog

    types = sorted(catalog.instance_types(args.use))
    for itype in types:
        acc = catalog.accelerator(itype)
        if args.accelerated and acc is None:
            continue
        detail = f"{acc.count} x {acc.manufacturer} {acc.name} ({acc.kind}, {acc.memory_mib // 1024} GiB each)" if acc else "CPU"
        print(f"{itype:<28} {detail}")
    return EXIT_OK


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the extension module of the command in ``argv`` is imported."""
    parser = _Parser(
        prog="mlstack",
        description=(
            "Production MLOps stacks on AWS as code. Offline: plan, check, validate-data, cost, card, lineage, schema. "
            "Against AWS: preflight, promote, verify, status, audit verify."
        ),
        epilog="Exit codes: 0 success, 1 the checked thing failed, 2 bad input or usage.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"mlstack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("plan", help="show the resources a stack would create (offline: no AWS, no Pulumi CLI)")
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    from .reports.options import add_report_options

    add_report_options(p, formats=("text", "json"), what="resource graph")
    p.add_argument(
        "--import-file",
        metavar="FILE",
        help="also write FILE for `pulumi import --file`: the SageMaker endpoints, model package groups and feature "
        "groups the stack declares, with their AWS names, so the first `pulumi up` adopts them instead of colliding",
    )
    p.add_argument(
        "--lookups",
        choices=["offline", "aws"],
        default="offline",
        help="offline (default): model versions and live endpoints from the stack file; aws: ask AWS with the stack's "
        "AWS settings (aws:region, aws:profile, aws:assumeRoles, ...) what `pulumi up` would deploy now",
    )
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("schema", help="print the JSON Schema of the mlstack:* keys of a stack file")
    p.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser("catalog", help="list the SageMaker instance types valid for a use, with their accelerators")
    p.add_argument("use", choices=["endpoint", "training", "processing", "transform"])
    p.add_argument("--accelerated", action="store_true", help="only GPU and Neuron types")
    p.set_defaults(handler=cmd_catalog)

    wanted = _command_in(argv)
    loaded: set[str] = set()
    for command, (module, help_text) in _EXTENSIONS.items():
        if module in loaded:
            continue
        if command == wanted and _is_available(module):
            _import(module).register(sub)
            loaded.add(module)
    for command, (module, help_text) in _EXTENSIONS.items():
        # Listed in --help without importing the module (and pulumi, boto3 with it).
        if module not in loaded and _is_available(module):
            p = sub.add_parser(command, help=help_text, add_help=False)
            p.set_defaults(handler=None)
    return parser


#: Subcommands defined in modules of their own, imported only when the command runs:
#: command -> (module exposing register(subparsers), one-line help).
_EXTENSIONS: dict[str, tuple[str, str]] = {
    "check": ("mlstack.policy.cli", "evaluate the policy pack on a stack offline (CI gate)"),
    "policy-pack": ("mlstack.policy.publish", "build the policy pack as a self-contained directory to publish"),
    "promote": ("mlstack.ops.cli", "evaluate a model version's gates and approve or reject it in the registry"),
    "verify": ("mlstack.ops.cli", "check that the live endpoints match what the stack declares"),
    "status": ("mlstack.ops.cli", "alarms, pipeline executions and approved model versions of a stack"),
    "validate-data": ("mlstack.datacheck.cli", "check a data sample against a feature group's schema"),
    "card": ("mlstack.cards.cli", "render a model's card (offline from the stack file, or a registry version's)"),
    "lineage": ("mlstack.lineagegraph.cli", "the lineage graph of a stack: data -> pipeline -> registry -> endpoint -> monitor"),
    "audit": ("mlstack.audit.cli", "check the stack's signed, append-only decision log (audit verify STACK)"),
    "preflight": ("mlstack.ops.preflight", "compare a stack's peak instances with the account's SageMaker quotas"),
    "cost": ("mlstack.pricing.cli", "monthly cost per component and resource class at minimum and maximum scale"),
    "prices": ("mlstack.pricing.cli", "update the committed price file of a region from the AWS Price List API"),
}


def _command_in(argv: Sequence[str] | None) -> str | None:
    for token in argv or ():
        if not token.startswith("-"):
            return token
    return None


def _is_available(module: str) -> bool:
    # A file check, not find_spec: that would import the parent package (and pulumi with it).
    relative = Path(*module.split(".")[1:]).with_suffix(".py")
    return (Path(__file__).parent / relative).is_file()


def _import(module: str):
    import importlib

    return importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    return run_handler(args.handler, args)


def entry() -> None:
    """The ``mlstack`` process: :func:`main` with the collector tuned for a short run and a fast
    exit once the output is flushed (:mod:`mlstack.process`)."""
    from .process import exit_now, tune_collector

    tune_collector()
    exit_now(main())


DEBUG_VARIABLE = "MLSTACK_DEBUG"
"""Set to 1 to let unforeseen errors out with their traceback (for a bug report)."""


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command, turning user errors into a message and exit code 2, and any other error
    into one line and exit code 1 — never a traceback unless ``MLSTACK_DEBUG=1``."""
    from .errors import ConfigError, UsageError
    from .files import forget_inputs
    from .progress import set_quiet

    forget_inputs()
    set_quiet(getattr(args, "quiet", False))
    try:
        return handler(args)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"mlstack: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mlstack ... | head`: the reader left; stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001
        pulumi = sys.modules.get("pulumi")  # only a command that imported it can raise its errors
        if (pulumi is not None and isinstance(exc, pulumi.RunError)) or type(exc).__name__ == "UnansweredInvoke":
            print(f"mlstack: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, OSError) and exc.filename is not None:
            # A file the command touched outside mlstack.files (a program, a plugin).
            print(f"mlstack: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        print(
            f"mlstack: internal error: {type(exc).__name__}: {_first_line(exc)}; this is a bug in mlstack, "
            f"not in your input: rerun with {DEBUG_VARIABLE}=1 for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else "(no message)"
    return line if len(line) <= 300 else line[:297] + "..."


if __name__ == "__main__":  # pragma: no cover
    entry()
