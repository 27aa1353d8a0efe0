"""Shared fixtures: the recording plan fixture, stack-file factories, the CLI runner and
(in aws_server.py) the AWS endpoint fixture."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Tests compute everything: a definition read from the on-disk cache (mlstack.cache) would make
# tests that compare two ways of building one definition compare the cache with itself. Set in
# the environment, so the subprocesses tests start (the CLI, the plan worker) inherit it; the
# cache's own tests turn it on with a directory of their own.
os.environ["MLSTACK_CACHE"] = "off"

#: A valid minimal stack; tests change one field at a time.
BASELINE: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "mlstack:team": "churn",
    "mlstack:environment": "dev",
    "mlstack:owner": "churn-ml@example.com",
    "mlstack:models": [
        {"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/", "version": "v3"}},
    ],
}


def bundled_stacks() -> list[Path]:
    """Every stack file shipped in the repository (team stacks and examples)."""
    return sorted([*ROOT.glob("stacks/Pulumi.*.yaml"), *ROOT.glob("examples/*/Pulumi.*.yaml")])


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[..., Path]:
    """write_stack(changes, stack="churn-dev", drop=()) -> path of a stack file: the baseline
    with ``changes`` merged over it and the keys in ``drop`` removed."""

    def write(changes: dict[str, Any] | None = None, *, stack: str = "churn-dev", drop: tuple[str, ...] = ()) -> Path:
        config = copy.deepcopy(BASELINE)
        config.update(changes or {})
        for key in drop:
            config.pop(key, None)
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return path

    return write


@pytest.fixture
def plan() -> Callable[..., Any]:
    """plan(stack) -> the recorded resource graph of a stack name (from the repo) or a path."""
    from mlstack.engine import plan_stack

    def run(stack: str | Path):
        return plan_stack(stack, cwd=ROOT)

    return run


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str, str]]:
    """cli("plan", "churn-prod") -> (exit code, stdout, stderr), run in-process from the repo root."""
    from mlstack.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        monkeypatch.chdir(ROOT)
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse exits on usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    return run
from aws_server import aws_endpoint, aws_session  # noqa: F401
