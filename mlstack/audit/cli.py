"""``mlstack audit verify STACK``: check a stack's signed decision log.

Exit codes: 0 every record verifies and chains; 1 a gap, an edit, a hidden or foreign record, a
bad signature, a broken chain, or a truncation a witness shows (or an AWS failure); 2 bad input
or setup (no log configured, bucket missing, unreadable --public-key).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _read_public_key(path: str) -> Any:
    from ..errors import UsageError
    from ..files import read_text
    from .verify import load_public_key

    text = read_text(path, what="--public-key", limit=64 * 1024)
    try:
        return load_public_key(text.encode("ascii", "replace"))
    except ValueError as exc:
        raise UsageError(
            f"--public-key {path} {exc if 'ECC_NIST_P256' in str(exc) else 'is not a PEM public key'}; "
            "export it with `aws kms get-public-key --key-id alias/mlstack/<stack>/audit-signing` (PublicKey, DER, base64) and convert it to PEM"
        ) from None


def _verify(args: argparse.Namespace, stack: Any, aws: Any) -> int:
    from .log import DecisionLog
    from .verify import registry_witness, verify_log

    log = DecisionLog.for_stack(aws, stack, required=True)
    assert log is not None
    report = verify_log(log, public_key=args.public_key_object, head=args.head_value)
    if args.registry:
        report.problems += registry_witness(log, stack, report)
    print(report.render())
    return report.exit_code


def _command(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..ops.cli import _aws_command
    from .verify import parse_head

    # Every input is checked before any AWS call.
    try:
        args.head_value = parse_head(args.head) if args.head is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    args.public_key_object = _read_public_key(args.public_key) if args.public_key is not None else None
    return _aws_command(_verify)(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``audit`` (with ``verify``) to the ``mlstack`` parser."""
    from ..ops.cli import _aws_options

    parser = subparsers.add_parser(
        "audit",
        help="check the stack's signed, append-only decision log",
        description="The decision log (mlstack:audit) holds one signed record per `mlstack promote` decision and "
        "`mlstack verify` run. Exit codes: 0 intact, 1 tampered with or damaged, 2 bad input.",
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser(
        "verify",
        parents=[_aws_options()],
        help="check every record's signature and the hash chain; report gaps, edits and truncation",
        description="Walk the stack's decision log oldest first: every record must be signed by the stack's "
        "signing key, chain to the record before it, sit at its own sequence number, and never have been "
        "overwritten or hidden. Exit codes: 0 intact, 1 a problem was found, 2 bad input.",
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument(
        "--public-key",
        metavar="PEM",
        help="verify signatures with this pinned public key (PEM) instead of the key the alias names today",
    )
    p.add_argument(
        "--head",
        metavar="SEQ:DIGEST",
        help="the head an earlier run printed: the log must still hold that record with that digest (detects a truncated or rewritten log)",
    )
    p.add_argument(
        "--no-registry",
        dest="registry",
        action="store_false",
        help="skip the registry witness (every version decided by mlstack promote since the log began has its record)",
    )
    p.set_defaults(handler=_command, command="audit verify")
