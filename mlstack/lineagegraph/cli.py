"""``mlstack lineage STACK [--format mermaid|dot|json|openlineage] [--live] [-o PATH]``.

Offline (default) from the stack's plan; ``--live`` adds the registry's Approved versions and
what each endpoint serves (boto3, the standard AWS settings). Exit codes: 0 drawn; 1 an AWS
call failed or answered what SageMaker's API does not promise; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]

EXIT_OK = 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from ..cli import _plan
    from ..config import load_stack, stack_inputs
    from ..files import open_output
    from . import from_plan, render

    stack = load_stack(args.stack)
    output = open_output(args.output, option="--output", inputs=stack_inputs(stack.path)) if args.output is not None else None
    graph = from_plan(stack, _plan(args.stack, "offline"))
    if args.live:
        from ..ops.cli import _aws_command
        from .live import add_live

        def live(a: argparse.Namespace, s: Any, aws: Any) -> int:
            add_live(graph, aws, s)
            return EXIT_OK

        code = _aws_command(live)(args)
        if code != EXIT_OK:
            return code
    text = render(graph, args.format)
    if output is not None and args.output != "-":
        output.write(text)
        print(f"wrote the lineage graph of {stack.stack} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for note in graph.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lineage`` to the ``mlstack`` parser."""
    from ..ops.cli import _aws_options
    from .graph import FORMATS

    p = subparsers.add_parser(
        "lineage",
        parents=[_aws_options()],
        help="the stack's lineage graph: data -> pipeline -> registry -> endpoint -> monitor -> retraining",
        description="Draw where a served prediction comes from. Offline (default) from the stack's plan: datasets and feature "
        "groups, training pipelines, registries, endpoints with the version they serve, monitors and the retraining edge. "
        "--live adds, from AWS, each model's Approved versions with their dataset version, git commit, pipeline execution, "
        "training job and MLflow run, and which endpoint config serves which version. "
        "Exit codes: 0 drawn, 1 an AWS call failed, 2 bad input.",
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument("--format", choices=FORMATS, default="mermaid", help="mermaid (default), dot, json or openlineage (JobEvents, spec 2-0-2)")
    p.add_argument("--live", action="store_true", help="add the deployed versions and endpoints, read with the standard AWS settings")
    p.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    p.set_defaults(handler=cmd_lineage)
