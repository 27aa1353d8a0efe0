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
from typing import TYPE_CHECKING, Iterator, Mapping

from .specs.registry import version_arn

if TYPE_CHECKING:  # pragma: no cover
    from .stack_aws import StackAwsSettings

__all__ = [
    "OfflineAnswers",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_APPROVED_VERSION",
    "offline",
    "current_offline_answers",
    "latest_approved_model_package",
    "model_package_status",
    "model_package_arn",
    "NoSuchModelPackage",
    "APPROVED",
    "deployed_variant_names",
    "deployed_instance_types",
    "deployed_inference_service",
    "DeployedService",
    "NoApprovedVersion",
    "NO_APPROVED_VERSION",
    "live_settings",
    "lookups_are_live",
    "using_settings",
]

#: Account id the offline engine reports when the stack does not set mlstack:accountId.
DEFAULT_ACCOUNT_ID = "123456789012"
#: Model package version the offline engine reports as "latest approved" unless the config pins one.
DEFAULT_APPROVED_VERSION = 1
#: The offline answer for a registry group with no Approved version (``approvedVersion: none``).
NO_APPROVED_VERSION = "none"
#: SageMaker's ModelApprovalStatus of a version that may be served where approval is required.
APPROVED = "Approved"
#: What offline plans take as the status of a version newer than the group's latest Approved one.
PENDING = "PendingManualApproval"


class NoApprovedVersion(LookupError):
    """The model package group has no Approved version yet (a new stack's registry is empty)."""

    def __init__(self, group_name: str) -> None:
        super().__init__(f"model package group {group_name!r} has no Approved version yet; run its pipeline and approve one with `mlstack promote`")
        self.group_name = group_name


class NoSuchModelPackage(LookupError):
    """The model package version does not exist in the registry."""

    def __init__(self, arn: str) -> None:
        super().__init__(f"model package {arn!r} does not exist in the registry")
        self.arn = arn


@dataclass(frozen=True)
class OfflineAnswers:
    """What the offline engine answers instead of AWS."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = "us-east-1"
    partition: str = "aws"
    approved_versions: Mapping[str, int | str] = field(default_factory=dict)
    """Latest Approved version per model package group name (default: DEFAULT_APPROVED_VERSION;
    NO_APPROVED_VERSION: the group has none yet)."""
    deployed_variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Production variant names per deployed SageMaker endpoint name (default: not deployed)."""
    live_lookups: bool = False
    """Resources stay offline, but model-version and endpoint lookups ask AWS with the stack's
    own AWS settings (``mlstack plan --lookups aws``): what ``pulumi up`` would deploy today."""

    def model_package_arn(self, group_name: str, version: int | str) -> str:
        if group_name.startswith("arn:"):  # another account's group (mlstack:models[].source.registry)
            return version_arn(group_name, version)
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account_id}:model-package/{group_name}/{version}"


_OFFLINE: ContextVar[OfflineAnswers | None] = ContextVar("mlstack_offline_answers", default=None)
_SETTINGS: ContextVar["StackAwsSettings | None"] = ContextVar("mlstack_lookup_settings", default=None)


def live_settings() -> "StackAwsSettings | None":
    """The AWS settings live lookups use in this run (the stack's provider settings), if installed."""
    return _SETTINGS.get()


@contextmanager
def using_settings(settings: "StackAwsSettings | None") -> Iterator[None]:
    """Make live lookups inside the block use ``settings`` (the stack program installs its own)."""
    token = _SETTINGS.set(settings)
    try:
        yield
    finally:
        _SETTINGS.reset(token)


def _client(service: str, region: str | None):
    """A client with the stack's AWS settings when the program installed them; else the
    standard AWS settings (a Python stack's code calling a lookup directly)."""
    settings = _SETTINGS.get()
    if settings is not None:
        return settings.client(service)
    from .ops.aws import Aws, AwsSettings

    return Aws(AwsSettings(region=region)).client(service)


def current_offline_answers() -> OfflineAnswers | None:
    """The answers installed by the plan engine for this run, or None in a real deployment."""
    return _OFFLINE.get()


def _offline_lookups() -> OfflineAnswers | None:
    """The engine's answers when lookups are answered offline; None when they go to AWS."""
    answers = _OFFLINE.get()
    return None if answers is None or answers.live_lookups else answers


