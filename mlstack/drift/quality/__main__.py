"""``python -m mlstack.drift.quality``: one run of the quality job.

Usage::

    python -m mlstack.drift.quality --endpoint-name NAME --capture-uri s3://b/capture \\
        --ground-truth-uri s3://b/ground-truth/ --problem-type binary \\
        [--prediction-field 0] [--threshold 0.5] [--positive-label 1] [--negative-label 0] \\
        [--id-column ID] [--request-columns a,b,c] [--slices a,b] [--min-slice-size 100] \\
        [--window-hours 24] [--label-lag-hours 0] [--gates JSON] [--model-package-arn ARN] \\
        [--baseline-uri s3://b/validation.csv] [--report-uri s3://b/reports/]

Exit status: 0 when the run published (a window with no labels yet included); 1 when reading
or publishing failed; 2 on bad usage (a message, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from mlstack.drift.__main__ import _endpoint_name, _hours, _names, _positive_float, _s3_or_path

PROG = "python -m mlstack.drift.quality"
log = logging.getLogger("mlstack.drift.quality")


def _size(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be >= 1")
    return number


def _threshold(value: str) -> float:
    number = _hours(value)
    if number > 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 0 and 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Judge an endpoint's captured predictions against late labels; publish to mlstack/Quality.")
    p.add_argument("--endpoint-name", required=True, type=_endpoint_name)
    p.add_argument("--capture-uri", required=True, type=_s3_or_path)
    p.add_argument("--ground-truth-uri", required=True, type=_s3_or_path)
    p.add_argument("--problem-type", required=True, choices=["binary", "multiclass", "regression"])
    p.add_argument("--prediction-field", default="0")
    p.add_argument("--threshold", type=_threshold, default=0.5)
    p.add_argument("--positive-label")
    p.add_argument("--negative-label", default="0")
    p.add_argument("--id-column")
    p.add_argument("--request-columns", type=_names, default=[])
    p.add_argument("--slices", type=_names, default=[])
    p.add_argument("--min-slice-size", type=_size, default=100)
    p.add_argument("--window-hours", type=_positive_float, default=24.0)
    p.add_argument("--label-lag-hours", type=_hours, default=0.0)
    p.add_argument("--gates", default="[]", help="JSON list of {metric, op, threshold, tolerance}")
    p.add_argument("--model-package-arn")
    p.add_argument("--baseline-uri", type=_s3_or_path)
    p.add_argument("--report-uri", type=_s3_or_path)
    p.add_argument("--log-level", default=os.environ.get("MLSTACK_LOG_LEVEL", "INFO"), choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        from mlstack.drift.quality.job import Bound, QualityConfigError, run_quality
    except ImportError as exc:
        print(f"{PROG}: error: the quality job needs numpy and boto3 ({exc}); pip install 'mlstack[drift]'", file=sys.stderr)
        return 2
    try:
        raw = json.loads(args.gates)
        if not isinstance(raw, list):
            raise QualityConfigError("--gates must be a JSON list")
        gates = [Bound.parse(g) for g in raw]
    except (ValueError, QualityConfigError) as exc:
        print(f"{PROG}: error: --gates: {exc}", file=sys.stderr)
        return 2
    try:
        report = run_quality(
            args.endpoint_name, args.capture_uri, args.ground_truth_uri,
            problem=args.problem_type, prediction_field=args.prediction_field, threshold=args.threshold,
            positive=args.positive_label, negative=args.negative_label, id_column=args.id_column,
            request_columns=args.request_columns, slices=args.slices, min_slice_size=args.min_slice_size,
            window_hours=args.window_hours, label_lag_hours=args.label_lag_hours, gates=gates,
            model_package_arn=args.model_package_arn, baseline_uri=args.baseline_uri, report_uri=args.report_uri,
        )  # fmt: skip
    except QualityConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, OSError, ValueError) as exc:
        log.error("quality run failed: %s", exc)
        return 1
    except Exception:
        log.exception("quality run failed unexpectedly")
        return 1
    log.info("done: %d judged, %d labelled, %d metric(s) published", report.counts["judged_predictions"], report.counts["labelled_predictions"], report.metrics_published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
