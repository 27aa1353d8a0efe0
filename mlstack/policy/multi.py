"""Check several stacks in one command (``mlstack check STACK... | --all``).

CI that checks every stack as a process of its own pays, per stack, the start of two
interpreters and the import of pulumi, pulumi_aws and the policy pack. :func:`check_stacks`
pays them once: the stacks are validated here, planned by plan workers
(:func:`mlstack.engine.isolation.plan_in_workers`) — one worker for all the stacks of one
program, or several when cores are free — and judged here, one :class:`~mlstack.policy.check.Report`
per stack.

Isolation is that of ``mlstack check STACK``: no stack's program runs in this process. Stacks
share a worker only when they run the same program (the same project ``main``), because a
program that misbehaved for one stack could produce any plan for the other anyway, the other
stack running it too; and the modules a program imports from its own directory are forgotten
between stacks (:mod:`mlstack.engine.worker`), so each stack runs them afresh.

Example::

    outcomes = check_stacks(["churn-prod", "churn-dev"])
    failed = [o.stack for o in outcomes if o.report is not None and not o.report.passed]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from .check import Report, check_plan, stack_tags_for
from .kit.config import reconcile
from .pack import POLICIES

__all__ = ["StackOutcome", "check_stacks", "all_stacks", "free_cores"]


@dataclass
class StackOutcome:
    """One stack of a multi-stack check: its report, or the error that stopped its check
    (bad stack file, failed program) — exactly one of the two is set."""

    stack: str
    report: Report | None = None
    error: ConfigError | UsageError | None = None

    def to_json(self) -> dict[str, Any]:
        if self.report is not None:
            return self.report.to_json()
        message = self.error.render() if isinstance(self.error, ConfigError) else str(self.error)
        return {"stack": self.stack, "passed": False, "error": message}


def all_stacks(cwd: Path | None = None) -> list[str]:
    """Every stack of the project at or above ``cwd``: the ``Pulumi.<stack>.yaml`` files in its
    ``stackConfigDir``."""
    from ..config.project import find_project

    project = find_project(cwd)
    if project is None:
        raise UsageError("--all checks every stack of a Pulumi project, but there is no Pulumi.yaml here or above; name the stacks instead")
    names = project.stack_names()
    if not names:
        raise UsageError(f"--all: the project's stack directory {project.stack_config_dir} holds no Pulumi.<stack>.yaml file")
    return names


def free_cores() -> int:
    """Cores no other process is using now (the 1-minute load average), at least 1."""
    total = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    return max(1, min(total, int(total - busy + 0.5)))


def _batches(groups: list[list[int]], workers: int) -> list[list[int]]:
    """The stacks of each program group, split (largest first) until there are ``workers`` batches
    or every batch holds one stack."""
    batches = [list(g) for g in groups]
    while batches and len(batches) < workers:
        largest = max(batches, key=len)
        if len(largest) < 2:
            break
        batches.remove(largest)
        half = (len(largest) + 1) // 2
        batches += [largest[:half], largest[half:]]
    return batches


def check_stacks(
    stacks: Sequence[str],
    *,
    config: Mapping[str, Any] | None = None,
    config_file: str | None = None,
    cwd: Path | None = None,
    jobs: int | None = None,
) -> list[StackOutcome]:
    """Check each of ``stacks`` (names or paths) as ``mlstack check`` does, in order, at most one
    outcome per stack file (a file named twice is checked once). ``jobs``: at most this many plan
    workers at once (default: :func:`free_cores`). A bad policy config raises at once (it applies
    to every stack); anything wrong with one stack is that stack's outcome."""
    from ..config import load_stack
    from ..engine.isolation import plan_in_workers

    reconcile(POLICIES, config, file=config_file)
    outcomes: list[StackOutcome] = []
    loaded: dict[int, Any] = {}
    seen: set[Path] = set()
    for stack in stacks:
        try:
            stack_file = load_stack(stack, cwd=cwd)
        except (ConfigError, UsageError) as exc:
            outcomes.append(StackOutcome(stack, error=exc))
            continue
        path = Path(stack_file.path).resolve()
        if path in seen:
            continue
        seen.add(path)
        loaded[len(outcomes)] = stack_file
        outcomes.append(StackOutcome(stack))

    by_program: dict[str, list[int]] = {}
    for index, stack_file in loaded.items():
        program = str(Path(stack_file.project.main).resolve()) if stack_file.project is not None else "(mlstack's program)"
        by_program.setdefault(program, []).append(index)
    workers = max(1, jobs if jobs is not None else free_cores())
    batches = _batches(list(by_program.values()), workers)

    def plan(batch: list[int]) -> list[Any]:
        try:
            return plan_in_workers([loaded[i] for i in batch], cwd=cwd)
        except (ConfigError, UsageError) as exc:  # the worker itself failed (start, deadline)
            return [exc] * len(batch)

    with ThreadPoolExecutor(max_workers=min(workers, len(batches)) or 1) as pool:
        planned = list(pool.map(plan, batches))
    for batch, results in zip(batches, planned):
        for index, result in zip(batch, results):
            if isinstance(result, (ConfigError, UsageError)):
                outcomes[index].error = result
                continue
            stack_file = loaded[index]
            spec = stack_file.spec
            tags = stack_tags_for(spec.environment.value, team=spec.team, stack=stack_file.stack)
            outcomes[index].report = check_plan(
                result,
                config=config,
                config_file=config_file,
                stack_tags=tags,
                stack_config=stack_file.pulumi_config(),
                stack_file=stack_file,
            )
    return outcomes
