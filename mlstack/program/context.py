"""What a stack program knows (:class:`StackContext`), the AWS provider it may bring
(:func:`aws_provider`), and how its errors reach the user.

Errors: a problem with the stack file is a :class:`~mlstack.errors.ConfigError` naming the key
(``mlstack:endpoints[0].modelVersion``). Offline (``mlstack plan``/``check``) it propagates and
the CLI prints it (exit 2); under ``pulumi up`` :func:`readable_errors` turns it into a
``pulumi.RunError``, which Pulumi prints without a traceback. A component the wiring builds
from an entry that refuses an argument (:class:`~mlstack.components.ComponentError`) is
reported at that entry's key path (:func:`entry`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import pulumi

from ..config import spec_from_config
from ..errors import ConfigError, Problem
from ..lineage import Lineage, detect_git_commit
from ..lookups import current_offline_answers
from ..stack_aws import AwsSettingsError, StackAwsSettings
from ..specs.stack import StackSpec

__all__ = ["StackContext", "aws_provider", "readable_errors", "entry", "stop", "lookup_errors"]


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
        with readable_errors():
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
        with readable_errors():  # an invalid $MLSTACK_GIT_COMMIT
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


class readable_errors:
    """Under ``pulumi up`` show a ConfigError as a plain message; offline, let the CLI report it."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, ConfigError) and current_offline_answers() is None:
            raise pulumi.RunError(exc.render()) from None
        return False


@contextmanager
def entry(key_path: str) -> Iterator[None]:
    """Build the component(s) of the stack-file entry ``key_path`` (``mlstack:endpoints[0]``): a
    component that refuses an argument is reported as a ConfigError at that key path, as every
    other problem of the stack file is."""
    from ..components import ComponentError

    try:
        yield
    except ComponentError as exc:
        who = f"{exc.component} {exc.name!r}" if exc.name else str(exc.component)
        raise ConfigError(
            [Problem(key_path, f"{who}: " + (f"argument {p.argument}: " if p.argument else "") + p.message, hint=p.fix) for p in exc.problems]
        ) from None


@contextmanager
def lookup_errors() -> Iterator[None]:
    """A deploy-time lookup that fails (no credentials, access denied, another account, an
    unreadable answer) stops the program with one readable message and nothing half-built:
    under ``pulumi up`` as a RunError, under ``mlstack plan --lookups aws`` as a ConfigError."""
    try:
        yield
    except AwsSettingsError as exc:
        stop(exc.key or "aws", str(exc), title=LOOKUP_TITLE)
    except Exception as exc:  # noqa: BLE001 - only botocore's errors are translated, the rest re-raised
        module = type(exc).__module__ or ""
        from ..ops.aws import OpsError, translate

        if isinstance(exc, OpsError) or module.startswith(("botocore", "boto3")):
            stop("aws", f"a deploy-time AWS lookup failed: {translate(exc)}", title=LOOKUP_TITLE)
        raise


#: The heading of a failed live lookup offline (``mlstack plan --lookups aws``): the stack file may be fine.
LOOKUP_TITLE = "the stack's AWS settings or AWS itself stopped the deploy-time lookups"


def stop(key: str, message: str, *, title: str | None = None) -> None:
    """Stop the program: a RunError under ``pulumi up``, a ConfigError at ``key`` offline."""
    if current_offline_answers() is None:
        raise pulumi.RunError(message) from None
    raise (ConfigError([Problem(key, message)], title=title) if title else ConfigError([Problem(key, message)])) from None