def lookups_are_live() -> bool:
    """Whether deploy-time lookups ask AWS in this run (``pulumi up``, or ``plan --lookups aws``)."""
    return _offline_lookups() is None


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
    Raises :class:`NoApprovedVersion` when the group has no Approved version (or does not
    exist yet: a new stack's first ``pulumi up`` creates it).
    """
    answers = _offline_lookups()
    if answers is not None:
        version = answers.approved_versions.get(group_name, DEFAULT_APPROVED_VERSION)
        if version == NO_APPROVED_VERSION:
            raise NoApprovedVersion(group_name)
        return answers.model_package_arn(group_name, version)
    from .ops.aws import is_not_found
    from .ops.registry import latest_approved

    if client is None:
        client = _client("sagemaker", region)
    try:
        package = latest_approved(client, group_name)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, judged by its code
        if is_not_found(exc):
            raise NoApprovedVersion(group_name) from None
        raise
    if package is None:
        raise NoApprovedVersion(group_name)
    arn = package.get("ModelPackageArn") if isinstance(package, Mapping) else None
    if not isinstance(arn, str) or not arn.rsplit("/", 1)[-1].isdigit():
        # Fail closed: an answer we cannot read is not "nothing approved", and not a version to serve.
        raise RuntimeError(f"SageMaker answered the latest Approved package of {group_name!r} with an unreadable ARN ({arn!r})")
    return arn


def model_package_arn(group_name: str, version: int | str, *, region: str | None = None) -> str:
    """The ARN of version ``version`` of ``group_name`` in the deployment's account and region
    (offline: the engine's account, region and partition; online: the account the stack's
    credentials resolve to, asked of STS). A group given by its ARN (another account's) names
    its own account and region."""
    if group_name.startswith("arn:"):
        return version_arn(group_name, version)
    answers = _offline_lookups()
    if answers is not None:
        return answers.model_package_arn(group_name, version)
    from .stack_aws import partition_of

    settings = _SETTINGS.get()
    region = settings.region if settings is not None else region
    client = _client("sts", region)
    account = str(client.get_caller_identity()["Account"])
    region = region or client.meta.region_name
    return f"arn:{partition_of(region)}:sagemaker:{region}:{account}:model-package/{group_name}/{version}"


def model_package_status(arn: str, *, region: str | None = None, client=None) -> str:
    """The ModelApprovalStatus of the versioned model package ``arn``: Approved,
    PendingManualApproval or Rejected.

    Online: asks SageMaker (DescribeModelPackage, read by :func:`mlstack.ops.registry.describe_package`,
    which refuses an answer it cannot read); raises :class:`NoSuchModelPackage` when the version
    does not exist. Offline, nothing can be asked, so the answer is deduced from the stack config
    and says so by what it cannot say: versions up to the group's ``approvedVersion`` are taken as
    Approved (offline plans cannot know that an older one was rejected since), a version newer
    than an explicit ``approvedVersion`` (or any version of a group with ``approvedVersion:
    none``) is PendingManualApproval, as the latest Approved version is the newest one approved;
    without an explicit ``approvedVersion`` every version is taken as Approved. ``pulumi up`` and
    ``mlstack plan --lookups aws`` ask the registry.
    """
    group, _, version = arn.rpartition(":model-package/")[2].rpartition("/")
    answers = _offline_lookups()
    if answers is not None:
        group_arn = arn.rpartition("/")[0].replace(":model-package/", ":model-package-group/", 1)
        latest = answers.approved_versions.get(group_arn, answers.approved_versions.get(group))
        if latest is None:
            return APPROVED
        if latest == NO_APPROVED_VERSION or (version.isdigit() and int(version) > int(latest)):
            return PENDING
        return APPROVED
    from .ops.aws import MalformedResponse, OpsError
    from .ops.registry import describe_package

    if client is None:
        client = _client("sagemaker", region)
    try:
        package = describe_package(client, arn)  # checks the status is one of SageMaker's three
    except MalformedResponse:
        raise  # fail closed: an unreadable answer is no status
    except OpsError:
        raise NoSuchModelPackage(arn) from None  # describe_package's only other error: not found
    return package["ModelApprovalStatus"]


def deployed_variant_names(endpoint_name: str, *, region: str | None = None, client=None) -> tuple[str, ...]:
    """The production variant names of the deployed SageMaker endpoint ``endpoint_name``;
    empty when it is not deployed yet.

    Offline: answered from the engine's :class:`OfflineAnswers` (the stack's
    ``mlstack:endpoints[].deployedVariants``). Online: asks SageMaker (DescribeEndpoint).
    """
    answers = _offline_lookups()
    if answers is not None:
        return tuple(answers.deployed_variants.get(endpoint_name, ()))
    from .ops.aws import is_not_found

    if client is None:
        client = _client("sagemaker", region)
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
    if _offline_lookups() is not None:
        return {}
    from .ops.aws import is_not_found

    if client is None:
        client = _client("sagemaker", region)
    try:
        config_name = client.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, judged by its code
        if is_not_found(exc):
            return {}
        raise
    return {v["VariantName"]: v["InstanceType"] for v in config.get("ProductionVariants", []) if v.get("InstanceType")}


@dataclass(frozen=True)
class DeployedService:
    """What a live KServe InferenceService serves: its ``mlstack.dev/model-version`` label and
    storage URI (None when unknown, e.g. offline)."""

    model_version: str | None
    storage_uri: str | None = None


def deployed_inference_service(namespace: str, name: str, *, offline_version: int | None = None,
                               kubeconfig: str | None = None, context: str | None = None) -> DeployedService | None:
    """The live InferenceService ``namespace/name`` (None when it does not exist).

    Offline (plans, also ``--lookups aws``, which asks AWS only): ``offline_version``, the
    stack's ``kserve.deployedModelVersion`` (None: not deployed). Under ``pulumi up``: read
    through the Kubernetes API with the stack's ``kubernetes:kubeconfig`` / ``kubernetes:context``
    (:class:`mlstack.ops.kube.KubeClient`); a cluster it cannot read stops the deployment (the
    caller decides on what it reads, so an unknown answer must not pass as "not deployed")."""
    if _OFFLINE.get() is not None:
        return DeployedService(str(offline_version)) if offline_version is not None else None
    from .ops.kube import KubeClient, KubeNotFound

    client = KubeClient.from_kubeconfig(kubeconfig=kubeconfig, context=context)
    try:
        live = client.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}")
    except KubeNotFound:
        return None
    labels = (live.get("metadata") or {}).get("labels") or {}
    model = ((live.get("spec") or {}).get("predictor") or {}).get("model") or {}
    version = labels.get("mlstack.dev/model-version") if isinstance(labels, dict) else None
    uri = model.get("storageUri") if isinstance(model, dict) else None
    return DeployedService(version if isinstance(version, str) else None, uri if isinstance(uri, str) else None)
