"""How long `mlstack check` takes on big stacks, and how much of it the policies cost.

For stacks of N models (benchmarks/plan_scale.py's generate_stack: churn-prod with its model
repeated N times, each also with churn-prod's endpoint and monitor), it times:

* ``mlstack check`` end to end, as CI runs it (a fresh process: imports, config validation,
  the offline plan, every policy, the report);
* the policies alone, in-process, over the plan recorded once (``check_plan``), and their
  cost per resource;
* what isolating the program costs: ``mlstack check`` plans in a worker process and reads the
  plan back as data (``plan_in_worker``). ``inproc s`` is the same check done the way it was
  before, program and policies in one fresh interpreter (``plan_stack`` then ``check_plan``);
  ``+isol s`` is the difference; ``data s`` the part spent writing and strictly reading the
  plan file (JSON, ``MB``).

    python benchmarks/check_scale.py [--sizes 10,100,300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import yaml  # noqa: E402
from plan_scale import generate_stack, timed  # noqa: E402

from mlstack.config import load_stack  # noqa: E402
from mlstack.engine import plan_stack  # noqa: E402
from mlstack.engine.isolation import plan_in_worker  # noqa: E402
from mlstack.engine.planfile import dumps, loads, plan_from_json  # noqa: E402
from mlstack.policy.check import check_plan, stack_tags_for  # noqa: E402


def generate_served_stack(directory: Path, models: int) -> Path:
    """plan_scale's stack of ``models`` models, each also served and monitored like churn-prod's
    model: its endpoints and monitors repeated per model (names suffixed with the model's number)."""
    path = generate_stack(directory, models)
    document = yaml.safe_load(path.read_text())
    config = document["config"]
    template = yaml.safe_load((ROOT / "stacks/Pulumi.churn-prod.yaml").read_text())["config"]
    served = template["mlstack:models"][0]["name"]
    endpoints, monitors = [], []
    for model in config["mlstack:models"]:
        suffix = model["name"].rsplit("-", 1)[-1]
        for endpoint in template.get("mlstack:endpoints", []):
            if endpoint["model"] == served:
                endpoints.append({**endpoint, "name": f"{endpoint['name']}-{suffix}", "model": model["name"]})
        for monitor in template.get("mlstack:monitors", []):
            monitors.append({**monitor, "endpoint": f"{monitor['endpoint']}-{suffix}"})
    if endpoints:
        config["mlstack:endpoints"] = endpoints
    if monitors:
        config["mlstack:monitors"] = monitors
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def cli_seconds(path: Path, repeat: int) -> tuple[float, int]:
    runs, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mlstack", "check", str(path)], cwd=ROOT, capture_output=True, text=True)
        runs.append(time.perf_counter() - start)
        code = done.returncode
        if code not in (0, 1):
            raise SystemExit(f"mlstack check failed on {path}:\n{done.stderr}")
    return statistics.median(runs), code


_IN_PROCESS = """
import sys
from mlstack.config import load_stack
from mlstack.engine import plan_stack_file
from mlstack.policy.check import check_plan, stack_tags_for
stack = load_stack(sys.argv[1])
plan = plan_stack_file(stack)
tags = stack_tags_for(stack.spec.environment.value, team=stack.spec.team, stack=stack.stack)
sys.exit(0 if check_plan(plan, stack_tags=tags, stack_config=stack.pulumi_config()).passed else 1)
"""


def in_process_seconds(path: Path, repeat: int) -> float:
    """``mlstack check`` as it was before isolation: the program and the policies in one process."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(path)], cwd=ROOT, capture_output=True, text=True)
        runs.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise SystemExit(f"the in-process check failed on {path}:\n{done.stderr}")
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"{'models':>6} {'resources':>9} {'check s':>8} {'exit':>4} {'inproc s':>8} {'+isol s':>7} {'data s':>6} {'MB':>5} "
        f"{'plan s':>7} {'policies s':>10} {'us/res':>7} {'violations':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = generate_served_stack(Path(tmp), size)
            check_s, code = cli_seconds(path, args.repeat)
            inproc_s = in_process_seconds(path, args.repeat)
            plan_s, plan = timed(lambda: plan_stack(path), 1)
            stack = load_stack(path)
            isolated = plan_in_worker(stack)
            assert isolated.to_json() == plan.to_json(), "the worker's plan differs from the in-process plan"
            text = dumps({"plan": plan.to_json()})

            def round_trip():
                return plan_from_json(loads(dumps({"plan": plan.to_json()}), source="plan")["plan"], source="plan", stack=stack.stack, project=stack.project_name)

            data_s, _ = timed(round_trip, args.repeat)
            tags = stack_tags_for(stack.spec.environment.value, team=stack.spec.team, stack=stack.stack)
            policy_s, report = timed(
                lambda: check_plan(plan, stack_tags=tags, stack_config=stack.pulumi_config()), args.repeat
            )
            print(
                f"{size:>6} {len(plan):>9} {check_s:>8.2f} {code:>4} {inproc_s:>8.2f} {check_s - inproc_s:>+7.2f} {data_s:>6.2f} "
                f"{len(text) / 1e6:>5.1f} {plan_s:>7.2f} {policy_s:>10.2f} "
                f"{1e6 * policy_s / len(plan):>7.0f} {len(report.violations):>10}"
            )


if __name__ == "__main__":
    main()
