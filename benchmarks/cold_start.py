"""Cold start: what a fresh `mlstack plan` / `mlstack check` costs over its floor.

CI runs `mlstack check` as a fresh process per stack, so the cold run is what users wait for.
The *floor* of a stack is the least any Pulumi program declaring the same cloud resources can
cost: a fresh process that imports pulumi and pulumi_aws and registers the very resources the
stack's plan holds — same types, names and inputs — under one plain ComponentResource per
top-level mlstack component, under Pulumi's mock runtime, and exits normally. It is built from
the planned graph itself (``mlstack plan STACK --json``), and its first run checks that what it
registered matches the plan (the benchmark stops if not).

For each bundled stack it times, as fresh processes interleaved over several rounds (so a
change in the machine's load hits every variant alike), and prints medians and ratios:

* ``floor``: the floor process;
* ``plan``, ``check``: ``mlstack plan STACK`` / ``mlstack check STACK`` with a *warm* definition
  cache (a cache directory filled beforehand);
* ``plan cold``, ``check cold``: the same with an empty cache directory every run (the SDK is
  imported and builds every pipeline definition);
* ``check nocache``: ``MLSTACK_CACHE=off``.

Then the stacks together: ``mlstack check STACK...`` (one command, one combined report; warm
and cold cache) against the sum of one ``mlstack check`` process per stack. Each figure is
printed as wall time and as CPU time (the process and its plan worker): on a shared machine the
CPU time is the steadier measure.

    python benchmarks/cold_start.py [--rounds 5] [--stacks churn-prod,churn-dev,vision-prod] [--root DIR]

``--root`` times the mlstack checkout in DIR instead of this one (for before/after figures: a
``git archive`` of an older commit, run with this checkout's virtualenv). Targets (issue 18):
cold ``check`` of churn-prod <= 1.3x its floor with a warm definition cache, <= 2x with a cold
one; the three bundled stacks checked together <= 0.6x three separate cold runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- the floor: run as `python cold_start.py --floor PLAN.json` in a fresh process ------------


def _floor(plan_file: str, verify: bool) -> int:
    import asyncio
    import importlib
    import keyword
    import re
    import typing
    import warnings

    import pulumi
    from pulumi.runtime.stack import run_pulumi_func

    plan = json.loads(Path(plan_file).read_text())
    resources = plan["resources"]
    by_urn = {r["urn"]: r for r in resources}

    def top(urn: str) -> str:
        while by_urn[urn]["parent"] in by_urn:
            urn = by_urn[urn]["parent"]
        return urn

    components = [r for r in resources if not r["custom"] and r["parent"] not in by_urn]
    cloud = [r for r in resources if r["custom"]]

    def snake(key: str) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()

    def resource_class(token: str):
        if token == "pulumi:providers:kubernetes":
            return importlib.import_module("pulumi_kubernetes").Provider
        if token.startswith("kubernetes:"):  # a custom resource (KServe's InferenceService)
            return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
        _, module, name = token.split(":")
        package, resource = module.split("/", 1)
        package, file = (f"{p}_" if keyword.iskeyword(p) else p for p in (package, snake(resource)))
        return getattr(importlib.import_module(f"pulumi_aws.{package}.{file}"), name)

    def asset(value, kind):
        """The recorded JSON of an asset or archive (mlstack.engine.monitor) as the SDK object."""
        [(form, inner)] = value.items()
        if form == "assets":
            return pulumi.AssetArchive({k: asset(v, pulumi.Asset) for k, v in inner.items()})
        return {"text": pulumi.StringAsset, "path": pulumi.FileAsset if kind is pulumi.Asset else pulumi.FileArchive}[form](inner)

    def mentions(annotation) -> bool:
        return annotation in (pulumi.Archive, pulumi.Asset) or any(mentions(a) for a in typing.get_args(annotation))

    def archive_properties(cls) -> set[str]:
        out = set()
        for attribute, value in vars(cls).items():
            returns = getattr(getattr(value, "fget", None), "__annotations__", {}).get("return")
            if returns is not None and mentions(returns):
                out.add(attribute)
        return out

    seen: list[tuple[str, str, dict]] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            if verify and args.custom:
                seen.append((args.typ, args.name, args.inputs))
            # Echo the inputs as outputs, as mlstack's offline cloud does, except assets and
            # archives, which the SDK would not read back from plain data.
            return [f"{args.name}-id", {k: v for k, v in args.inputs.items() if not isinstance(v, (pulumi.Asset, pulumi.Archive))}]

        def call(self, args):
            return {}

    def program() -> None:
        parents = {c["urn"]: pulumi.ComponentResource(c["type"], c["name"]) for c in components}
        providers = {}
        classes = {r["type"]: resource_class(r["type"]) for r in cloud}
        assets = {t: archive_properties(c) for t, c in classes.items()}
        for r in cloud:
            inputs = {snake(k): v for k, v in r["inputs"].items()}
            for prop in assets[r["type"]] & inputs.keys():
                if isinstance(inputs[prop], dict):
                    inputs[prop] = asset(inputs[prop], pulumi.Archive)
            opts = pulumi.ResourceOptions(parent=parents.get(top(r["urn"])), provider=providers.get("kubernetes") if r["type"].startswith("kubernetes:") else None)
            made = classes[r["type"]](r["name"], **inputs, opts=opts)
            if r["type"] == "pulumi:providers:kubernetes":
                providers["kubernetes"] = made

    warnings.simplefilter("ignore", DeprecationWarning)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(Mocks(), project=plan["project"], stack=plan["stack"], preview=False)
    loop.run_until_complete(run_pulumi_func(program))
    if verify:
        want = sorted((r["type"], r["name"], json.dumps(r["inputs"], sort_keys=True)) for r in cloud)
        got = sorted((t, n, json.dumps(i, sort_keys=True, default=lambda o: "<asset>")) for t, n, i in seen)
        if [w[:2] for w in want] != [g[:2] for g in got]:
            print(f"the floor registered other resources than the plan: {[g[:2] for g in got]} vs {[w[:2] for w in want]}", file=sys.stderr)
            return 1
        differ = [w[:2] for w, g in zip(want, got) if _normal(w[2]) != _normal(g[2])]
        if differ:
            print(f"the floor's inputs differ from the plan's for {len(differ)} resources, e.g. {differ[:3]}", file=sys.stderr)
            return 1
        print(f"floor: {len(components)} components, {len(got)} cloud resources, types, names and inputs as planned")
    return 0


def _normal(text: str):
    """Inputs as compared: assets and archives by their form only (the mock monitor sees them
    serialised differently from the plan's record), numbers as floats (the engine's view)."""

    def walk(node):
        if isinstance(node, dict):
            if len(node) == 1 and next(iter(node)) in ("assets", "text", "path"):
                return "<asset>"
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            return float(node)
        return node

    return walk(json.loads(text))


# --- the driver ------------------------------------------------------------------------------


def _run(command: list[str], *, cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0, 1)) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process, its waited-for children (the plan worker) included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stacks", default="churn-prod,churn-dev,vision-prod")
    parser.add_argument("--root", type=Path, default=ROOT, help="the mlstack checkout to time (default: this one)")
    parser.add_argument("--floor", metavar="PLAN", help=argparse.SUPPRESS)
    parser.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        sys.exit(_floor(args.floor, args.verify))

    root = args.root.resolve()
    stacks = args.stacks.split(",")
    python = sys.executable
    scratch = Path(tempfile.mkdtemp(prefix="mlstack-cold-"))
    warm_cache, cold_cache = scratch / "warm", scratch / "cold"
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLSTACK_")}
    warm = {**base, "MLSTACK_CACHE_DIR": str(warm_cache)}
    cold = {**base, "MLSTACK_CACHE_DIR": str(cold_cache)}
    off = {**base, "MLSTACK_CACHE": "off"}
    mlstack = [python, "-m", "mlstack"]
    try:
        plans = {}
        for stack in stacks:  # also fills the warm cache
            plans[stack] = scratch / f"{stack}.json"
            _run([*mlstack, "plan", stack, "--json", str(plans[stack])], cwd=root, env=warm, ok=(0,))
            done = subprocess.run([python, __file__, "--floor", str(plans[stack]), "--verify"], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{stack}: {done.stderr.strip()}")
            print(f"{stack}: {done.stdout.strip()}")
        together = "--all" in subprocess.run([*mlstack, "check", "--help"], cwd=root, env=warm, capture_output=True, text=True).stdout

        variants = {
            "floor": lambda s: ([python, __file__, "--floor", str(plans[s])], base),
            "plan": lambda s: ([*mlstack, "plan", s], warm),
            "check": lambda s: ([*mlstack, "check", s], warm),
            "plan cold": lambda s: ([*mlstack, "plan", s], cold),
            "check cold": lambda s: ([*mlstack, "check", s], cold),
            "check nocache": lambda s: ([*mlstack, "check", s], off),
        }
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        together_times: list[tuple[float, float]] = []
        together_cold: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            for stack in stacks:
                for name, make in variants.items():
                    if name.endswith("cold"):
                        shutil.rmtree(cold_cache, ignore_errors=True)
                    command, env = make(stack)
                    times.setdefault((stack, name), []).append(_run(command, cwd=root, env=env))
            if together:
                together_times.append(_run([*mlstack, "check", *stacks], cwd=root, env=warm))
                shutil.rmtree(cold_cache, ignore_errors=True)
                together_cold.append(_run([*mlstack, "check", *stacks], cwd=root, env=cold))

        names = list(variants)
        for column, what in ((0, "wall"), (1, "CPU")):
            median = {k: statistics.median(t[column] for t in v) for k, v in times.items()}
            print(f"\n{what} seconds, medians of {args.rounds} rounds (ratio to the floor); checkout {root}")
            print(f"{'stack':<12}" + "".join(f"{n:>20}" for n in names))
            for stack in stacks:
                floor = median[(stack, "floor")]
                cells = [f"{median[(stack, n)]:.2f}" + ("" if n == "floor" else f" ({median[(stack, n)] / floor:.2f}x)") for n in names]
                print(f"{stack:<12}" + "".join(f"{c:>20}" for c in cells))
            separate = sum(median[(s, "check")] for s in stacks)
            separate_cold = sum(median[(s, "check cold")] for s in stacks)
            if together:
                both = statistics.median(t[column] for t in together_times)
                both_cold = statistics.median(t[column] for t in together_cold)
                print(
                    f"mlstack check {' '.join(stacks)} ({what}): {both:.2f} s warm, {both_cold:.2f} s cold; one process per stack: "
                    f"{separate:.2f} s warm ({both / separate:.2f}x), {separate_cold:.2f} s cold ({both_cold / separate_cold:.2f}x)"
                )
            else:
                print(f"one `mlstack check` per stack ({what}): {separate:.2f} s warm, {separate_cold:.2f} s cold (this checkout checks one stack a command)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
