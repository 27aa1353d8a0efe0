"""How long the capacity and cost estimate take on big stacks (what `mlstack plan`, `mlstack cost`
and the policy mlstack-stack-within-budget add to a run).

Builds the plan graph of churn-prod once (benchmarks need no AWS), repeats its resources N times
under distinct names (each copy: an endpoint with autoscaling and a canary rollout, a scheduled
training pipeline, a drift pipeline, alarms, keys), and times, per size:

* ``capacity``: :func:`mlstack.capacity.capacity_of` plus its needs table and monthly hours;
* ``cost``: :func:`mlstack.pricing.cost.estimate` over the same graph (no price file);
* ``policy``: the policy itself over CrossGuard-like resources (GPU-hours budget and peak cap).

    python benchmarks/capacity_scale.py [--sizes 1,10,100,300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def churn_prod_nodes():
    from mlstack.capacity import Node
    from mlstack.engine import plan_stack

    plan = plan_stack("churn-prod", cwd=ROOT)
    return [Node(r.type, r.name, r.urn, r.parent, r.inputs or {}, tuple(r.dependencies or ())) for r in plan.resources]


def scaled(nodes, n):
    from mlstack.capacity import Node

    out = []
    for i in range(n):
        text = json.dumps([[x.type, x.name, x.urn, x.parent, x.inputs, list(x.dependencies)] for x in nodes])
        # distinct endpoint, pipeline and URN names per copy
        text = text.replace("scoring", f"scoring{i}").replace("churn-churn-xgb-training", f"churn-churn-xgb-training{i}")
        text = text.replace("urn:pulumi:churn-prod::", f"urn:pulumi:churn-prod::c{i}")
        out.extend(Node(t, nm, u, p, inp, tuple(d)) for t, nm, u, p, inp, d in json.loads(text))
    return out


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,300")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from mlstack.capacity import capacity_of
    from mlstack.policy.kit.stack import using_stack_config
    from mlstack.policy.pack import fail_closed
    from mlstack.policy.rules import stack_within_budget
    from mlstack.pricing.cost import estimate

    base = churn_prod_nodes()
    policy = fail_closed(stack_within_budget.POLICY)
    print(f"{'copies':>6} {'resources':>9} {'capacity s':>11} {'cost s':>8} {'policy s':>9}")
    for n in (int(x) for x in args.sizes.split(",")):
        nodes = scaled(base, n)

        def cap():
            c = capacity_of(nodes)
            c.needs, c.instance_hours("max"), c.gpu_hours("max"), c.peak_gpus()
            return c

        capacity = cap()
        resources = [
            SimpleNamespace(resource_type=x.type, name=x.name, urn=x.urn, props=x.inputs, parent=None, dependencies=[]) for x in nodes
        ]

        def judge():
            args_ = SimpleNamespace(resources=resources, stack_tags={"mlstack:environment": "prod"}, get_config=lambda: {})
            with using_stack_config({"aws:region": "eu-west-1", "mlstack:budget": json.dumps({"monthlyGpuHours": 1e9})}):
                policy.validate(args_, lambda *a, **k: None)

        t_cap = timed(cap, args.repeat)
        t_cost = timed(lambda: estimate(nodes, capacity, None), args.repeat)
        t_policy = timed(judge, args.repeat)
        print(f"{n:>6} {len(nodes):>9} {t_cap:>11.3f} {t_cost:>8.3f} {t_policy:>9.3f}")


if __name__ == "__main__":
    main()
