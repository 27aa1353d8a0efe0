"""``python -m mlstack.drift``: one run of the data-drift job.

Usage::

    python -m mlstack.drift --endpoint-name NAME \\
        --capture-uri s3://bucket/capture/prefix \\
        --baseline-uri s3://bucket/baseline.csv   # or a baseline.json profile
        [--features a,b,c] [--categorical c] [--psi-threshold 0.2] \\
        [--window-hours 1] [--bins 10] [--report-uri s3://bucket/reports/] \\
        [--log-level INFO]

URIs may also be local paths, e.g. the processing job's
``/opt/ml/processing/input/...`` and ``/opt/ml/processing/output``. AWS
settings come from the environment as usual (``AWS_REGION``, credentials,
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` ...).

Exit status: 0 when the run published its metrics, including a window
without captured data (``CapturedRecords`` = 0); 1 when reading or
publishing failed; 2 on bad usage or when the job's requirements (numpy,
boto3: ``pip install 'mlstack[drift]'``) are missing (a message, never a
traceback).

The job imports numpy and boto3 only: ``docker/drift/`` builds its image
from ``docker/drift/requirements.txt`` and mlstack installed without its
dependencies (no Pulumi, no sagemaker SDK).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
from collections.abc import Sequence

from mlstack.drift import DEFAULT_PSI_THRESHOLD, DEFAULT_WINDOW_HOURS

PROG = "python -m mlstack.drift"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")

log = logging.getLogger("mlstack.drift")


def _endpoint_name(value: str) -> str:
    if not _ENDPOINT_NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a SageMaker endpoint name (1-63 letters, digits and hyphens)"
        )
    return value


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be a number > 0")
    return number


def _hours(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of hours") from None
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be >= 0 hours (0 reads all captured data)")
    return number


def _bins(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if not 2 <= number <= 1000:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 2 and 1000")
    return number


def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",")]
    if not names or any(not n for n in names):
        raise argparse.ArgumentTypeError(f"{value!r} is not a comma-separated list of names")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{value!r} names a feature twice")
    return names


def _s3_or_path(value: str) -> str:
    if value.startswith("s3://"):
        bucket, _, _key = value[5:].partition("/")
        if not _BUCKET.match(bucket):
            raise argparse.ArgumentTypeError(f"{value!r}: {bucket!r} is not an S3 bucket name")
    elif "://" in value and not value.startswith("file://"):
        raise argparse.ArgumentTypeError(f"{value!r}: only s3:// URIs and local paths are supported")
    elif not value.strip():
        raise argparse.ArgumentTypeError("an empty location")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Compute per-feature PSI and KL divergence of an endpoint's captured requests "
            "against the training baseline and publish them as CloudWatch metrics "
            "(namespace mlstack/Drift)."
        ),
    )
    parser.add_argument("--endpoint-name", required=True, type=_endpoint_name, help="SageMaker endpoint name")
    parser.add_argument(
        "--capture-uri",
        required=True,
        type=_s3_or_path,
        help="data-capture location: s3://bucket/prefix or a local directory",
    )
    parser.add_argument(
        "--baseline-uri",
        required=True,
        type=_s3_or_path,
        help="baseline: a profile (*.json) or CSV data with a header (*.csv), on S3 or local",
    )
    parser.add_argument("--features", type=_names, help="comma-separated features to measure (default: all)")
    parser.add_argument(
        "--categorical",
        type=_names,
        default=[],
        help="comma-separated CSV baseline columns to treat as categorical (default: inferred)",
    )
    parser.add_argument(
        "--psi-threshold",
        type=_positive_float,
        default=DEFAULT_PSI_THRESHOLD,
        help="PSI above which a feature counts as drifted (default: %(default)s)",
    )
    parser.add_argument(
        "--window-hours",
        type=_hours,
        default=DEFAULT_WINDOW_HOURS,
        help="hours of captured data to read, ending now; 0 reads all (default: %(default)s)",
    )
    parser.add_argument("--bins", type=_bins, default=10, help="quantile bins for numeric CSV baselines (default: 10)")
    parser.add_argument(
        "--report-uri",
        type=_s3_or_path,
        help="where to write the JSON report: a *.json file, a directory or an S3 prefix",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MLSTACK_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: INFO)",
    )
    return parser


def _check_locations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.baseline_uri.startswith("s3://"):
        if not args.baseline_uri[5:].partition("/")[2]:
            parser.error(f"--baseline-uri {args.baseline_uri!r} names a bucket, not an object")
    else:
        path = args.baseline_uri.removeprefix("file://")
        if not os.path.isfile(path):
            parser.error(f"--baseline-uri: no such file: {path}")
    if not args.capture_uri.startswith("s3://"):
        path = args.capture_uri.removeprefix("file://")
        if not os.path.exists(path):
            parser.error(f"--capture-uri: no such directory: {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad usage
    _check_locations(parser, args)

    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("botocore").setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))

    try:
        from botocore.exceptions import BotoCoreError, ClientError

        from mlstack.drift.job import DriftConfigError, DriftInputError, run
    except ImportError as exc:  # an image or install without the job's requirements
        print(
            f"{PROG}: error: the drift job needs numpy and boto3 ({exc}); install them with "
            "pip install 'mlstack[drift]', or build the image of docker/drift/",
            file=sys.stderr,
        )
        return EXIT_USAGE

    try:
        report = run(
            args.endpoint_name,
            args.capture_uri,
            args.baseline_uri,
            features=args.features,
            categorical=args.categorical,
            psi_threshold=args.psi_threshold,
            window_hours=args.window_hours,
            bins=args.bins,
            report_uri=args.report_uri,
        )
    except DriftConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DriftInputError, BotoCoreError, ClientError, OSError, ValueError) as exc:
        log.error("drift run failed: %s", exc)
        return EXIT_FAILED
    except Exception:  # a bug: keep the traceback in the job's log
        log.exception("drift run failed unexpectedly")
        return EXIT_FAILED
    log.info(
        "done: endpoint %s, %d captured row(s), %s feature(s) drifted",
        report.endpoint_name,
        report.captured_records,
        report.features_drifted if report.features else "no",
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
