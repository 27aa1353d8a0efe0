"""Run a Pulumi program in-process under the mock runtime and record its resource graph."""

from __future__ import annotations

import asyncio
import heapq
import contextvars
import os
import runpy
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

from ..lookups import OfflineAnswers, offline
from .cloud import OfflineCloud
from .declared import recording
from .graph import Plan
from .monitor import RecordingMonitor, ResourceRecord

__all__ = ["run_program", "Program", "canonical_order"]

Program = Callable[[], Any] | Path


def run_program(
    program: Program,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    answers: OfflineAnswers,
    secret_keys: list[str] | None = None,
    root_directory: Path | None = None,
) -> Plan:
    """Run ``program`` (a callable, or a directory/file holding a Pulumi Python program) under
    Pulumi's mock runtime and return every resource it registered.

    Each run gets a fresh context (config, root stack, settings), a fresh monitor and a fresh
    event loop, so several runs in one process do not see each other's state.

    The program is told a key is secret when it is in ``secret_keys`` or its value holds a
    ``{secure: ...}`` leaf anywhere, as the Pulumi engine tells it (``PULUMI_CONFIG_SECRET_KEYS``).
    """
    from ..config import secure_keys

    secret = sorted({*(secret_keys or ()), *secure_keys(config)})
    context = contextvars.Context()
    return context.run(_run, program, project, stack, dict(config), answers, secret, root_directory)


def _run(program, project, stack, config, answers, secret_keys, root_directory) -> Plan:
    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import MockSettings
    from pulumi.runtime.stack import run_in_stack

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cloud = OfflineCloud(answers)
    monitor = RecordingMonitor(cloud)
    engine = _Engine()
    try:
        root = os.fspath(root_directory or Path.cwd())
        pulumi_settings.reset_options(project=project, stack=stack, preview=False, root_directory=root)
        set_all_config(dict(config), secret_keys)
        pulumi_settings.configure(
            MockSettings(
                monitor=monitor,
                monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                engine=engine,
                project=project,
                stack=stack,
                dry_run=False,
                organization="organization",
                root_directory=root,
                callbacks=None,
            )
        )
        target = _as_callable(program)
        with offline(answers), warnings.catch_warnings(), recording() as declared_at:
            warnings.simplefilter("ignore", DeprecationWarning)
            loop.run_until_complete(run_in_stack(target))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    del pulumi
    recorded = {r.urn for r in monitor.records}
    return Plan(
        project=project,
        stack=stack,
        resources=canonical_order(monitor.records),
        outputs=monitor.stack_outputs,
        warnings=engine.warnings,
        invoke_transforms=monitor.invoke_transforms,
        declared_at={urn: key for urn, key in declared_at.items() if urn in recorded},
    )


class _Engine:
    """Keeps the warnings and errors a program logs (pulumi.warn, deprecations); drops debug
    and info chatter, which the SDK sends for every registration."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def Log(self, request) -> None:
        from pulumi.runtime.proto import engine_pb2

        if request.severity in (engine_pb2.WARNING, engine_pb2.ERROR):
            self.warnings.append(request.message)


def _as_callable(program: Program) -> Callable[[], Any]:
    if callable(program):
        return program
    path = Path(program)
    script = path / "__main__.py" if path.is_dir() else path
    if not script.is_file():
        from ..errors import UsageError

        raise UsageError(f"no Pulumi program at {path}: expected {script} (Pulumi.yaml's 'main' names the program directory)")

    def run_script() -> None:
        # As Pulumi's Python host does: the program's directory is importable while it runs.
        directory = str(script.parent)
        added = directory not in sys.path
        if added:
            sys.path.insert(0, directory)
        try:
            runpy.run_path(os.fspath(script), run_name="__main__")
        finally:
            if added and directory in sys.path:
                sys.path.remove(directory)

    return run_script


def canonical_order(records: list[ResourceRecord]) -> list[ResourceRecord]:
    """The records in a deterministic order: parents before children and dependencies before
    dependents, ties broken by URN.

    The SDK registers resources from concurrent tasks, so the order registrations reach the
    monitor varies from run to run; plans (and their JSON) should not.
    """
    by_urn = {r.urn: r for r in records}
    after: dict[str, set[str]] = {r.urn: set() for r in records}
    waiting = {r.urn: 0 for r in records}
    for r in records:
        for before in {r.parent, *r.dependencies}:
            if before in by_urn and before != r.urn and r.urn not in after[before]:
                after[before].add(r.urn)
                waiting[r.urn] += 1
    ready = [urn for urn, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[ResourceRecord] = []
    while ready:
        urn = heapq.heappop(ready)
        out.append(by_urn[urn])
        for nxt in after[urn]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(out) != len(records):  # a cycle cannot happen in a Pulumi graph; keep what came in
        return list(records)
    return out
