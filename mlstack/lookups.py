"""Cloud lookups a stack program makes at deploy time, answered offline by the plan engine.

A real ``pulumi up`` asks AWS (through boto3) for, e.g., the latest Approved version of a
model package group. Under ``mlstack plan`` and ``mlstack check`` there is no AWS: the engine
installs :class:`OfflineAnswers` for the run and every lookup is answered from the stack
config or the documented defaults below, never from the network.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Mapping

__all__ = [
    "OfflineAnswers",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_APPROVED_VERSION",
    "offline",
    "current_offline_answers",
    "latest_approved_model_package",
    "deployed_variant_names",
    "deployed_instance_types",
]

#: Account id the offline engine reports when the stack does not set mlstack:accountId.
DEFAULT_ACCOUNT_ID = "123456789012"
#: Model package version the offline engine reports as "latest approved" unless the config pins one.
DEFAULT_APPROVED_VERSION = 1


@dataclass(frozen=True)
class OfflineAnswers:
    """What the offline engine answers instead of AWS."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = "us-east-1"
    partition: str = "aws"
    approved_versions: Mapping[str, int] = field(default_factory=dict)
    """Latest Approved version per model package group name (default: DEFAULT_APPROVED_VERSION)."""
    deployed_variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Production variant names per deployed SageMaker endpoint name (default: not deployed)."""

    def model_package_arn(self, group_name: str, version: int | str) -> str:
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account_id}:model-package/{group_name}/{version}"


_OFFLINE: ContextVar[OfflineAnswers | None] = ContextVar("mlstack_offline_answers", default=None)


def current_offline_answers() -> OfflineAnswers | None:
    """The answers installed by the plan engine for this run, or None in a real deployment."""
    return _OFFLINE.get()


@contextmanager
def offline(answers: OfflineAnswers) -> Iterator[OfflineAnswers]:
    """Answer lookups from ``answers`` inside the block (used by the plan engine)."""
    token = _OFFLINE.set(answers)
    try:
        yield answers
    finally:
        _OFFLINE.reset(token)


def latest_approved_model_package(group_name: str, *, region: str | None = None, client=None) -> str:
    """The ARN of the newest Approved model package in ``group_name``.

    Offline: answered from the engine's :class:`OfflineAnswers`. Online: asks SageMaker with the
    same lookup ``mlstack promote`` uses for its baseline (:func:`mlstack.ops.registry.latest_approved`),
    through a client with the standard AWS settings, ``AWS_ENDPOINT_URL`` and retries on throttling.
    Raises LookupError when the group has no Approved version.
    """
    answers = current_offline_answers()
    if answers is not None:
        version = answers.approved_versions.get(group_name, DEFAULT_APPROVED_VERSION)
        return answers.model_package_arn(group_name, version)
    from .ops.registry import latest_approved

    if client is None:
        from .ops.aws import Aws, AwsSettings

        client = Aws(AwsSettings(region=region)).client("sagemaker")
    package = latest_approved(client, group_name)
    if package is None:
        raise LookupError(f"model package group {group_name!r} has no Approved version; approve one with `mlstack promote`")
    return package["ModelPackageArn"]


def deployed_variant_names(endpoint_name: str, *, region: str | None = None, client=None) -> tuple[str, ...]:
    """The production variant names of the deployed SageMaker endpoint ``endpoint_name``;
    empty when it is not deployed yet.

    Offline: answered from the engine's :class:`OfflineAnswers` (the stack's
    ``mlstack:endpoints[].deployedVariants``). Online: asks SageMaker (DescribeEndpoint).
    """
    answers = current_offline_answers()
    if answers is not None:
        return tuple(answers.deployed_variants.get(endpoint_name, ()))
    from .ops.aws import is_not_found

    if client is None:
        from .ops.aws import Aws, AwsSettings

        client = Aws(AwsSettings(region=region)).client("sagemaker")
    try:
        response = client.describe_endpoint(EndpointName=endpoint_name)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, judged by its code
        if is_not_found(exc):
            return ()
        raise
    return tuple(v["VariantName"] for v in response.get("ProductionVariants", []))


def deployed_instance_types(endpoint_name: str, *, region: str | None = None, client=None) -> dict[str, str]:
    """Instance type per production variant of the deployed endpoint ``endpoint_name`` (empty
    when it is not deployed, or serverless).

    Offline: empty — an offline plan does not know what runs, so the checks built on this
    (an instance-type change on an autoscaled variant) happen at deploy time. Online: asks
    SageMaker (DescribeEndpoint, then DescribeEndpointConfig of the config it runs).
    """
    if current_offline_answers() is not None:
        return {}
    from .ops.aws import is_not_found

    if client is None:
        from .ops.aws import Aws, AwsSettings

        client = Aws(AwsSettings(region=region)).client("sagemaker")
    try:
        config_name = client.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, judged by its code
        if is_not_found(exc):
            return {}
        raise
    return {v["VariantName"]: v["InstanceType"] for v in config.get("ProductionVariants", []) if v.get("InstanceType")}
