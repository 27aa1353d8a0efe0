"""The offline plan engine: runs a stack's Pulumi program under the mock runtime.

``plan_stack("churn-prod")`` validates the stack file, then runs the very program
``pulumi up`` runs (the project's ``main``), recording every registration. No network, no
credentials, no Pulumi CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from ..config import StackFile
    from ..lookups import OfflineAnswers
    from .graph import Plan

# Resolved on first use (PEP 562): the plan worker is started (mlstack.engine.isolation) before the
# caller imports the stack file's validation, pulumi and the runner, which this package's
# functions need only when they run.
_EXPORTS = {"GpuUse": ".graph", "Plan": ".graph", "ResourceRecord": ".monitor", "run_program": ".runner"}


__getattr__ = lazy_exports(__name__, _EXPORTS, namespace=globals())

__all__ = ["plan_stack", "plan_stack_file", "run_program", "answers_for", "Plan", "ResourceRecord", "GpuUse"]


def answers_for(stack: StackFile, *, live_lookups: bool = False, judge_deferred: bool = False) -> OfflineAnswers:
    """The offline answers for a stack: account and region from its config, model versions
    pinned in its config, documented defaults otherwise.

    ``judge_deferred`` (what ``mlstack check`` uses): ``approvedVersion: none`` is answered with
    the default version, so every declared endpoint is planned and judged. Otherwise a stack could
    keep its endpoints out of the offline check by declaring its registry empty, and have them
    created, unjudged, by the first ``pulumi up`` after an approval.
    """
    from ..lookups import DEFAULT_ACCOUNT_ID, DEFAULT_APPROVED_VERSION, NO_APPROVED_VERSION, OfflineAnswers
    from ..stack_aws import partition_of

    spec = stack.spec
    partition = partition_of(stack.region)
    return OfflineAnswers(
        account_id=spec.account_id or DEFAULT_ACCOUNT_ID,
        region=stack.region,
        partition=partition,
        # mlstack:models[].approvedVersion: the version offline plans take as the latest Approved.
        approved_versions={
            spec.registry_group(m.name): (DEFAULT_APPROVED_VERSION if judge_deferred and m.approved_version == NO_APPROVED_VERSION else m.approved_version)
            for m in spec.models
            if m.approved_version is not None
        },
        # mlstack:endpoints[].deployedVariants: the variants offline plans take as deployed.
        deployed_variants={
            spec.endpoint_name(e.name): tuple(e.deployed_variants)
            for e in getattr(spec, "endpoints", [])
            if e.deployed_variants
        },
        live_lookups=live_lookups,
    )


def plan_stack(stack: str | Path, *, cwd: Path | None = None, lookups: str = "offline") -> Plan:
    """Validate ``stack`` (a name such as churn-prod or a path) and plan it offline.

    ``lookups="aws"``: resources stay offline, but the deploy-time lookups (latest Approved model
    version, the live endpoint) ask AWS with the stack's own AWS settings — the plan of what
    ``pulumi up`` would deploy now, including endpoints it would defer.
    """
    from ..config import load_stack

    return plan_stack_file(load_stack(stack, cwd=cwd), lookups=lookups)


def plan_stack_file(stack_file: StackFile, *, lookups: str = "offline", judge_deferred: bool = False) -> Plan:
    """Plan a stack file already loaded and validated (see :func:`plan_stack`); ``judge_deferred``
    plans endpoints a new registry would defer, for the policy check (:func:`answers_for`)."""
    from ..program import DEFAULT_PROGRAM
    from .runner import run_program

    program: object = DEFAULT_PROGRAM
    if stack_file.project is not None:
        program = stack_file.project.main
    return run_program(
        program,  # type: ignore[arg-type]
        project=stack_file.project_name,
        stack=stack_file.stack,
        config=stack_file.pulumi_config(),
        answers=answers_for(stack_file, live_lookups=lookups == "aws", judge_deferred=judge_deferred),
        root_directory=stack_file.project.root if stack_file.project else stack_file.path.parent,
    )
