"""The AWS settings of a stack, as its Pulumi AWS provider reads them, for the lookups a stack
program makes at deploy time (latest Approved model version, the live endpoint, the account).

``pulumi up`` creates resources with the ``aws:*`` config of the stack (or an explicit provider in
a Python stack). A lookup that used other credentials — the ambient ``AWS_PROFILE``, say — would
read another account's registry and deploy the wrong model, so lookups build their boto3 session
from the same settings:

* ``aws:region``, ``aws:profile``, ``aws:sharedConfigFiles`` / ``aws:sharedCredentialsFiles``,
  ``aws:accessKey`` / ``aws:secretKey`` / ``aws:token``;
* ``aws:assumeRoles`` (pulumi-aws 6 and 7: a list, assumed in order, each with the credentials of
  the one before) or the older single ``aws:assumeRole``: ``roleArn``, ``sessionName``,
  ``externalId``, ``duration`` (``1h``, ``15m``), ``policy``, ``policyArns``, ``tags``,
  ``transitiveTagKeys``, ``sourceIdentity``;
* ``aws:allowedAccountIds`` / ``aws:forbiddenAccountIds``: checked against the account the
  credentials resolve to, like the provider does before it creates anything.

Partition and DNS suffix come from botocore's endpoint data, never ``arn:aws`` by hand:
``partition_of("cn-north-1") == "aws-cn"``, ``dns_suffix("cn-north-1") == "amazonaws.com.cn"``.

Example::

    settings = StackAwsSettings.from_config(config)      # config as Pulumi hands it to a program
    sagemaker = settings.client("sagemaker")
    settings.check_account(expected="210987654321", stack="churn-prod")
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = ["AssumeRole", "StackAwsSettings", "AwsSettingsError", "partition_of", "dns_suffix", "arn"]


class AwsSettingsError(Exception):
    """The stack's AWS settings are unusable, or the credentials are for an account the stack
    must not touch. ``key`` names the config key at fault."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@functools.cache
def _resolver():
    import botocore.session

    return botocore.session.get_session()._get_internal_component("endpoint_resolver")


@functools.cache
def partition_of(region: str) -> str:
    """The AWS partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``, ...), from botocore
    (kept in the on-disk cache, :mod:`mlstack.botodata`)."""
    from .botodata import derived

    return str(derived(f"partition:{region}", lambda: _load_partition(region)))


def _load_partition(region: str) -> str:
    try:
        return _resolver().get_partition_for_region(region)
    except Exception:  # noqa: BLE001 - botocore raises UnknownRegionError for unknown names
        return "aws"


@functools.cache
def dns_suffix(region: str) -> str:
    """The DNS suffix of ``region``'s partition (``amazonaws.com``, ``amazonaws.com.cn``), from botocore."""
    from .botodata import derived

    partition = partition_of(region)
    return str(derived(f"dns-suffix:{partition}", lambda: _resolver().get_partition_dns_suffix(partition) or "amazonaws.com"))


