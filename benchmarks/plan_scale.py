"""How the offline plan scales, and what mlstack costs over plain pulumi-aws.

For stacks of 10, 100 and 300 models it plans the generated stack with `mlstack plan`'s
engine, then replays exactly the recorded cloud resources as plain pulumi-aws resources
(same classes, names and inputs, no mlstack components, no config validation) under the same
mock runtime. The ratio of the two is mlstack's overhead. It also times `mlstack --help`.

    python benchmarks/plan_scale.py [--sizes 10,100,300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlstack.engine import answers_for, plan_stack, run_program  # noqa: E402
from mlstack.config import load_stack  # noqa: E402


def generate_stack(directory: Path, models: int, *, training: bool = True) -> Path:
    """churn-prod with its model repeated ``models`` times: each copy has its own registry
    group and (unless ``training`` is False) training pipeline, and its own copies of
    churn-prod's endpoints and monitors (names suffixed with the model's number). The feature
    store is shared."""
    document = yaml.safe_load((ROOT / "stacks/Pulumi.churn-prod.yaml").read_text())
    config = document["config"]
    [base] = config["mlstack:models"]
    endpoints = [e for e in config.get("mlstack:endpoints", []) if e["model"] == base["name"]]
    monitors = config.get("mlstack:monitors", [])
    new_models, new_endpoints, new_monitors = [], [], []
    for i in range(models):
        suffix = f"{i:03d}"
        model = {**base, "name": f"model-{suffix}"}
        if not training:
            model.pop("training", None)
            model["gates"] = []
        new_models.append(model)
        for endpoint in endpoints:
            copy = {**endpoint, "name": f"{endpoint['name']}-{suffix}", "model": model["name"]}
            if not training:
                # Without a pipeline the endpoint names its image and artifacts itself.
                copy.setdefault("image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve@sha256:" + "0" * 64)
                copy.setdefault("artifactsUri", f"s3://example-churn-artifacts/{model['name']}/")
            new_endpoints.append(copy)
        for monitor in monitors:
            copy = {**monitor, "endpoint": f"{monitor['endpoint']}-{suffix}"}
            if not training:
                copy.pop("retrain", None)
            new_monitors.append(copy)
    config["mlstack:models"] = new_models
    if endpoints:
        config["mlstack:endpoints"] = new_endpoints
    if monitors:
        config["mlstack:monitors"] = new_monitors
    path = directory / "Pulumi.churn-prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _resource_class(type_token: str):
    """The pulumi-aws class of ``type_token``, or a constructor that also turns the recorded
    JSON of Asset / Archive inputs (see mlstack.engine.monitor.normalize) back into pulumi
    assets and archives: the SDK accepts nothing else for such properties (e.g. a Lambda's code)."""
    import keyword
    import typing

    import pulumi

    _, module, name = type_token.split(":")
    package, resource = module.split("/", 1)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
    # Python names can't be keywords: the SDK generator appends "_" (pulumi_aws.lambda_).
    package, snake = (f"{part}_" if keyword.iskeyword(part) else part for part in (package, snake))
    cls = getattr(importlib.import_module(f"pulumi_aws.{package}.{snake}"), name)

    def mentions(annotation, kind) -> bool:
        return annotation is kind or any(mentions(arg, kind) for arg in typing.get_args(annotation))

    kinds = {}  # property -> pulumi.Archive or pulumi.Asset
    for attribute, value in vars(cls).items():
        returns = getattr(getattr(value, "fget", None), "__annotations__", {}).get("return")
        kind = next((k for k in (pulumi.Archive, pulumi.Asset) if mentions(returns, k)), None)
        if kind is not None:
            kinds[attribute] = kind
    if not kinds:
        return cls

    def rebuild(recorded, kind):
        """None when the recording doesn't say what to rebuild: {"asset": "<TypeName>"}."""
        if not isinstance(recorded, dict) or len(recorded) != 1:
            return recorded  # not recorded JSON of an asset (e.g. None): passed as it is
        [(form, value)] = recorded.items()
        if form == "assets":  # an AssetArchive; its members are assets unless they hold "assets"
            members = {member: rebuild(item, pulumi.Asset) for member, item in value.items()}
            return None if None in members.values() else pulumi.AssetArchive(members)
        classes = {
            pulumi.Asset: {"text": pulumi.StringAsset, "path": pulumi.FileAsset, "uri": pulumi.RemoteAsset},
            pulumi.Archive: {"path": pulumi.FileArchive, "uri": pulumi.RemoteArchive},
        }[kind]
        return classes[form](value) if form in classes else None

    def construct(resource_name, **inputs):
        for prop, kind in kinds.items():
            if prop in inputs:
                value = rebuild(inputs[prop], kind)
                if value is None and inputs[prop] is not None:
                    # Recorded only by type name: nothing to rebuild it from, so that one input is
                    # left out (the resource is still declared, with its other inputs).
                    del inputs[prop]
                else:
                    inputs[prop] = value
        return cls(resource_name, **inputs)

    return construct


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def replay_program(records):
    """A plain pulumi-aws program declaring the same cloud resources with the same inputs."""
    custom = [r for r in records if r.custom]
    classes = {r.type: _resource_class(r.type) for r in custom}

    def program():
        for r in custom:
            classes[r.type](r.name, **{_snake(k): v for k, v in r.inputs.items()})

    return program


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--without-training", action="store_true", help="leave out the training pipelines (their definitions are built with the sagemaker SDK, ~0.5 s each)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:  # warm imports and caches so no size pays them
        plan_stack(generate_stack(Path(tmp), 2, training=not args.without_training))
    print(f"{'models':>6} {'resources':>9} {'mlstack s':>10} {'ms/res':>7} {'pulumi-aws s':>12} {'ms/res':>7} {'overhead':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = generate_stack(Path(tmp), size, training=not args.without_training)
            ml_s, plan = timed(lambda: plan_stack(path), args.repeat)
            stack = load_stack(path)
            program = replay_program(plan.resources)
            raw_s, raw = timed(
                lambda: run_program(program, project=plan.project, stack=plan.stack, config=stack.pulumi_config(), answers=answers_for(stack)),
                args.repeat,
            )
            cloud = [r for r in plan.resources if r.custom]
            assert len(raw.resources) == len(cloud), "the replay must declare the same cloud resources"
            print(
                f"{size:>6} {len(plan):>9} {ml_s:>10.2f} {1000 * ml_s / len(plan):>7.2f} "
                f"{raw_s:>12.2f} {1000 * raw_s / len(raw):>7.2f} {ml_s / raw_s:>7.2f}x"
            )

    help_runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlstack", "--help"], check=True, capture_output=True)
        help_runs.append(time.perf_counter() - start)
    bare = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    print(f"\nmlstack --help: {statistics.median(help_runs):.3f} s (python start-up alone: {statistics.median(bare):.3f} s)")


if __name__ == "__main__":
    main()
