"""The day-2 subcommands: ``mlstack promote``, ``mlstack verify`` and ``mlstack status``.

Registered by :mlstack.cli: through :func:`register`. Exit codes as everywhere in mlstack:
0 success (approved, as expected), 1 the checked thing failed (rejected, live state differs,
or an AWS operation failed), 2 bad input or setup (unknown model, no credentials, access
denied, unreachable endpoint). AWS failures are printed as one message, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any, Callable

from .aws import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_TIMEOUT, RETRY_MODES, TIMEOUT_ENV

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_MAX_OUTPUTS_BYTES = 64 << 20
"""The largest `pulumi stack output --json` read by verify (64 MiB)."""


def _aws_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("AWS (default: the standard AWS environment variables and config files)")
    group.add_argument("--region", help="AWS region (default: the stack's aws:region)")
    group.add_argument("--profile", help="named profile from the AWS config files (default: AWS_PROFILE)")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this AWS-compatible endpoint (default: AWS_ENDPOINT_URL, else AWS)",
    )
    group.add_argument(
        "--max-attempts",
        type=int,
        metavar="N",
        help="attempts per AWS call, retries with backoff included (default: AWS_MAX_ATTEMPTS, else 8)",
    )
    from ..reports.options import add_quiet_option

    add_quiet_option(common)
    group.add_argument("--retry-mode", choices=RETRY_MODES, help="botocore retry mode (default: AWS_RETRY_MODE, else standard)")
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"total time for all AWS calls of the command, retries included; each attempt also waits at most "
        f"{DEFAULT_CONNECT_TIMEOUT:g} s to connect and {DEFAULT_READ_TIMEOUT:g} s per read "
        f"(default: {TIMEOUT_ENV}, else {DEFAULT_TIMEOUT:g})",
    )
    return common


def _aws(args: argparse.Namespace, stack: Any):
    from .aws import Aws, AwsSettings

    return Aws(
        AwsSettings(
            region=args.region or stack.region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            max_attempts=args.max_attempts,
            retry_mode=args.retry_mode,
            timeout=args.timeout,
        )
    )


def _aws_command(command: Callable[[argparse.Namespace, Any, Any], int]) -> Callable[[argparse.Namespace], int]:
    """Load the stack, build the AWS clients' settings, run ``command(args, stack, aws)`` and print
    AWS failures as one readable line with their exit code (never a traceback). Stack-file
    errors propagate to the CLI's own handler (exit 2). An answer that could not be read
    (botocore or mlstack failing on its content) is reported with the AWS call it came from,
    exit 1."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        from ..config import load_stack, stack_inputs
        from ..files import open_output
        from .aws import OpsError, translate

        stack = load_stack(args.stack)
        # Where --json goes is checked before any AWS call, and never overwrites an input.
        if hasattr(args, "format"):
            from ..reports.options import open_targets

            args.targets = open_targets(args, inputs=stack_inputs(stack.path))
        else:
            target = getattr(args, "json", None)
            args.json_output = open_output(target, option="--json", inputs=stack_inputs(stack.path)) if target is not None else None
        # So is every input file: a bad --outputs file stops the command before AWS is asked.
        args.outputs_data = _read_outputs(args.outputs) if getattr(args, "outputs", None) is not None else None
        # And the kubeconfig of a stack with KServe endpoints (verify reads them in the cluster).
        args.kube = None
        if getattr(args, "kubeconfig", False) is not False and not args.skip_kserve and any(e.is_kserve for e in stack.spec.endpoints):
            from .kube import KubeError

            try:
                args.kube = _kube(args, stack)
            except KubeError as exc:
                print(f"mlstack {args.command}: error: {exc} (or pass --skip-kserve to verify the SageMaker endpoints only)", file=sys.stderr)
                return exc.exit_code
        aws = _aws(args, stack)
        try:
            from ..progress import activity

            # The AWS call in flight beside the elapsed time, on a terminal only.
            with activity(f"{args.command} {stack.stack}", detail=lambda: aws.in_flight):
                if stack.spec.account_id:
                    aws.check_account(stack.spec.account_id, stack=stack.stack)
                return command(args, stack, aws)
        except (OpsError, BotoCoreError, ClientError) as exc:
            error = translate(exc, aws)
            print(f"mlstack {args.command}: error: {error}", file=sys.stderr)
            return error.exit_code
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError, OverflowError) as exc:
            call = aws.in_flight or aws.last_call
            where = f" of {call}" if call else ""
            detail = str(exc).replace("\n", " ")[:200]
            print(
                f"mlstack {args.command}: error: could not read the AWS answer{where} ({type(exc).__name__}: {detail}); "
                "stopping without a decision",
                file=sys.stderr,
            )
            return EXIT_FAILED

    return run


