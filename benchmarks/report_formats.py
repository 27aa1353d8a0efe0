"""How long writing `mlstack check`'s reports takes on big stacks, and how big they get.

For stacks of N models (check_scale.py's generate_served_stack: churn-prod's model, endpoint and
monitor repeated N times), it plans once, checks once (``check_plan``), then times each report
writer over the result: text, json, github, sarif (with its JSON dump), junit (a test case per
active policy and resource, so the largest), and prints the size of each.

    python benchmarks/report_formats.py [--sizes 10,50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from check_scale import generate_served_stack  # noqa: E402

from mlstack.config import load_stack  # noqa: E402
from mlstack.engine import plan_stack  # noqa: E402
from mlstack.policy.check import check_plan, stack_tags_for  # noqa: E402
from mlstack.policy.reports import render_reports  # noqa: E402

FORMATS = ("text", "json", "github", "sarif", "junit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'models':>6} {'resources':>9} " + " ".join(f"{f + ' s':>9} {f + ' MB':>9}" for f in FORMATS))
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            path = generate_served_stack(Path(scratch), size)
            stack = load_stack(path)
            plan = plan_stack(path)
            report = check_plan(
                plan,
                stack_tags=stack_tags_for(stack.spec.environment.value, team=stack.spec.team, stack=stack.stack),
                stack_config=stack.pulumi_config(),
                stack_file=stack,
            )
        row = [f"{size:>6}", f"{report.resources:>9}"]
        for fmt in FORMATS:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                text = render_reports(fmt, [report])
                times.append(time.perf_counter() - started)
            row += [f"{statistics.median(times):>9.3f}", f"{len(text.encode()) / 1e6:>9.2f}"]
        print(" ".join(row), flush=True)


if __name__ == "__main__":
    main()
