"""Benchmark of the quality job: join 1M captured predictions with 1M labels and compute
everything (quality, 2 slice features, output drift, conditional error, label health).

Run::

    python benchmarks/quality_benchmark.py [--rows 1000000]

The predictions and labels are built in memory as the readers hand them over (ids as Python
strings, predictions as text as captured, labels normalised, 10% of labels for unknown ids, 2%
duplicate corrections, 1% NaN predictions), then :func:`mlstack.drift.quality.join.join` and
:func:`mlstack.drift.quality.job.compute` are timed. Parsing the capture JSON itself is the
drift job's reader (see benchmarks/drift_benchmark.py) and is timed separately here as
``parse`` on --parse-records events. Prints seconds per step.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

import numpy as np

from mlstack.drift.quality import metrics as m
from mlstack.drift.quality.job import QualityReport, compute
from mlstack.drift.quality.join import Labels, PredictionReader, Predictions, join


def build(rows: int) -> tuple[Predictions, Labels, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, rows)
    score = np.clip(y * 0.4 + rng.normal(0.3, 0.2, rows), 0, 1)
    text = [f"{s:.4f}" for s in score]
    for i in range(0, rows, 100):
        text[i] = "nan"
    ids = [f"inf-{i:09d}" for i in range(rows)]
    region = np.asarray(["north", "south", "east", "west"])[rng.integers(0, 4, rows)].tolist()
    band = np.asarray(["18-25", "26-40", "41-65", "65+"])[rng.integers(0, 4, rows)].tolist()
    preds = Predictions(ids=ids, times=(np.arange(rows, dtype=float)).tolist(), values=text, slices={"region": region, "age_band": band})
    # labels: 90% of the predictions (shuffled), 10% for unknown ids, 2% duplicates
    labelled = rng.permutation(rows)[: int(rows * 0.9)]
    label_ids = [ids[i] for i in labelled] + [f"unknown-{i}" for i in range(rows - labelled.size)]
    values = [str(int(y[i])) for i in labelled] + ["1"] * (rows - labelled.size)
    dup = labelled[: rows // 50]
    label_ids += [ids[i] for i in dup]
    values += [str(1 - int(y[i])) for i in dup]
    times = (np.full(len(label_ids), 10.0 * rows)).tolist()
    return preds, Labels(ids=label_ids, values=values, times=times), score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parse-records", type=int, default=100_000)
    args = parser.parse_args()
    t = time.perf_counter()
    preds, labels, score = build(args.rows)
    print(f"generate        {time.perf_counter() - t:6.2f} s  ({args.rows:,} predictions, {len(labels.ids):,} labels)")

    c0, t0 = time.process_time(), time.perf_counter()
    joined = join(preds, labels, problem="binary")
    c1, t1 = time.process_time(), time.perf_counter()
    report = QualityReport("bench", datetime.now(UTC), "binary", datetime.now(UTC), datetime.now(UTC))
    compute(report, joined, problem="binary", threshold=0.5, positive=None, slices=["region", "age_band"], min_slice_size=100)
    report.output_psi = m.output_psi(joined.all_predictions, score[: args.rows // 2], categorical=False)
    report.conditional_error_change = m.conditional_error_change(
        m.conditional_errors("binary", joined.labels, joined.predictions), m.conditional_errors("binary", joined.labels[::2], joined.predictions[::2])
    )
    c2, t2 = time.process_time(), time.perf_counter()
    # CPU seconds beside wall seconds: on a shared machine the wall clock also counts other processes' turns.
    print(f"join            {t1 - t0:6.2f} s wall {c1 - c0:6.2f} s CPU  ({joined.labelled:,} labelled, {joined.duplicate_labels:,} duplicates, {joined.unmatched_labels:,} unmatched)")
    print(f"compute         {t2 - t1:6.2f} s wall {c2 - c1:6.2f} s CPU  (quality, 2 slice features, output PSI, conditional error, label health)")
    print(f"join + compute  {t2 - t0:6.2f} s wall {c2 - c0:6.2f} s CPU  (target <= 3 s for 1M x 1M)")

    event = {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "data": "C00000001,12,monthly", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv", "data": "0.8123", "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": "e", "inferenceId": "i", "inferenceTime": "2026-11-01T10:00:00Z"},
    }
    lines = []
    for i in range(args.parse_records):
        event["eventMetadata"]["inferenceId"] = f"inf-{i}"
        lines.append(json.dumps(event))
    body = ("\n".join(lines)).encode()
    reader = PredictionReader(request_columns=["customer_id", "tenure", "contract"], slices=["contract"])
    t = time.perf_counter()
    reader.add_file(body, "bench.jsonl")
    took = time.perf_counter() - t
    print(f"parse           {took:6.2f} s  ({args.parse_records:,} capture events, {args.parse_records / took:,.0f}/s)")


if __name__ == "__main__":
    main()