@_aws_command
def cmd_promote(args: argparse.Namespace, stack: Any, aws: Any) -> int:
    from .promote import promote

    result = promote(
        aws, stack, args.model, candidate=args.candidate, dry_run=args.dry_run, override_rejection=args.override_rejection
    )
    print(result.render())
    return result.exit_code


def _read_outputs(path: str) -> dict[str, Any]:
    from ..errors import UsageError
    from ..files import read_text

    try:
        text = sys.stdin.read() if path == "-" else read_text(path, what="--outputs", limit=_MAX_OUTPUTS_BYTES)
    except UsageError as exc:
        raise UsageError(f"{exc}; write it with `pulumi stack output --json > {path}`") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"--outputs {path} is not JSON ({exc}); write it with `pulumi stack output --json`") from None
    if not isinstance(data, dict):
        raise UsageError(f"--outputs {path} is not a JSON object; write it with `pulumi stack output --json`")
    return data


def _kube(args: argparse.Namespace, stack: Any) -> Any:
    """The Kubernetes API reader for the stack's KServe endpoints: --kubeconfig / --context, else
    the stack's kubernetes:kubeconfig / kubernetes:context, else KUBECONFIG and its current context."""
    from .kube import KubeClient

    kubeconfig = args.kubeconfig or stack.config.get("kubernetes:kubeconfig")
    context = args.context or stack.config.get("kubernetes:context")
    return KubeClient.from_kubeconfig(
        kubeconfig=kubeconfig if isinstance(kubeconfig, str) else None,
        context=context if isinstance(context, str) else None,
        timeout=args.timeout or 30.0,
    )


@_aws_command
def cmd_verify(args: argparse.Namespace, stack: Any, aws: Any) -> int:
    from .kube import KubeError
    from .verify import verify_endpoints

    outputs = args.outputs_data
    try:
        reports = verify_endpoints(aws, stack, outputs=outputs, kube=args.kube)
    except KubeError as exc:
        # A KServe read that failed: setup problems exit 2, unreadable answers 1 (no decision).
        what = "could not read the Kubernetes answer, stopping without a decision: " if exc.exit_code == EXIT_FAILED else ""
        print(f"mlstack {args.command}: error: {what}{exc}", file=sys.stderr)
        return exc.exit_code
    if not reports:
        print(f"stack {stack.stack} declares no endpoints (mlstack:endpoints); nothing to verify")
        return EXIT_OK
    for report in reports:
        print(report.render())
    failed = sum(r.failed for r in reports)
    deferred = sum(r.status == "deferred" for r in reports)
    checked = sum(r.status not in ("not checked", "deferred") for r in reports)
    waiting = f"; {deferred} deferred until {'its' if deferred == 1 else 'their'} model has an Approved version" if deferred else ""
    if failed:
        print(f"\n{failed} of {checked} checked endpoint{'s' if checked != 1 else ''} {'differs' if failed == 1 else 'differ'} from the stack{waiting}")
        return EXIT_FAILED
    print(f"\n{checked} endpoint{' runs' if checked == 1 else 's run'} as the stack declares{waiting}")
    return EXIT_OK


