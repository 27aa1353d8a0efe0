"""The components built for one team stack (:class:`TeamStack`) and the order they are built in
(:func:`build`): registries, feature store and pipelines, endpoints, monitors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from ..lookups import lookups_are_live, using_settings
from . import exports
from .context import StackContext, lookup_errors, readable_errors

__all__ = ["TeamStack", "build", "main", "DEFAULT_PROGRAM"]


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
    tracking: Any = None
    """The ExperimentTracking of mlstack:tracking (None without it); built before the pipelines."""
    deferred_endpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    """Endpoints left out of this deployment because their model has no Approved version yet
    (with their monitors), by endpoint name: the model and the model package group each waits for."""
    audit_log: Any = None
    """The AuditLog of the stack's decision log (None when mlstack:audit is off)."""


def _check_account(ctx: StackContext) -> None:
    spec = ctx.spec
    if not spec.account_id:
        return
    import pulumi_aws as aws

    # Through the stack's provider: the account its resources would land in.
    invoke = pulumi.InvokeOptions(provider=ctx.provider) if ctx.provider is not None else None
    actual = aws.get_caller_identity(opts=invoke).account_id
    if actual != spec.account_id:
        raise pulumi.RunError(
            f"stack {pulumi.get_stack()!r} must deploy to account {spec.account_id} (mlstack:accountId) "
            f"but the AWS credentials in use belong to {actual}; switch credentials or fix mlstack:accountId"
        )


def build(ctx: StackContext) -> TeamStack:
    """Build every component the stack's config declares."""
    if any(model.training for model in ctx.spec.models):
        from .training import require_pipeline_sdk

        with readable_errors():  # without the pipelines extra: stop before anything is registered
            require_pipeline_sdk(ctx.spec)
    live = lookups_are_live()
    with using_settings(ctx.aws if live else None), lookup_errors():
        if live and ctx.aws is not None:
            # The lookups' credentials must be the deployment's: same account, same guard rails.
            ctx.aws.check_account(expected=ctx.spec.account_id, stack=ctx.stack)
        return _build(ctx)


def _build(ctx: StackContext) -> TeamStack:
    from . import audit, monitors, registries, serving, training

    spec = ctx.spec
    _check_account(ctx)
    team = TeamStack(context=ctx)
    with readable_errors():
        team.registries = registries.registries_from_spec(ctx)
    exports.export_registries(team)
    if spec.tracking is not None:
        from .tracking import tracking_from_spec

        with readable_errors():
            team.tracking = tracking_from_spec(ctx)
    if spec.feature_groups or any(m.training for m in spec.models):
        with readable_errors():
            training.feature_store_and_pipelines_from_spec(ctx, team)
        exports.export_training(team)
    if spec.endpoints:
        with readable_errors():
            team.endpoints = serving.endpoints_from_spec(ctx, team)
        exports.export_endpoints(team)
    if spec.monitors:
        with readable_errors():
            team.monitors = monitors.monitors_from_spec(ctx, team)
        exports.export_monitors(team)
    with readable_errors():
        team.audit_log = audit.audit_log_from_spec(ctx)
    if team.audit_log is not None:
        exports.export_audit_log(team)
    return team


def main() -> TeamStack:
    """Entry point of ``stacks/__main__.py``."""
    return build(StackContext.from_pulumi())


#: What the offline engine runs for a stack file that has no Pulumi project around it.
DEFAULT_PROGRAM = main
