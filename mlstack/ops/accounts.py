"""Day-2 commands across accounts: the registry of a model served from another account.

A prod stack may serve a model registered in another account's registry
(``mlstack:models[].source.registry``). ``mlstack promote`` approves versions *there*, and
``mlstack verify`` reads the latest Approved version there: both reach it through a role of
that account (``source.roleArn``), assumed with the stack's own credentials::

    registry = registry_access(aws, stack, "churn-xgb", write=True)
    registry.aws.client("sagemaker").list_model_packages(ModelPackageGroupName=registry.group)

The assumed credentials are checked to belong to the registry's account before anything is
read (fail closed: an assumed role of another account would approve in the wrong registry).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from ..config import StackFile
from .aws import Aws, MalformedResponse, OpsError, is_access_denied, unreadable_answers

__all__ = ["RegistryAccess", "registry_access", "assume_role"]

#: Seconds the assumed credentials live: longer than any one command's AWS deadline.
SESSION_SECONDS = 3600


@dataclass(frozen=True)
class RegistryAccess:
    """Where a model's registry is and how to reach it."""

    aws: Aws
    """Clients for the registry's account (the stack's own, or an assumed role there)."""
    group: str
    """The group as the calls name it: its name in the account ``aws`` reaches."""
    arn: Optional[str] = None
    """The group's ARN when it is another account's (``source.registry``): what it must be."""


def assume_role(aws: Aws, role_arn: str, *, region: str, account: str, purpose: str) -> Aws:
    """Clients with ``role_arn``'s credentials in ``region``, checked to be of ``account``; the
    same endpoint, retry and timeout settings as ``aws``."""
    import boto3
    from botocore.exceptions import ClientError

    sts = aws.client("sts")
    try:
        with unreadable_answers("STS AssumeRole"):
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"mlstack-{purpose}", DurationSeconds=SESSION_SECONDS)
    except ClientError as exc:
        if is_access_denied(exc):
            raise OpsError(
                f"the credentials in use may not assume {role_arn} ({exc}); allow them sts:AssumeRole on it and let the role's "
                "trust policy name this account",
                exit_code=2,
            ) from None
        raise
    credentials = answer.get("Credentials") if isinstance(answer, dict) else None
    keys = ("AccessKeyId", "SecretAccessKey", "SessionToken")
    if not isinstance(credentials, dict) or not all(isinstance(credentials.get(k), str) and credentials[k] for k in keys):
        raise MalformedResponse(f"STS AssumeRole of {role_arn} answered without usable credentials")
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    other = Aws.from_session(session, dataclasses.replace(aws.settings, region=region, profile=None))
    # One command, one deadline: the calls made as the role count against the time already spent.
    other._started = aws._started
    with unreadable_answers("STS GetCallerIdentity"):
        actual = other.client("sts").get_caller_identity()["Account"]
    if actual != account:
        raise OpsError(
            f"assuming {role_arn} gave credentials of account {actual!r}, not {account}, where the registry lives; "
            "fix source.roleArn",
            exit_code=2,
        )
    return other


def registry_access(aws: Aws, stack: StackFile, model: str, *, write: bool = False, purpose: str = "ops") -> RegistryAccess:
    """How to reach ``model``'s registry: the stack's own account, or another account's through
    ``source.roleArn`` (required to ``write``, e.g. approve; without it, reads go to the group's
    ARN with the stack's own credentials, which the group's resource policy must allow)."""
    spec = stack.spec
    source = spec.model(model).source_registry
    if source is None:
        return RegistryAccess(aws, spec.group_name(model))
    if source.role_arn is None:
        if write:
            index = [m.name for m in spec.models].index(model)
            raise OpsError(
                f"model {model!r} is registered in account {source.account} ({source.registry}), which this stack's credentials "
                f"may read but not change; give mlstack:models[{index}].source.roleArn, a role there that may approve its versions",
                exit_code=2,
            )
        return RegistryAccess(aws, source.registry, source.registry)
    other = assume_role(aws, source.role_arn, region=source.region, account=source.account, purpose=purpose)
    return RegistryAccess(other, source.group_name, source.registry)


def check_group_arn(access: RegistryAccess, described: Any) -> None:
    """The group found must be the declared ``source.registry``, not a same-named one elsewhere."""
    if access.arn is None:
        return
    arn = described.get("ModelPackageGroupArn") if isinstance(described, dict) else None
    if not isinstance(arn, str) or arn.casefold() != access.arn.casefold():
        raise OpsError(
            f"the registry reached for {access.arn} answered group {arn!r}; check source.roleArn (its account and region)",
            exit_code=2,
        )
