"""Benchmark of the drift job's statistics and capture parsing.

Run::

    python benchmarks/drift_benchmark.py [--rows 1000000] [--numeric 40] \\
        [--categorical 10] [--capture-records 100000]

1. Generates, in memory, a baseline and a production data set of ``--rows``
   rows with ``--numeric`` numeric and ``--categorical`` categorical
   features (production shifted on some features), then times
   :meth:`BaselineProfile.from_columns` (quantile edges and expected
   proportions) and :meth:`BaselineProfile.compare` (PSI and KL of every
   feature), and a JSON round trip of the profile.
2. Writes ``--capture-records`` data-capture events (JSON Lines, one row
   each, all features) to a temporary directory, once with CSV payloads and
   once with JSON-object payloads, and times
   :func:`mlstack.drift.capture.read_capture` on them, then the drift of
   the parsed columns.

Prints seconds and rows (or records) per second for each step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlstack.drift.capture import read_capture
from mlstack.drift.stats import BaselineProfile


def make_data(rows: int, numeric: int, categorical: int, *, shift: bool, seed: int) -> dict[str, np.ndarray]:
    """Columns ``n0..`` (float64) and ``c0..`` (strings); ``shift`` moves a third of them."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i in range(numeric):
        loc = 0.5 if shift and i % 3 == 0 else 0.0
        if i % 4 == 3:
            col = rng.lognormal(mean=loc, sigma=1.0, size=rows)
        else:
            col = rng.normal(loc=loc, scale=1.0 + i % 5, size=rows)
        if i % 10 == 9:  # a few missing values
            col[rng.random(rows) < 0.01] = np.nan
        data[f"n{i}"] = col
    for j in range(categorical):
        k = 5 + 5 * j
        vocab = np.array([f"v{j}_{v}" for v in range(k + (3 if shift and j % 3 == 0 else 0))])
        weights = 1.0 / np.arange(1, vocab.size + 1)
        if shift and j % 3 == 0:
            weights = weights[::-1]
        data[f"c{j}"] = rng.choice(vocab, size=rows, p=weights / weights.sum())
    return data


def timed(label: str, fn: Callable[[], Any], items: int, unit: str = "rows") -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.3f} s  {items / seconds:>14,.0f} {unit}/s")
    return result, seconds


def write_capture(
    directory: str, data: dict[str, np.ndarray], records: int, *, encoding: str = "CSV", per_file: int = 5000
) -> int:
    """Write ``records`` capture events, CSV rows or JSON objects; returns the bytes written."""
    names = list(data)
    if encoding == "CSV":
        cols = []
        for name in names:
            col = data[name][:records]
            cols.append(np.char.mod("%.6g", col) if col.dtype.kind == "f" else col.astype(str))
        cols = [np.where(c == "nan", "", c) for c in cols]
        lines = [",".join(row) for row in zip(*(c.tolist() for c in cols))]
        content_type = "text/csv"
    else:
        values = [[None if v != v else v for v in data[n][:records].tolist()] for n in names]
        lines = [json.dumps(dict(zip(names, row))) for row in zip(*values)]
        content_type = "application/json"
    hour = os.path.join(directory, "endpoint", "AllTraffic", "2030", "01", "01", "00")
    os.makedirs(hour, exist_ok=True)
    written = 0
    for f, start in enumerate(range(0, records, per_file)):
        with open(os.path.join(hour, f"capture-{f:04d}.jsonl"), "w", encoding="utf-8") as fh:
            for line in lines[start : start + per_file]:
                event = {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": content_type,
                            "mode": "INPUT",
                            "data": line,
                            "encoding": encoding,
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": "0.5",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {"eventId": f"{f}-{start}", "inferenceTime": "2030-01-01T00:00:00Z"},
                    "eventVersion": "0",
                }
                written += fh.write(json.dumps(event) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--numeric", type=int, default=40)
    parser.add_argument("--categorical", type=int, default=10)
    parser.add_argument("--capture-records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows, features = args.rows, args.numeric + args.categorical

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPU(s)")
    print(f"data: {rows:,} rows x {features} features ({args.numeric} numeric, {args.categorical} categorical)")
    start = time.perf_counter()
    baseline = make_data(rows, args.numeric, args.categorical, shift=False, seed=args.seed)
    production = make_data(rows, args.numeric, args.categorical, shift=True, seed=args.seed + 1)
    print(f"  (generated in {time.perf_counter() - start:.1f} s, not counted)")

    print("statistics:")
    profile, t_profile = timed(
        "profile baseline (edges + expected)", lambda: BaselineProfile.from_columns(baseline), rows
    )
    drift, t_compare = timed("drift: PSI + KL of every feature", lambda: profile.compare(production), rows)
    text, _ = timed("profile to JSON", profile.to_json, features, "features")
    timed("profile from JSON", lambda: BaselineProfile.from_json(text), features, "features")
    cells = rows * features
    print(
        f"  total {t_profile + t_compare:.3f} s for 2 x {rows:,} rows "
        f"({2 * cells / (t_profile + t_compare):,.0f} values/s)"
    )
    drifted = sorted((d.psi, n) for n, d in drift.items() if d.psi > 0.2)
    print(f"  {len(drifted)} of {features} features with PSI > 0.2; max PSI {max(d.psi for d in drift.values()):.3f}")

    records = min(args.capture_records, rows)
    kinds = profile.kinds()
    for encoding in ("CSV", "JSON"):
        print(f"capture parsing: {records:,} records, {encoding} payloads of {features} fields, one row each")
        with tempfile.TemporaryDirectory() as tmp:
            size = write_capture(tmp, production, records, encoding=encoding)
            captured, t_parse = timed(
                "read + parse capture files (local)",
                lambda: read_capture(tmp, profile.columns, kinds),
                records,
                "records",
            )
            print(f"  {size / t_parse / 1e6:,.1f} MB/s of capture files ({size / 1e6:,.1f} MB)")
            assert captured.rows == records, (captured.rows, records)
            timed("drift of the captured rows", lambda: profile.compare(captured.columns), records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
