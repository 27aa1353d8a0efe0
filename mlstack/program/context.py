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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import pulumi

from .config import spec_from_config
from .errors import ConfigError, Problem
from .engine.declared import declare
from .lineage import Lineage, detect_git_commit
from .lookups import current_offline_answers, lookups_are_live, using_settings
from .stack_aws import AwsSettingsError, StackAwsSettings
from .specs.stack import NAMESPACE, StackSpec

__all__ = ["StackContext", "TeamStack", "build", "main", "aws_provider", "DEFAULT_PROGRAM"]


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
    """What a stack program knows: the validated spec, the region, the lineage, and the AWS
    settings of the stack's provider (which deploy-time lookups use too)."""

    spec: StackSpec
    region: str
    lineage: Lineage
    stack: str
    aws: Optional[StackAwsSettings] = None
    """The stack's AWS provider settings (``aws:*`` config, or those of :func:`aws_provider`)."""
    provider: Any = None
    """An explicit AWS provider every component is created with (None: the default provider)."""

    @classmethod
    def from_pulumi(cls, *, provider: Any = None) -> "StackContext":
        """Read and validate the running stack's config (raises a readable error, no traceback).

        ``provider``: an explicit AWS provider made with :func:`aws_provider`; components and
        deploy-time lookups then use its settings instead of the stack's ``aws:*`` config.
        """
        stack = pulumi.get_stack()
        source = f"stacks/Pulumi.{stack}.yaml"
        config = _all_config()
        with _readable_errors():
            spec, region = spec_from_config(config, file=source, stack=stack)
        settings: Optional[StackAwsSettings]
        if provider is not None:
            settings = getattr(provider, "mlstack_aws_settings", None)
            if settings is None:
                # Fail closed: lookups with other credentials than the provider's could read
                # another account's registry and deploy the wrong model.
                raise pulumi.RunError(
                    "the AWS provider passed to mlstack was not made with mlstack.program.aws_provider(...), so its "
                    "credentials are unknown to mlstack's deploy-time lookups; create it with aws_provider(name, region=..., ...)"
                )
            region = settings.region
        else:
            try:
                settings = StackAwsSettings.from_config(config, region=region)
            except AwsSettingsError as exc:
                raise pulumi.RunError(f"{source}: {exc}") from None
        with _readable_errors():  # an invalid $MLSTACK_GIT_COMMIT
            commit = spec.git_commit or detect_git_commit(_root_directory())
        lineage = Lineage(
            team=spec.team,
            environment=spec.environment.value,
            stack=stack,
            git_commit=commit,
            user_tags=spec.user_tags(),
        )
        return cls(spec=spec, region=region, lineage=lineage, stack=stack, aws=settings, provider=provider)

    def options(self, opts: Optional[pulumi.ResourceOptions] = None) -> Optional[pulumi.ResourceOptions]:
        """Resource options for a top-level component: the explicit provider, if any, merged in."""
        if self.provider is None:
            return opts
        return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(providers={"aws": self.provider}), opts)


def aws_provider(name: str, *, region: str, opts: Optional[pulumi.ResourceOptions] = None, **settings: Any) -> Any:
    """An explicit ``pulumi_aws.Provider`` whose settings mlstack's deploy-time lookups share.

    Takes the provider's own keyword arguments for credentials and guard rails as plain values:
    ``profile``, ``shared_config_files``, ``shared_credentials_files``, ``assume_roles``
    (``[{"role_arn": ..., "session_name": ..., "external_id": ..., "duration": "1h"}]``),
    ``allowed_account_ids``, ``forbidden_account_ids``; anything else is passed to the provider
    unchanged::

        provider = aws_provider("prod", region="eu-west-1", assume_roles=[{"role_arn": DEPLOY_ROLE}])
        team = build(StackContext.from_pulumi(provider=provider))
    """
    import pulumi_aws as aws

    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(part.title() for part in rest)

    lookup_keys = {"profile", "shared_config_files", "shared_credentials_files", "assume_roles", "allowed_account_ids", "forbidden_account_ids"}
    config = {f"aws:{camel(k)}": v for k, v in settings.items() if k in lookup_keys}
    if "assume_roles" in settings:
        config["aws:assumeRoles"] = [{camel(k): v for k, v in dict(role).items()} for role in settings["assume_roles"] or []]
    try:
        lookup = StackAwsSettings.from_config(config, region=region)
    except AwsSettingsError as exc:
        raise pulumi.RunError(f"aws_provider({name!r}): {exc}") from None
    provider = aws.Provider(name, region=region, opts=opts, **settings)
    provider.mlstack_aws_settings = lookup
    return provider


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
    deferred_endpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    """Endpoints left out of this deployment because their model has no Approved version yet
    (with their monitors), by endpoint name: the model and the model package group each waits for."""


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
        from .components.training import require_pipeline_sdk

        with _readable_errors():  # without the pipelines extra: stop before anything is registered
            require_pipeline_sdk(ctx.spec)
    live = lookups_are_live()
    with using_settings(ctx.aws if live else None), _lookup_errors():
        if live and ctx.aws is not None:
            # The lookups' credentials must be the deployment's: same account, same guard rails.
            ctx.aws.check_account(expected=ctx.spec.account_id, stack=ctx.stack)
        return _build(ctx)


@contextmanager
def _lookup_errors() -> Iterator[None]:
    """A deploy-time lookup that fails (no credentials, access denied, another account, an
    unreadable answer) stops the program with one readable message and nothing half-built:
    under ``pulumi up`` as a RunError, under ``mlstack plan --lookups aws`` as a ConfigError."""
    try:
        yield
    except AwsSettingsError as exc:
        _stop(exc.key or "aws", str(exc))
    except Exception as exc:  # noqa: BLE001 - only botocore's errors are translated, the rest re-raised
        module = type(exc).__module__ or ""
        from .ops.aws import OpsError, translate

        if isinstance(exc, OpsError) or module.startswith(("botocore", "boto3")):
            _stop("aws", f"a deploy-time AWS lookup failed: {translate(exc)}")
        raise


def _stop(key: str, message: str) -> None:
    if current_offline_answers() is None:
        raise pulumi.RunError(message) from None
    raise ConfigError([Problem(key, message)]) from None


def _build(ctx: StackContext) -> TeamStack:
    from .components.registry import ModelRegistry, ModelRegistryArgs

    spec = ctx.spec
    _check_account(ctx)
    team = TeamStack(context=ctx)
    with _readable_errors():
        for i, model in enumerate(spec.models):
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
                opts=ctx.options(),
            )
            declare(team.registries[model.name], f"mlstack:models[{i}]")
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