@_aws_command
def cmd_status(args: argparse.Namespace, stack: Any, aws: Any) -> int:
    from .status import collect_status, render_table

    from ..reports import versioned

    rows = collect_status(aws, stack, alarm_prefix=args.alarm_prefix)
    document = {"stack": stack.stack, "region": aws.region, "rows": [r.to_json() for r in rows]}
    args.targets.emit(
        text=lambda: f"stack {stack.stack} ({aws.region})\n{render_table(rows)}\n",
        report=lambda: json.dumps(versioned(document), indent=2) + "\n",
        document=lambda: document,
    )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add promote, verify and status to the ``mlstack`` parser."""
    common = _aws_options()
    stack_help = "a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file"

    p = subparsers.add_parser(
        "promote",
        parents=[common],
        help="approve or reject a registered model version by the gates the stack declares",
        description="Evaluate the model's gates (mlstack:models[].gates) on a candidate version against the "
        "group's last Approved version and approve or reject it; the approval description records every gate. "
        "It fails closed: an AWS answer or metric it cannot read stops it without a decision (exit 1), and a "
        "Rejected version is not approved again without --override-rejection. "
        "Exit codes: 0 approved, 1 rejected or stopped, 2 bad input.",
    )
    p.add_argument("stack", help=stack_help)
    p.add_argument("--model", required=True, help="the model (mlstack:models[].name) whose version to promote")
    p.add_argument(
        "--candidate",
        default="latest",
        metavar="ARN|VERSION|latest",
        help="the version to decide on: a model package ARN, a version number, or latest (default: the group's newest version)",
    )
    p.add_argument("--dry-run", action="store_true", help="evaluate and print the decision without changing the registry")
    p.add_argument(
        "--override-rejection",
        metavar="REASON",
        help="approve a Rejected version if its gates pass; REASON, your identity and the rejection you override "
        f"are recorded in its approval description (one line, at most 300 characters)",
    )
    p.set_defaults(handler=cmd_promote)

    p = subparsers.add_parser(
        "verify",
        parents=[common],
        help="check that the stack's endpoints are InService with the expected config, variants and instances",
        description="After `pulumi up`: check each SageMaker endpoint the stack declares, and each KServe "
        "InferenceService through the Kubernetes API (Ready, revisions, traffic per revision against the declared "
        "rollout step). Exit codes: 0 as declared, 1 something differs, 2 bad input or setup.",
    )
    p.add_argument("stack", help=stack_help)
    kube = p.add_argument_group("Kubernetes (KServe endpoints)")
    kube.add_argument("--kubeconfig", metavar="FILE", default=None,
                      help="the kubeconfig (default: the stack's kubernetes:kubeconfig, else KUBECONFIG, else ~/.kube/config)")
    kube.add_argument("--context", metavar="NAME", help="the kubeconfig context (default: the stack's kubernetes:context, else current-context)")
    kube.add_argument("--skip-kserve", action="store_true",
                      help="do not read the cluster: list KServe endpoints as not checked (default: verify them, and stop with exit 2 "
                      "when the kubeconfig cannot be used)")
    p.add_argument(
        "--outputs",
        metavar="FILE",
        help="the JSON of `pulumi stack output --json` ('-' for stdin): compare endpoint config names exactly "
        "(default: compare the live configs' lineage tags with the stack)",
    )
    p.set_defaults(handler=cmd_verify)

    p = subparsers.add_parser(
        "status",
        parents=[common],
        help="one table: approved model versions, last pipeline executions, alarm states",
    )
    p.add_argument("stack", help=stack_help)
    p.add_argument("--alarm-prefix", metavar="PREFIX", help="also list alarms whose name starts with PREFIX (default: only alarms tagged with the stack)")
    from ..reports.options import add_report_options

    add_report_options(p, formats=("text", "json"), what="status", quiet=False)
    p.set_defaults(handler=cmd_status)