def arn(region: str, service: str, account: str, resource: str, *, regional: bool = True) -> str:
    """An ARN in ``region``'s partition: ``arn("cn-north-1", "iam", "1234", "root", regional=False)``."""
    return f"arn:{partition_of(region)}:{service}:{region if regional else ''}:{account}:{resource}"


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _seconds(value: Any, key: str) -> Optional[int]:
    """A Go duration as the provider takes it (``1h``, ``90m``, ``1h30m``) in seconds."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = _DURATION.match(str(value).strip())
    if not match or not any(match.groups()):
        raise AwsSettingsError(f"{key}: {value!r} is not a duration; write e.g. 1h, 15m or 1h30m", key=key)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class AssumeRole:
    """One entry of ``aws:assumeRoles`` (or the single ``aws:assumeRole``)."""

    role_arn: str
    session_name: Optional[str] = None
    external_id: Optional[str] = None
    duration_seconds: Optional[int] = None
    policy: Optional[str] = None
    policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: Optional[str] = None

    @classmethod
    def parse(cls, raw: Any, key: str) -> "AssumeRole":
        if not isinstance(raw, Mapping):
            raise AwsSettingsError(f"{key}: an assumed role is an object with roleArn (got {raw!r})", key=key)
        role_arn = raw.get("roleArn")
        if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
            raise AwsSettingsError(f"{key}.roleArn: {role_arn!r} is not a role ARN; write arn:aws:iam::<account>:role/<name>", key=key)
        tags = raw.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise AwsSettingsError(f"{key}.tags: a map of tag keys to values (got {tags!r})", key=key)
        return cls(
            role_arn=role_arn,
            session_name=raw.get("sessionName") or None,
            external_id=raw.get("externalId") or None,
            duration_seconds=_seconds(raw.get("duration"), f"{key}.duration"),
            policy=raw.get("policy") or None,
            policy_arns=tuple(raw.get("policyArns") or ()),
            tags=tuple((str(k), str(v)) for k, v in tags.items()),
            transitive_tag_keys=tuple(raw.get("transitiveTagKeys") or ()),
            source_identity=raw.get("sourceIdentity") or None,
        )

    def request(self) -> dict[str, Any]:
        """Keyword arguments of STS AssumeRole."""
        out: dict[str, Any] = {"RoleArn": self.role_arn, "RoleSessionName": self.session_name or "mlstack-lookup"}
        if self.external_id:
            out["ExternalId"] = self.external_id
        if self.duration_seconds:
            out["DurationSeconds"] = self.duration_seconds
        if self.policy:
            out["Policy"] = self.policy
        if self.policy_arns:
            out["PolicyArns"] = [{"arn": a} for a in self.policy_arns]
        if self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        if self.transitive_tag_keys:
            out["TransitiveTagKeys"] = list(self.transitive_tag_keys)
        if self.source_identity:
            out["SourceIdentity"] = self.source_identity
        return out


def _decode(value: Any) -> Any:
    """Pulumi hands a program objects and lists as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    value = _decode(value)
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise AwsSettingsError(f"{key}: a list of strings (got {value!r})", key=key)


