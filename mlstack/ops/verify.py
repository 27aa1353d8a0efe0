"""``mlstack verify``: does each endpoint the stack declares run what the stack expects?

After ``pulumi up``, for every SageMaker endpoint in ``mlstack:endpoints``:

* it exists and is ``InService`` (not Updating, RollingBack or Failed);
* it runs the endpoint config the stack expects — the name in the stack outputs
  (``--outputs``, the JSON of ``pulumi stack output --json``) or, without outputs, a config
  whose lineage tags match the stack (``mlstack:stack``, ``mlstack:git-commit``,
  ``mlstack:model-version``): a deployment that was silently rolled back runs the previous
  config, whose tags name the previous commit or model version;
* that config carries exactly the declared variants, instance types and counts.

KServe endpoints live in a cluster, not in SageMaker: they are reported as not checked. ::

    reports = verify_endpoints(aws, load_stack("churn-prod"), outputs=json.load(open("out.json")))
    sys.exit(1 if any(r.failed for r in reports) else 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ..program.exports import DEFERRED_KEY, OUTPUT_KEY  # the stack outputs naming each endpoint's live config, and the deferred ones
from ..audit.hooks import record_verification
from ..config import StackFile
from ..errors import UsageError
from ..lineage import GIT_COMMIT, MODEL_VERSION, STACK, UNKNOWN_COMMIT, detect_git_commit
from .aws import Aws, is_not_found
from .registry import latest_approved, model_version

__all__ = [
    "ExpectedVariant",
    "ExpectedEndpoint",
    "EndpointReport",
    "expected_endpoints",
    "expected_from_spec",
    "verify_endpoints",
    "config_names_from_outputs",
    "OUTPUT_KEY",
]

IN_SERVICE = "InService"
OK, MISMATCH, NOT_CHECKED, DEFERRED = "ok", "mismatch", "not checked", "deferred"


@dataclass(frozen=True)
class ExpectedVariant:
    """A production variant as the stack declares it."""

    name: str
    instance_type: Optional[str] = None
    """None for a serverless variant."""
    instance_count: Optional[int] = None
    serverless: bool = False


@dataclass(frozen=True)
class ExpectedEndpoint:
    """One endpoint as the stack declares it."""

    name: str
    """The name in mlstack:endpoints."""
    endpoint_name: str
    """The SageMaker endpoint name (<team>-<name>)."""
    backend: str = "sagemaker"
    model: Optional[str] = None
    """The registry model it serves (None: an explicit image and model data URL)."""
    model_version: Optional[int] = None
    """A pinned version; None with a model means the latest Approved version."""
    variants: tuple[ExpectedVariant, ...] = ()
    """Production variants."""
    shadow_variants: tuple[ExpectedVariant, ...] = ()
    """Shadow variants (a challenger receiving a copy of the traffic)."""


@dataclass
class EndpointReport:
    """The outcome of verifying one endpoint."""

    endpoint: ExpectedEndpoint
    status: str = OK
    differences: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def failed(self) -> bool:
        return self.status == MISMATCH

    def render(self) -> str:
        head = f"{self.status.upper():<11} {self.endpoint.endpoint_name}"
        if self.summary:
            head += f": {self.summary}"
        return "\n".join([head, *(f"  - {d}" for d in self.differences)])


def expected_from_spec(endpoint_name: str, spec: Any) -> ExpectedEndpoint:
    """What :func:`verify_endpoints` expects of one ``mlstack:endpoints`` entry
    (a :class:`mlstack.specs.endpoint.EndpointSpec`) deployed as ``endpoint_name``."""
    backend = getattr(spec.backend, "value", spec.backend)
    if backend != "sagemaker":
        return ExpectedEndpoint(name=spec.name, endpoint_name=spec.name, backend=backend, model=spec.model)
    serverless = spec.serverless is not None
    primary = ExpectedVariant(
        name=spec.variant_name,
        instance_type=spec.instance_type,
        instance_count=None if serverless else spec.instance_count,
        serverless=serverless,
    )
    shadows: tuple[ExpectedVariant, ...] = ()
    if spec.shadow is not None:
        shadows = (
            ExpectedVariant(
                name=spec.shadow.variant_name,
                instance_type=spec.shadow.instance_type or spec.instance_type,
                instance_count=spec.shadow.instance_count,
            ),
        )
    version = spec.model_version
    return ExpectedEndpoint(
        name=spec.name,
        endpoint_name=endpoint_name,
        backend=backend,
        model=spec.model if spec.serves_registry_version else None,
        model_version=version if isinstance(version, int) else None,
        variants=(primary,),
        shadow_variants=shadows,
    )


def expected_endpoints(stack: StackFile) -> list[ExpectedEndpoint]:
    """The endpoints ``stack`` declares (``mlstack:endpoints``), in the form :func:`verify_endpoints` checks."""
    return [expected_from_spec(stack.spec.endpoint_name(e.name), e) for e in stack.spec.endpoints]


def config_names_from_outputs(outputs: Mapping[str, Any]) -> dict[str, str]:
    """Endpoint name (as declared) -> endpoint config name, from ``pulumi stack output --json``."""
    section = outputs.get(OUTPUT_KEY)
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise UsageError(f"stack outputs: {OUTPUT_KEY!r} is not an object; pass the JSON of `pulumi stack output --json`")
    names = {}
    for name, entry in section.items():
        config = entry.get("endpointConfigName") if isinstance(entry, Mapping) else None
        if config:
            names[str(name)] = str(config)
    return names


def _check_variants(expected: Sequence[ExpectedVariant], live: Sequence[Mapping[str, Any]], config: str, *, kind: str = "variant") -> list[str]:
    diffs: list[str] = []
    live_by_name = {str(v.get("VariantName")): v for v in live}
    for variant in expected:
        actual = live_by_name.pop(variant.name, None)
        if actual is None:
            has = ", ".join(sorted(str(v.get("VariantName")) for v in live)) or "none"
            diffs.append(f"{kind} {variant.name!r} is declared but config {config} has none (it has: {has})")
            continue
        if variant.serverless:
            if not actual.get("ServerlessConfig"):
                diffs.append(f"{kind} {variant.name!r} is declared serverless but runs on {actual.get('InstanceType')} instances")
            continue
        if actual.get("ServerlessConfig") and not actual.get("InstanceType"):
            diffs.append(f"{kind} {variant.name!r} is serverless, the stack declares {variant.instance_type}")
            continue
        if variant.instance_type and actual.get("InstanceType") != variant.instance_type:
            diffs.append(f"{kind} {variant.name!r}: instance type {actual.get('InstanceType')}, the stack declares {variant.instance_type}")
        count = actual.get("InitialInstanceCount")
        if variant.instance_count is not None and count != variant.instance_count:
            diffs.append(f"{kind} {variant.name!r}: {count} instances, the stack declares {variant.instance_count}")
    for name in sorted(live_by_name):
        diffs.append(f"{kind} {name!r} runs but the stack does not declare it")
    return diffs


def _tag_matches_version(tag: Optional[str], version: int) -> bool:
    return tag is not None and (tag == str(version) or tag.endswith(f"/{version}") or tag == f"v{version}")


def _verify_one(
    aws: Aws,
    stack: StackFile,
    endpoint: ExpectedEndpoint,
    *,
    expected_config: Optional[str],
    use_outputs: bool,
    git_commit: Optional[str],
) -> EndpointReport:
    from botocore.exceptions import ClientError

    report = EndpointReport(endpoint)
    diffs = report.differences
    sagemaker = aws.client("sagemaker")
    try:
        live = sagemaker.describe_endpoint(EndpointName=endpoint.endpoint_name)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        report.status = MISMATCH
        report.summary = f"does not exist in {aws.region}"
        diffs.append("the stack declares this endpoint; deploy it with `pulumi up` (or check the account and region)")
        return report
    status = live.get("EndpointStatus")
    config_name = live.get("EndpointConfigName", "")
    if status != IN_SERVICE:
        reason = f" ({live['FailureReason']})" if live.get("FailureReason") else ""
        diffs.append(f"status is {status}{reason}, expected {IN_SERVICE}")
    if use_outputs:
        if expected_config is None:
            diffs.append(f"the stack outputs name no endpoint config for {endpoint.name!r} (outputs key {OUTPUT_KEY!r}); pass outputs of this stack")
        elif config_name != expected_config:
            diffs.append(f"runs endpoint config {config_name}, the stack deployed {expected_config} (rolled back or changed outside the stack?)")
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        diffs.append(f"its endpoint config {config_name} no longer exists (deleted after a rollback?); redeploy with `pulumi up`")
        config = None
    if config is not None:
        diffs += _check_variants(endpoint.variants, config.get("ProductionVariants", []), config_name)
        diffs += _check_variants(endpoint.shadow_variants, config.get("ShadowProductionVariants", []), config_name, kind="shadow variant")
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"]).get("Tags", [])}
        if tags.get(STACK) != stack.stack:
            diffs.append(f"config {config_name} is tagged {STACK}={tags.get(STACK)!r}, expected {stack.stack!r}")
        if not use_outputs:
            if git_commit and tags.get(GIT_COMMIT) not in (None, git_commit):
                diffs.append(f"config {config_name} was deployed from commit {tags.get(GIT_COMMIT)}, this checkout is {git_commit} (rolled back, or not deployed yet?)")
            if endpoint.model:
                want = endpoint.model_version
                source = "pinned in the stack"
                if want is None:
                    approved = latest_approved(sagemaker, stack.spec.group_name(endpoint.model))
                    want = model_version(approved) if approved else None
                    source = "the latest Approved"
                if want is not None and not _tag_matches_version(tags.get(MODEL_VERSION), want):
                    diffs.append(
                        f"config {config_name} serves model version {tags.get(MODEL_VERSION)!r}, expected v{want} ({source}); "
                        "deploy it with `pulumi up`, or the rollout was rolled back"
                    )
    variants = len(endpoint.variants)
    report.summary = f"{status}, config {config_name}" + (f", {variants} variant{'s' if variants != 1 else ''} as declared" if not diffs else "")
    report.status = MISMATCH if diffs else OK
    return report


def verify_endpoints(
    aws: Aws,
    stack: StackFile,
    *,
    outputs: Optional[Mapping[str, Any]] = None,
    endpoints: Optional[Sequence[ExpectedEndpoint]] = None,
    git_commit: Optional[str] = None,
) -> list[EndpointReport]:
    """Check each declared endpoint against the live account; one report per endpoint."""
    declared = list(endpoints) if endpoints is not None else expected_endpoints(stack)
    config_names = config_names_from_outputs(outputs) if outputs is not None else {}
    if git_commit is None and outputs is None:
        root = stack.project.root if stack.project else stack.path.parent
        git_commit = stack.spec.git_commit or detect_git_commit(root)
    if git_commit == UNKNOWN_COMMIT:
        git_commit = None
    deferred = _deferred_from_outputs(outputs) if outputs is not None else {}
    reports = []
    for endpoint in declared:
        if endpoint.name in deferred:
            reports.append(_verify_deferred(aws, endpoint, deferred[endpoint.name]))
            continue
        if endpoint.backend != "sagemaker":
            reports.append(EndpointReport(endpoint, status=NOT_CHECKED, summary=f"not checked ({endpoint.backend})"))
            continue
        reports.append(
            _verify_one(
                aws,
                stack,
                endpoint,
                expected_config=config_names.get(endpoint.name) or config_names.get(endpoint.endpoint_name),
                use_outputs=outputs is not None,
                git_commit=git_commit,
            )
        )
    record_verification(aws, stack, reports)  # the signed decision log (mlstack:audit)
    return reports


def _deferred_from_outputs(outputs: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Endpoints the last `pulumi up` deferred (stack output ``deferredEndpoints``)."""
    section = outputs.get(DEFERRED_KEY) or {}
    if isinstance(section, Mapping) and "value" in section and isinstance(section.get("value"), Mapping):
        section = section["value"]
    if not isinstance(section, Mapping) or not all(isinstance(v, Mapping) for v in section.values()):
        raise UsageError(f"stack outputs: {DEFERRED_KEY!r} is not an object of endpoints; pass the JSON of `pulumi stack output --json`")
    return {str(k): v for k, v in section.items()}


def _verify_deferred(aws: Aws, endpoint: ExpectedEndpoint, why: Mapping[str, Any]) -> EndpointReport:
    """A deferred endpoint is as deployed while its model still has no Approved version; once one
    exists, the stack is behind (the next `pulumi up` would create the endpoint): a mismatch."""
    group = str(why.get("modelPackageGroup") or "")
    report = EndpointReport(endpoint, status=DEFERRED)
    approved = latest_approved(aws.client("sagemaker"), group) if group else None
    if approved is not None:
        report.status = MISMATCH
        report.summary = f"deferred by the last deployment, but {group} now has Approved version {model_version(approved)}"
        report.differences.append("run `pulumi up` to create the endpoint with that version")
    else:
        report.summary = f"deferred: {group or 'its model package group'} has no Approved version yet"
        report.differences.append("approve one with `mlstack promote`, then run `pulumi up`")
    return report
