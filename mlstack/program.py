"""The declarative stack program: reads a team's ``mlstack:*`` config and builds its components.

``stacks/__main__.py`` calls :func:`main`; ``pulumi up`` and the offline engine both run it.
Teams that need code write their own program with the same pieces::

    import pulumi
    from mlstack.program import StackContext, build

    ctx = StackContext.from_pulumi()
    team = build(ctx)                       # everything the config declares
    ...                                      # plus their own components, tagged with ctx.lineage.tags()
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from .config import spec_from_config
from .errors import ConfigError
from .lineage import Lineage, detect_git_commit
from .lookups import current_offline_answers
from .spec import NAMESPACE, StackSpec

__all__ = ["StackContext", "TeamStack", "build", "main", "DEFAULT_PROGRAM"]


def _all_config() -> dict[str, Any]:
    from pulumi.runtime.config import CONFIG, get_config_env

    merged = dict(get_config_env())
    merged.update(CONFIG.get())
    return merged


def _root_directory() -> Path:
    try:
        from pulumi.runtime.settings import get_root_directory

        root = get_root_directory()
        if root:
            return Path(root)
    except Exception:  # noqa: BLE001 - older SDKs: fall back to the working directory
        pass
    return Path.cwd()


@dataclass(frozen=True)
class StackContext:
    """What a stack program knows: the validated spec, the region and the lineage."""

    spec: StackSpec
    region: str
    lineage: Lineage
    stack: str

    @classmethod
    def from_pulumi(cls) -> "StackContext":
        """Read and validate the running stack's config (raises a readable error, no traceback)."""
        stack = pulumi.get_stack()
        source = f"stacks/Pulumi.{stack}.yaml"
        with _readable_errors():
            spec, region = spec_from_config(_all_config(), file=source, stack=stack)
        commit = spec.git_commit or detect_git_commit(_root_directory())
        lineage = Lineage(
            team=spec.team,
            environment=spec.environment.value,
            stack=stack,
            git_commit=commit,
            user_tags=spec.user_tags(),
        )
        return cls(spec=spec, region=region, lineage=lineage, stack=stack)


class _readable_errors:
    """Under ``pulumi up`` show a ConfigError as a plain message; offline, let the CLI report it."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, ConfigError) and current_offline_answers() is None:
            raise pulumi.RunError(exc.render()) from None
        return False


@dataclass
class TeamStack:
    """The components built for one team stack, by model name."""

    context: StackContext
    registries: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] = field(default_factory=dict)
    """Endpoints by endpoint name: mlstack Endpoint (SageMaker) or InferenceService (KServe)."""
    monitors: dict[str, Any] = field(default_factory=dict)
    """Monitors by endpoint name (built last: they watch endpoints and start pipelines)."""
    feature_store: Any = None
    """The FeatureStore holding mlstack:featureGroups (None without feature groups)."""
    feature_groups: dict[str, Any] = field(default_factory=dict)
    """aws.sagemaker.FeatureGroup resources by feature group name."""
    pipelines: dict[str, Any] = field(default_factory=dict)
    """TrainingPipelines by model name (pipeline_name, arn, trigger_role_arn, model_name)."""


def _check_account(spec: StackSpec) -> None:
    if not spec.account_id:
        return
    import pulumi_aws as aws

    actual = aws.get_caller_identity().account_id
    if actual != spec.account_id:
        raise pulumi.RunError(
            f"stack {pulumi.get_stack()!r} must deploy to account {spec.account_id} (mlstack:accountId) "
            f"but the AWS credentials in use belong to {actual}; switch credentials or fix mlstack:accountId"
        )


def build(ctx: StackContext) -> TeamStack:
    """Build every component the stack's config declares."""
    from .components.registry import ModelRegistry, ModelRegistryArgs

    spec = ctx.spec
    _check_account(spec)
    team = TeamStack(context=ctx)
    with _readable_errors():
        for model in spec.models:
            settings = spec.registry_for(model.name)
            dataset = model.dataset
            team.registries[model.name] = ModelRegistry(
                model.name,
                ModelRegistryArgs(
                    group_name=spec.group_name(model.name),
                    description=model.description,
                    approval_mode=settings.approval_mode,
                    cross_account_readers=settings.cross_account_readers,
                    tags=ctx.lineage.tags(
                        model=model.name,
                        dataset=dataset.uri if dataset else None,
                        dataset_version=dataset.version if dataset else None,
                        extra={"mlstack:source": model.source} if model.source else None,
                    ),
                ),
            )
    pulumi.export(
        "registries",
        {name: {"groupName": r.group_name, "arn": r.arn, "approvalMode": r.approval_mode.value} for name, r in team.registries.items()},
    )
    if spec.feature_groups or any(m.training for m in spec.models):
        from .components.training import feature_store_and_pipelines_from_spec

        with _readable_errors():
            feature_store_and_pipelines_from_spec(ctx, team)
    if spec.endpoints:
        from .components.serving import endpoints_from_spec

        with _readable_errors():
            team.endpoints = endpoints_from_spec(ctx, team)
    if spec.monitors:
        from .components.monitor import monitors_from_spec

        with _readable_errors():
            team.monitors = monitors_from_spec(ctx, team)
        pulumi.export("monitors", {name: {"alarms": m.alarm_names, "topicArn": m.topic_arn} for name, m in team.monitors.items()})
    return team


def main() -> TeamStack:
    """Entry point of ``stacks/__main__.py``."""
    return build(StackContext.from_pulumi())


#: What the offline engine runs for a stack file that has no Pulumi project around it.
DEFAULT_PROGRAM = main
