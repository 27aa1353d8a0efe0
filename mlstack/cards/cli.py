"""``mlstack card STACK --model M [--version N] [--format markdown|html|json] [--live]``.

Offline (default) the card comes from the stack file alone: what ``pulumi up`` writes to the
model's SageMaker Model Card. With ``--live`` (or ``--version``) it is read from the registry
with boto3: the version's own card as ``mlstack promote`` wrote it (metrics, gate verdicts,
baseline, training data and job), its approval status and description; a version without a
card of its own shows the stack file's card, said so in a note.

Exit codes: 0 shown; 1 an AWS call failed or the registry's card is unreadable; 2 bad input
(unknown stack or model, a model without a card, unknown version, no credentials).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional

__all__ = ["register"]

EXIT_OK = 0


def _model(stack: Any, name: str) -> tuple[int, Any]:
    from ..errors import UsageError

    spec = stack.spec
    names = [m.name for m in spec.models]
    if name not in names:
        raise UsageError(f"{stack.path}: mlstack:models has no model {name!r} (declared: {', '.join(names)}); pass one of them to --model")
    index = names.index(name)
    model = spec.models[index]
    if model.card is None:
        raise UsageError(
            f"{stack.path}: mlstack:models[{index}] ({name!r}) declares no card; add mlstack:models[{index}].card with owner, "
            "intendedUses, outOfScopeUses, riskRating, ethicalConsiderations and caveats (see `mlstack schema`)"
        )
    return index, model


def stack_card(stack: Any, model: Any) -> Any:
    """The card the stack file declares for ``model``, as a :class:`~mlstack.cards.render.CardView`."""
    from . import card_content, model_datasets
    from .render import CardView

    group = stack.spec.group_name(model.name)
    content = card_content(model.card, group=group, purpose=model.description, datasets=model_datasets(model))
    return CardView(model=model.name, group=group, stack=stack.stack, content=content, status=model.card.status, source=f"stack file {_shown_path(stack.path)}")


def _shown_path(path: Any) -> str:
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if relative.startswith("..") else relative


def live_card(aws: Any, stack: Any, model: Any, version: Optional[int]) -> Any:
    """The card of ``version`` of ``model`` (default: its latest Approved version) in the registry."""
    from ..ops.aws import OpsError
    from ..ops.cards import version_card_content
    from ..ops.registry import describe_group, describe_package, find_version, latest_approved, model_version

    client = aws.client("sagemaker")
    group = stack.spec.group_name(model.name)
    if describe_group(client, group) is None:
        raise OpsError(f"model package group {group!r} does not exist in {aws.region}; deploy the stack (pulumi up) first", exit_code=2)
    if version is None:
        summary = latest_approved(client, group)
        if summary is None:
            raise OpsError(f"{group} has no Approved version yet; pass --version N to see another version", exit_code=2)
    else:
        summary = find_version(client, group, version)
        if summary is None:
            raise OpsError(f"{group} has no version {version}; list its versions with `mlstack status {stack.stack}`", exit_code=2)
    package = describe_package(client, summary["ModelPackageArn"])
    view = stack_card(stack, model)
    view.version = model_version(package)
    view.approval = package.get("ModelApprovalStatus")
    view.approval_description = package.get("ApprovalDescription") if isinstance(package.get("ApprovalDescription"), str) else None
    found = version_card_content(package)
    if found is not None:
        view.content, view.status = found
        view.source = f"registry: {package['ModelPackageArn']}"
    else:
        view.notes.append(
            f"{group} v{view.version} carries no card of its own (mlstack promote writes one when it approves a version); "
            f"shown: the stack file's card"
        )
    return view


def cmd_card(args: argparse.Namespace) -> int:
    from ..config import load_stack, stack_inputs
    from ..files import open_output
    from .render import render

    stack = load_stack(args.stack)
    _, model = _model(stack, args.model)
    output = open_output(args.output, option="--output", inputs=stack_inputs(stack.path)) if args.output is not None else None
    if args.live or args.version is not None:
        from ..ops.cli import _aws_command

        holder: dict[str, Any] = {}

        def live(a: argparse.Namespace, s: Any, aws: Any) -> int:
            holder["view"] = live_card(aws, s, model, args.version)
            return EXIT_OK

        code = _aws_command(live)(args)
        if code != EXIT_OK:
            return code
        view = holder["view"]
    else:
        view = stack_card(stack, model)
    text = render(view, args.format)
    if output is not None and args.output != "-":
        output.write(text)
        print(f"wrote the model card of {model.name} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _version(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1 or str(number) != text.strip():
        raise argparse.ArgumentTypeError(f"a version is a whole number from 1 (got {text!r})")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``card`` to the ``mlstack`` parser."""
    from ..ops.cli import _aws_options
    from .render import FORMATS

    p = subparsers.add_parser(
        "card",
        parents=[_aws_options()],
        help="render a model's card (offline from the stack file; --live: a registry version's card)",
        description="Render the model card of mlstack:models[].card for humans. Offline by default; --live or --version "
        "reads the registry (boto3): the version's own card as `mlstack promote` wrote it, with its metrics and gate results. "
        "Exit codes: 0 shown, 1 an AWS call failed, 2 bad input.",
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument("--model", required=True, help="the model (mlstack:models[].name)")
    p.add_argument("--version", type=_version, metavar="N", help="the registered version to show (implies --live; default with --live: the latest Approved)")
    p.add_argument("--live", action="store_true", help="read the card from the registry with the standard AWS settings")
    p.add_argument("--format", choices=FORMATS, default="markdown", help="markdown (default), html or json")
    p.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    p.set_defaults(handler=cmd_card)
