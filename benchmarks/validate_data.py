"""How fast `mlstack validate-data` checks a large sample.

Writes a CSV and a JSON-lines file of N rows (default 1,000,000) for the churn-prod stack's
``customers`` feature group — unique ids, random charges, one bad row in a thousand — and
times ``mlstack validate-data`` on each in a fresh process (start-up, stack validation and
reading the file included). Prints rows, seconds, rows per second and problems found.

    python benchmarks/validate_data.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["customer_id", "event_time", "tenure_months", "monthly_charges", "support_calls_90d", "contract", "churned"]


def rows(n: int, seed: int = 1):
    rng = random.Random(seed)
    contracts = ["monthly", "yearly", "two-year"]
    for i in range(n):
        row = {
            "customer_id": f"C{i:08d}",
            "event_time": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
            "tenure_months": rng.randint(0, 120),
            "monthly_charges": round(rng.uniform(5, 250), 4),
            "support_calls_90d": rng.randint(0, 12) if rng.random() > 0.2 else None,
            "contract": rng.choice(contracts),
            "churned": rng.choice([0, 1, None]),
        }
        if i % 1000 == 999:  # one bad row in a thousand, a different rule each time
            kind = (i // 1000) % 4
            if kind == 0:
                row["tenure_months"] = -1
            elif kind == 1:
                row["contract"] = "weekly"
            elif kind == 2:
                row["customer_id"] = f"X{i}"
            else:
                row["event_time"] = "2026-11-01 08:00:00"
        yield row


def write_csv(path: Path, n: int) -> None:
    with path.open("w") as out:
        out.write(",".join(COLUMNS) + "\n")
        for row in rows(n):
            out.write(",".join("" if row[c] is None else str(row[c]) for c in COLUMNS) + "\n")


def write_jsonl(path: Path, n: int) -> None:
    with path.open("w") as out:
        for row in rows(n):
            out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")


def time_check(path: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mlstack", "validate-data", "churn-prod", "customers", str(path), "--max-errors", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, result.returncode, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="write the samples here and keep them")
    args = parser.parse_args()
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlstack-validate-"))
    directory.mkdir(parents=True, exist_ok=True)
    for fmt, writer in (("csv", write_csv), ("jsonl", write_jsonl)):
        path = directory / f"customers-{args.rows}.{fmt}"
        writer(path, args.rows)
        elapsed, code, summary = time_check(path)
        size = path.stat().st_size / 2**20
        print(f"{fmt:>5}: {args.rows:,} rows ({size:.0f} MiB) in {elapsed:.1f} s = {args.rows / elapsed:,.0f} rows/s, exit {code}")
        print(f"       {summary}")
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()
