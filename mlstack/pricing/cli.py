"""``mlstack cost STACK`` (offline) and ``mlstack prices update --region R`` (AWS Price List API).

Exit codes: 0 success; 1 the Price List API failed or answered something unusable; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

__all__ = ["register", "cmd_cost", "cmd_prices_update", "price_file_for", "cost_report"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _project_root(stack_file: Any) -> Path:
    return stack_file.project.root if stack_file.project is not None else stack_file.path.parent


def price_file_for(stack_file: Any, explicit: Optional[str] = None) -> Optional[Any]:
    """The stack region's price file (``--prices`` or ``prices/<region>.json``), or None when absent.
    A file that exists but is unusable is a usage error (exit 2)."""
    from ..errors import UsageError
    from . import PriceFileError, default_path, load_price_file

    path = Path(explicit) if explicit is not None else default_path(_project_root(stack_file), stack_file.region)
    if explicit is None and not path.is_file():
        return None
    try:
        return load_price_file(path, region=stack_file.region)
    except PriceFileError as exc:
        raise UsageError(str(exc)) from None


def cost_report(stack_file: Any, plan: Any, prices: Any) -> Any:
    from ..capacity import Node, capacity_of_plan
    from .cost import estimate

    nodes = [Node(r.type, r.name, r.urn, r.parent, r.inputs or {}, tuple(r.dependencies or ())) for r in plan.resources]
    return estimate(nodes, capacity_of_plan(plan), prices, stack=stack_file.stack, region=stack_file.region)


def cmd_cost(args: argparse.Namespace) -> int:
    from ..config import load_stack, stack_inputs
    from ..engine import plan_stack_file
    from ..files import open_output

    stack_file = load_stack(args.stack)
    output = open_output(args.json, option="--json", inputs=stack_inputs(stack_file.path)) if args.json is not None else None
    prices = price_file_for(stack_file, args.prices)
    plan = plan_stack_file(stack_file)
    report = cost_report(stack_file, plan, prices)
    if output is not None:
        output.write(json.dumps(report.to_json(), indent=2) + "\n")
        if output.is_stdout:
            return EXIT_OK
    print(report.render())
    return EXIT_OK


def cmd_prices_update(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from ..config import find_project
    from ..files import open_output
    from ..ops.aws import Aws, AwsSettings, OpsError, translate, unreadable_answers
    from ..ops.preflight import region_offers_sagemaker
    from . import PRICING_API_REGION, PriceFileError, default_path, fetch_prices

    region = args.region
    if not region:
        print("mlstack prices update: error: --region is required: the region whose prices to read (e.g. eu-west-1)", file=sys.stderr)
        return EXIT_USAGE
    if not region_offers_sagemaker(region):
        print(
            f"mlstack prices update: error: --region {region!r} is not a region where botocore knows SageMaker (e.g. eu-west-1); "
            "check the name, or upgrade botocore for a new region",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.output is not None:
        target = args.output
    else:
        project = find_project()
        if project is None:
            print("mlstack prices: error: no Pulumi.yaml here or above; run it in the project or pass --output PATH", file=sys.stderr)
            return EXIT_USAGE
        (project.root / "prices").mkdir(exist_ok=True)
        target = str(default_path(project.root, region))
    output = open_output(target, option="--output")
    # The Price List API is served from a few regions only; the prices asked for are those of --region.
    aws = Aws(
        AwsSettings(
            region=PRICING_API_REGION,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            max_attempts=args.max_attempts,
            retry_mode=args.retry_mode,
            timeout=args.timeout,
        )
    )
    try:
        with unreadable_answers("Pricing GetProducts"):
            prices = fetch_prices(aws.client("pricing"), region)
    except PriceFileError as exc:
        print(f"mlstack prices: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OpsError, BotoCoreError, ClientError) as exc:
        error = translate(exc, aws)
        print(f"mlstack prices: error: {error}", file=sys.stderr)
        return error.exit_code
    output.write(json.dumps(prices.to_json(), indent=1, sort_keys=False) + "\n")
    count = sum(len(t) for t in prices.instances.values())
    print(f"wrote {count} instance prices and {len(prices.monthly)} monthly prices of {region} (retrieved {prices.retrieved}) to {target}")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add cost and prices to the ``mlstack`` parser."""
    from ..ops.cli import _aws_options

    p = subparsers.add_parser(
        "cost",
        help="monthly cost per component and resource class at minimum and maximum scale (offline)",
        description="Plan the stack offline and estimate its monthly cost from the project's price file "
        "(prices/<region>.json, written by `mlstack prices update`). Without one, prints instance-hours and GPU-hours only.",
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument("--prices", metavar="FILE", help="the price file to use (default: prices/<the stack's aws:region>.json)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH ('-' for stdout only)")
    p.set_defaults(handler=cmd_cost)

    p = subparsers.add_parser("prices", help="update the committed price file of a region from the AWS Price List API")
    sub = p.add_subparsers(dest="prices_command", metavar="ACTION")
    u = sub.add_parser(
        "update",
        parents=[_aws_options()],
        help="read on-demand prices of a region (pricing:GetProducts) into prices/<region>.json",
        description="Ask the AWS Price List Query API for on-demand SageMaker instance, KMS key, CloudWatch alarm and "
        "dashboard prices of --region and write them, with the date, to prices/<region>.json (commit it). "
        "Needs credentials allowed pricing:GetProducts; no account resources.",
    )
    u.add_argument("--output", "-o", metavar="PATH", help="write here instead of prices/<region>.json")
    u.set_defaults(handler=cmd_prices_update)
    p.set_defaults(handler=lambda args: (p.print_help(), EXIT_USAGE)[1])
