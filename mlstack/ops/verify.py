"""``mlstack verify``: does each endpoint the stack declares run what the stack expects?

After ``pulumi up``, for every SageMaker endpoint in ``mlstack:endpoints``:

* it exists and is ``InService`` (not Updating, RollingBack or Failed);
* it runs the endpoint config the stack expects — the name in the stack outputs
  (``--outputs``, the JSON of ``pulumi stack output --json``) or, without outputs, a config
  whose lineage tags match the stack (``mlstack:stack``, ``mlstack:git-commit``,
  ``mlstack:model-version``): a deployment that was silently rolled back runs the previous
  config, whose tags name the previous commit or model version;
* that config carries exactly the declared variants, instance types and counts.

For every KServe endpoint, through the Kubernetes API of the stack's cluster (the kubeconfig
context ``kubernetes:context``, see :mod:`mlstack.ops.kube`; :func:`verify_inference_service`):

* the InferenceService exists, carries the stack's label, and its spec serves what the stack
  declares (storage URI, model version label, the canary percent of the declared rollout step);
* KServe has reconciled that spec (``status.observedGeneration``) and it is Ready;
* the newest revision is ready (``latestCreatedRevision`` = ``latestReadyRevision``);
* the traffic per revision is the declared step's: a canary's percent on the latest ready
  revision and the rest on the last rolled-out one; all of it on the latest ready revision
  when promoted (or ALL_AT_ONCE); none of it there when rolled back.

Without a kubeconfig client (``kube=None``) KServe endpoints are reported as not checked. ::

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
from .accounts import registry_access
from .registry import latest_approved, model_version

__all__ = [
    "ExpectedVariant",
    "ExpectedEndpoint",
    "EndpointReport",
    "expected_endpoints",
    "expected_from_spec",
    "verify_endpoints",
    "verify_inference_service",
    "ExpectedService",
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
class ExpectedService:
    """A KServe InferenceService as the stack declares it."""

    namespace: str
    name: str
    storage_uri: str
    model_version: Optional[int] = None
    step: Optional[str] = None
    """The rollout step (canary, promoted, rolled-back), None for ALL_AT_ONCE."""
    canary_percent: Optional[int] = None
    """canaryTrafficPercent the spec carries (None: absent, all traffic to the latest ready revision)."""
    promoted_version: Optional[int] = None


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
    service: Optional[ExpectedService] = None
    """KServe: the InferenceService."""


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


def _expected_service(spec: Any, namespace: Optional[str]) -> Optional[ExpectedService]:
    if spec.kserve is None or namespace is None:
        return None
    step = spec.kserve_rollout_step()
    version = spec.model_version if isinstance(spec.model_version, int) else None
    return ExpectedService(
        namespace=namespace,
        name=spec.name,
        storage_uri=spec.kserve.storage_uri,
        model_version=version,
        step=step.value if step is not None else None,
        canary_percent=spec.kserve_canary_percent(),
        promoted_version=spec.rollout.promoted_version,
    )


def expected_from_spec(endpoint_name: str, spec: Any, *, namespace: Optional[str] = None) -> ExpectedEndpoint:
    """What :func:`verify_endpoints` expects of one ``mlstack:endpoints`` entry
    (a :class:`mlstack.specs.endpoint.EndpointSpec`) deployed as ``endpoint_name``."""
    backend = getattr(spec.backend, "value", spec.backend)
    if backend != "sagemaker":
        return ExpectedEndpoint(name=spec.name, endpoint_name=spec.name, backend=backend, model=spec.model, service=_expected_service(spec, namespace))
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
    return [
        expected_from_spec(stack.spec.endpoint_name(e.name), e,
                           namespace=(e.kserve.namespace or stack.spec.team) if e.kserve is not None else None)
        for e in stack.spec.endpoints
    ]


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
                    registry = registry_access(aws, stack, endpoint.model, purpose="verify")
                    approved = latest_approved(registry.aws.client("sagemaker"), registry.group)
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
    kube: Optional[Any] = None,
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
            if kube is not None and endpoint.service is not None:
                reports.append(verify_inference_service(kube, stack, endpoint))
            else:
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


# ---- KServe --------------------------------------------------------------------------------------

ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}"


def _reply(value: Any, what: str, kind: type | tuple[type, ...]) -> Any:
    """``value`` when it has the type the API promises, else the reply cannot be read: stop."""
    from .kube import KubeReplyError

    if value is None or isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise KubeReplyError(f"the InferenceService's {what} is {type(value).__name__} {str(value)[:80]!r}, not what KServe writes there")


def _percent(entry: Any, i: int) -> int:
    from .kube import KubeReplyError

    if not isinstance(entry, dict):
        raise KubeReplyError(f"the InferenceService's status.components.predictor.traffic[{i}] is not an object")
    percent = entry.get("percent", 0)
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise KubeReplyError(f"the InferenceService's status.components.predictor.traffic[{i}].percent is {percent!r}, not 0-100")
    return percent


def verify_inference_service(kube: Any, stack: StackFile, endpoint: ExpectedEndpoint) -> EndpointReport:
    """Compare one KServe InferenceService, read through ``kube`` (a :class:`~mlstack.ops.kube.KubeClient`),
    with what the stack declares; see the module docstring for what is checked."""
    from ..specs.kserve import ROLLOUT_STEP_LABEL
    from .kube import KubeNotFound

    service = endpoint.service
    assert service is not None
    report = EndpointReport(endpoint)
    diffs = report.differences
    context = kube.config.context
    try:
        live = kube.get(ISVC_PATH.format(namespace=service.namespace, name=service.name))
    except KubeNotFound:
        report.status = MISMATCH
        report.summary = f"InferenceService {service.namespace}/{service.name} does not exist (context {context})"
        diffs.append("the stack declares it; deploy it with `pulumi up` (or check kubernetes:context and the namespace)")
        return report
    metadata = _reply(live.get("metadata"), "metadata", dict) or {}
    spec = _reply(live.get("spec"), "spec", dict) or {}
    status = _reply(live.get("status"), "status", dict) or {}
    labels = _reply(metadata.get("labels"), "metadata.labels", dict) or {}
    predictor = _reply(spec.get("predictor"), "spec.predictor", dict) or {}
    model = _reply(predictor.get("model"), "spec.predictor.model", dict) or {}

    # The spec: is it the one this stack declares?
    if labels.get("mlstack.dev/stack") != stack.stack:
        diffs.append(f"is labelled mlstack.dev/stack={labels.get('mlstack.dev/stack')!r}, expected {stack.stack!r} (created outside this stack?)")
    if model.get("storageUri") != service.storage_uri:
        diffs.append(f"serves {model.get('storageUri')!r}, the stack declares {service.storage_uri!r}; deploy it with `pulumi up`")
    if service.model_version is not None and labels.get("mlstack.dev/model-version") != str(service.model_version):
        diffs.append(f"is labelled model version {labels.get('mlstack.dev/model-version')!r}, the stack declares {service.model_version}")
    live_percent = _reply(predictor.get("canaryTrafficPercent"), "spec.predictor.canaryTrafficPercent", int)
    if live_percent != service.canary_percent:
        want = "no canaryTrafficPercent" if service.canary_percent is None else f"canaryTrafficPercent {service.canary_percent}"
        got = "none" if live_percent is None else str(live_percent)
        diffs.append(f"has canaryTrafficPercent {got}, the stack's rollout step ({service.step or 'ALL_AT_ONCE'}) needs {want}; deploy it with `pulumi up`")
    if service.step and labels.get(ROLLOUT_STEP_LABEL) not in (None, service.step):
        diffs.append(f"is labelled rollout step {labels.get(ROLLOUT_STEP_LABEL)!r}, the stack declares {service.step!r}")

    # Has KServe acted on it, and is it Ready?
    generation = _reply(metadata.get("generation"), "metadata.generation", int)
    observed = _reply(status.get("observedGeneration"), "status.observedGeneration", int)
    if generation is not None and (observed is None or observed < generation):
        diffs.append(f"KServe has not reconciled the latest spec yet (generation {generation}, observed {observed}); run verify again shortly")
    conditions = _reply(status.get("conditions"), "status.conditions", list) or []
    ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        why = f" ({ready.get('reason') or ''}: {str(ready.get('message') or '')[:200]})" if isinstance(ready, dict) and (ready.get("reason") or ready.get("message")) else ""
        diffs.append(f"is not Ready (Ready={ready.get('status') if isinstance(ready, dict) else 'missing'}){why}")

    # Revisions and traffic.
    components = _reply(status.get("components"), "status.components", dict) or {}
    component = _reply(components.get("predictor"), "status.components.predictor", dict) or {}
    latest_ready = _reply(component.get("latestReadyRevision"), "latestReadyRevision", str)
    latest_created = _reply(component.get("latestCreatedRevision"), "latestCreatedRevision", str)
    rolled_out = _reply(component.get("latestRolledoutRevision"), "latestRolledoutRevision", str)
    traffic_list = _reply(component.get("traffic"), "status.components.predictor.traffic", list) or []
    traffic: dict[str, int] = {}
    for i, entry in enumerate(traffic_list):
        percent = _percent(entry, i)
        name = _reply(entry.get("revisionName"), f"traffic[{i}].revisionName", str) or "?"
        traffic[name] = traffic.get(name, 0) + percent
    shown = ", ".join(f"{rev} {pct}%" for rev, pct in sorted(traffic.items(), key=lambda kv: -kv[1])) or "none"
    if latest_created and latest_ready != latest_created:
        diffs.append(f"its newest revision {latest_created} is not ready (latest ready: {latest_ready}); KServe sends it no traffic")
    if not traffic:
        diffs.append("has no traffic routed to any revision")
    elif sum(traffic.values()) != 100:
        diffs.append(f"routes {sum(traffic.values())}% of the traffic in all ({shown}), not 100%")
    elif latest_ready is None:
        diffs.append("reports no latest ready revision")
    else:
        on_latest = traffic.get(latest_ready, 0)
        step = service.step
        if step == "rolled-back":
            if on_latest != 0:
                diffs.append(f"is declared rolled back, but the latest revision {latest_ready} still has {on_latest}% ({shown})")
        elif step == "canary" and rolled_out and latest_ready != rolled_out and service.canary_percent is not None:
            if on_latest != service.canary_percent or (rolled_out and traffic.get(rolled_out, 0) != 100 - service.canary_percent):
                diffs.append(f"routes {shown}; the canary needs {service.canary_percent}% on {latest_ready} and "
                             f"{100 - service.canary_percent}% on the last rolled-out revision {rolled_out}")
        elif on_latest != 100:
            what = "promoted" if step == "promoted" else ("the only revision of the canary" if step == "canary" else "ALL_AT_ONCE")
            diffs.append(f"routes {shown}; {what} needs all traffic on the latest ready revision {latest_ready}")
    step_words = {"canary": f"canary of v{service.model_version}" if service.model_version else "canary",
                  "promoted": f"v{service.model_version} promoted" if service.model_version else "promoted",
                  "rolled-back": "rolled back"}.get(service.step or "", "all at once")
    if service.step == "canary" and service.promoted_version:
        step_words += f" against v{service.promoted_version}"
    ready_word = "Ready" if ready is not None and ready.get("status") == "True" else "not Ready"
    report.summary = f"InferenceService {service.namespace}/{service.name} {ready_word}, {step_words}; traffic {shown}"
    report.status = MISMATCH if diffs else OK
    return report