@dataclass(frozen=True)
class StackAwsSettings:
    """The credentials, region and guard rails a stack's AWS provider uses."""

    region: str
    profile: Optional[str] = None
    access_key: Optional[str] = field(default=None, repr=False)
    secret_key: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    shared_config_files: tuple[str, ...] = ()
    shared_credentials_files: tuple[str, ...] = ()
    assume_roles: tuple[AssumeRole, ...] = ()
    allowed_account_ids: tuple[str, ...] = ()
    forbidden_account_ids: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, region: str | None = None) -> "StackAwsSettings":
        """Settings from a stack's config map (``aws:*`` keys, values as Pulumi passes them)."""

        def get(name: str) -> Any:
            return _decode(config.get(f"aws:{name}"))

        roles: list[AssumeRole] = []
        many = get("assumeRoles")
        if many not in (None, "", []):
            if not isinstance(many, list):
                raise AwsSettingsError(f"aws:assumeRoles: a list of roles to assume in order (got {many!r})", key="aws:assumeRoles")
            roles = [AssumeRole.parse(r, f"aws:assumeRoles[{i}]") for i, r in enumerate(many)]
        single = get("assumeRole")
        if single not in (None, "", {}):
            if roles:
                raise AwsSettingsError("set aws:assumeRoles or aws:assumeRole, not both", key="aws:assumeRole")
            roles = [AssumeRole.parse(single, "aws:assumeRole")]
        allowed = _strings(get("allowedAccountIds"), "aws:allowedAccountIds")
        forbidden = _strings(get("forbiddenAccountIds"), "aws:forbiddenAccountIds")
        if allowed and forbidden:
            # The provider refuses this combination too (they conflict in its schema).
            raise AwsSettingsError("set aws:allowedAccountIds or aws:forbiddenAccountIds, not both", key="aws:forbiddenAccountIds")
        for name in ("sharedConfigFiles", "sharedCredentialsFiles"):
            if len(_strings(get(name), f"aws:{name}")) > 1:
                # botocore reads one file of each kind; guessing which one would pick credentials.
                raise AwsSettingsError(f"aws:{name}: mlstack's deploy-time lookups read one file; list exactly one", key=f"aws:{name}")
        resolved_region = region or get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not resolved_region:
            raise AwsSettingsError("no AWS region: set aws:region in the stack file or AWS_REGION", key="aws:region")
        return cls(
            region=str(resolved_region),
            profile=get("profile") or None,
            access_key=get("accessKey") or None,
            secret_key=get("secretKey") or None,
            token=get("token") or None,
            shared_config_files=_strings(get("sharedConfigFiles"), "aws:sharedConfigFiles"),
            shared_credentials_files=_strings(get("sharedCredentialsFiles"), "aws:sharedCredentialsFiles"),
            assume_roles=tuple(roles),
            allowed_account_ids=allowed,
            forbidden_account_ids=forbidden,
        )

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    # -- sessions -------------------------------------------------------------------------
    def _base_session(self):
        import boto3
        import botocore.session

        core = botocore.session.Session()
        # Shared files of the stack, not the ambient ones: the provider reads the same lists.
        if self.shared_config_files:
            core.set_config_variable("config_file", os.path.expanduser(self.shared_config_files[0]))
        if self.shared_credentials_files:
            core.set_config_variable("credentials_file", os.path.expanduser(self.shared_credentials_files[0]))
        if self.profile:
            core.set_config_variable("profile", self.profile)
        if self.access_key or self.secret_key:
            core.set_credentials(self.access_key, self.secret_key, self.token)
        return boto3.session.Session(botocore_session=core, region_name=self.region)

    @functools.cached_property
    def session(self):
        """A boto3 session with the stack's credentials, every role of ``assume_roles`` assumed in order."""
        import boto3

        session = self._base_session()
        for role in self.assume_roles:
            sts = session.client("sts", region_name=self.region, config=_config())
            credentials = sts.assume_role(**role.request())["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self.region,
            )
        return session

    @functools.cached_property
    def _calls(self):
        from .ops.aws import Aws, AwsSettings

        # The day-2 commands' client factory: bounded attempts, timeouts, one total deadline for
        # every lookup of the run (MLSTACK_AWS_TIMEOUT, default 120 s) and garbage answers as errors.
        return Aws.from_session(self.session, AwsSettings(region=self.region, max_attempts=5))

    def client(self, service: str):
        """A client of ``service`` in the stack's region with the stack's credentials."""
        return self._calls.client(service)

    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def check_account(self, *, expected: str | None, stack: str) -> str:
        """The account the credentials resolve to, after the provider's own guard rails
        (allowed/forbidden account ids) and ``mlstack:accountId``; raises AwsSettingsError."""
        actual = self.account_id()
        if self.allowed_account_ids and actual not in self.allowed_account_ids:
            raise AwsSettingsError(
                f"stack {stack!r}: the AWS credentials belong to account {actual}, which is not in aws:allowedAccountIds "
                f"({', '.join(self.allowed_account_ids)}); switch credentials or fix aws:allowedAccountIds",
                key="aws:allowedAccountIds",
            )
        if actual in self.forbidden_account_ids:
            raise AwsSettingsError(
                f"stack {stack!r}: the AWS credentials belong to account {actual}, which aws:forbiddenAccountIds forbids; "
                "switch credentials",
                key="aws:forbiddenAccountIds",
            )
        if expected and actual != expected:
            raise AwsSettingsError(
                f"stack {stack!r} must deploy to account {expected} (mlstack:accountId) but the AWS credentials in use "
                f"belong to {actual}; switch credentials or fix mlstack:accountId",
                key="mlstack:accountId",
            )
        return actual


def _config():
    from botocore.config import Config

    # Lookups run inside `pulumi up`: bounded, so a hung endpoint cannot stall a deployment.
    return Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=10, read_timeout=30, user_agent_extra="mlstack-lookup")
