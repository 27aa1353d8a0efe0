"""``mlstack:endpoints`` -> an :class:`~mlstack.components.Endpoint` (SageMaker) or
:class:`~mlstack.components.InferenceService` (KServe) per entry: called by :func:`mlstack.program.build`.

For each SageMaker endpoint the stack program resolves what is only known at deploy time:

* the model version: a pinned ``modelVersion``, or the latest Approved version of the model's
  registry group (:func:`mlstack.lookups.latest_approved_model_package`; offline plans take
  ``mlstack:models[].approvedVersion``, default 1), recorded as ``mlstack:model-version``.
  A new stack's registry is empty: an endpoint whose model has no Approved version yet is
  *deferred* — not created, with a warning and the stack output ``deferredEndpoints`` — so the
  first ``pulumi up`` succeeds and the next one after ``mlstack promote`` creates it. An
  endpoint that is already live is never deferred (that would delete it): the deployment stops;
* that the version is Approved: a pinned ``modelVersion`` (SageMaker or KServe) is looked up in
  the registry (:func:`mlstack.lookups.model_package_status`; offline plans deduce it from
  ``approvedVersion``, see there) and an unapproved one (PendingManualApproval, Rejected, or no
  such version) stops the deployment in the environments of :data:`APPROVAL_REQUIRED` — a
  ConfigError at ``mlstack:endpoints[i].modelVersion`` offline (exit 2), a RunError under
  ``pulumi up``. Elsewhere it is served. Either way the status is recorded as the lineage tag
  ``mlstack:approval-status`` (label ``mlstack.dev/approval-status`` on KServe), which the policy
  ``mlstack-endpoint-serves-approved-package`` requires to be Approved in the environments its
  pack config names (prod by default); a version resolved as the latest Approved is Approved;
* the variant names of the endpoint as deployed (:func:`mlstack.lookups.deployed_variant_names`;
  offline plans take ``deployedVariants``): a rename would make SageMaker skip the rollout
  and rollback settings, so it stops the deployment;
* the instance types the endpoint runs (:func:`mlstack.lookups.deployed_instance_types`; not
  known offline): SageMaker refuses to change the type of an autoscaled variant, so that
  stops the deployment too, with the steps that work.

KServe endpoints get one Kubernetes provider (:mod:`mlstack.program.kubernetes`), only when the
stack has a KServe endpoint. The stack output ``endpoints`` maps each endpoint name to its live
names (:mod:`mlstack.program.exports`; ``mlstack verify`` reads it).
"""

from __future__ import annotations

from typing import Any

import pulumi

from .. import lookups
from ..components import Endpoint, EndpointArgs, InferenceService, InferenceServiceArgs
from ..components.registry import package_arn
from ..engine.declared import declare
from ..errors import ConfigError, Problem
from ..specs.endpoint import LATEST_APPROVED, EndpointSpec, check_deployed_instance_type, check_deployed_variants
from .context import StackContext, entry
from .kubernetes import kubernetes_provider

__all__ = ["endpoints_from_spec", "APPROVAL_REQUIRED", "APPROVAL_STATUS_TAG"]

#: Environments in which a deployment stops rather than serve a version that is not Approved.
APPROVAL_REQUIRED = frozenset({"prod"})
#: The lineage tag recording the registry status verified at deploy time (the policy pack reads it).
APPROVAL_STATUS_TAG = "mlstack:approval-status"
#: The tag value for a pinned version the registry does not have (served only outside APPROVAL_REQUIRED).
NOT_REGISTERED = "NotRegistered"


def _version_from_arn(arn: str) -> int:
    return int(arn.rsplit("/", 1)[1])


def _pinned_status(ctx: StackContext, i: int, endpoint: EndpointSpec, version: int, problems: list[Problem]) -> str:
    """The registry status of the pinned ``version`` of ``endpoint``'s model; a problem when it
    may not be served in this environment."""
    spec = ctx.spec
    group = spec.registry_group(endpoint.model)
    env = spec.environment.value
    try:
        status = lookups.model_package_status(lookups.model_package_arn(group, version, region=ctx.region), region=ctx.region)
    except lookups.NoSuchModelPackage:
        status = NOT_REGISTERED
    if status != lookups.APPROVED and env in APPROVAL_REQUIRED:
        what = "does not exist in the registry" if status == NOT_REGISTERED else f"has the registry status {status!r}"
        offline = "" if lookups.lookups_are_live() else " (offline: deduced from mlstack:models[].approvedVersion; `mlstack plan --lookups aws` asks the registry)"
        problems.append(
            Problem(
                f"mlstack:endpoints[{i}].modelVersion",
                f"endpoint {endpoint.name!r} pins version {version} of model package group {group!r}, which {what}{offline}; "
                f"{env} serves Approved versions only",
                value=version,
                hint=f"approve it with `mlstack promote {pulumi.get_stack()} --model {endpoint.model}`, pin an Approved version, "
                "or serve the latest Approved one (drop modelVersion)" if not endpoint.is_kserve else
                f"approve it with `mlstack promote {pulumi.get_stack()} --model {endpoint.model}` or pin an Approved version",
            )
        )
    return status


def _check_promotion(ctx: StackContext, i: int, endpoint: EndpointSpec, problems: list[Problem]) -> None:
    """A KServe promotion only moves traffic to a version that already runs as the canary: if the
    live InferenceService serves another version or storage URI, promoting would create a new
    revision and give it all the traffic at once, skipping the canary."""
    from ..specs.rollout import KServeRolloutStep

    if endpoint.kserve_rollout_step() is not KServeRolloutStep.PROMOTED or endpoint.kserve is None:
        return
    settings = endpoint.kserve
    namespace = settings.namespace or ctx.spec.team
    config = pulumi.Config("kubernetes")
    from ..ops.kube import KubeError

    try:
        live = lookups.deployed_inference_service(
            namespace, endpoint.name, offline_version=settings.deployed_model_version,
            kubeconfig=config.get("kubeconfig"), context=config.get("context"),
        )
    except KubeError as exc:
        problems.append(Problem(f"mlstack:endpoints[{i}].rollout.promotedVersion",
                                f"cannot read the live InferenceService {namespace}/{endpoint.name} to check that version {endpoint.model_version} "
                                f"ran as a canary before its promotion: {exc}",
                                hint="fix the cluster access (kubernetes:context / kubernetes:kubeconfig) and run again"))
        return
    if live is None:
        return  # a first deployment: there is no older revision to canary against
    want = str(endpoint.model_version)
    if live.model_version != want or (live.storage_uri is not None and live.storage_uri != settings.storage_uri):
        serves = f"version {live.model_version}" if live.model_version else "an unlabelled version"
        if live.storage_uri is not None:
            serves += f" from {live.storage_uri}"
        offline = "" if current_offline_answers_live() else " (offline: from kserve.deployedModelVersion)"
        problems.append(Problem(
            f"mlstack:endpoints[{i}].rollout.promotedVersion",
            f"promoting version {want} of endpoint {endpoint.name!r} would send it all traffic at once: the live InferenceService serves {serves}{offline}, "
            f"so version {want} has not run as a canary",
            value=endpoint.rollout.promoted_version,
            hint=f"deploy version {want} as a canary first (rollout.promotedVersion: {live.model_version or '<the live version>'}), check it with `mlstack verify`, then promote",
        ))


def current_offline_answers_live() -> bool:
    """Whether this run reads the cluster (``pulumi up``) rather than offline answers."""
    return lookups.current_offline_answers() is None


def endpoints_from_spec(ctx: StackContext, team: Any) -> dict[str, Any]:
    """Every endpoint of ``ctx.spec.endpoints`` that this deployment builds, by name, with the
    registries and pipelines of ``team``; the deferred ones go to ``team.deferred_endpoints``."""
    spec = ctx.spec
    problems: list[Problem] = []
    plans: list[tuple[int, EndpointSpec, int | None, tuple[str, ...], str | None]] = []
    deferred: dict[str, dict[str, str]] = {}
    for i, endpoint in enumerate(spec.endpoints):
        pinned = endpoint.model_version if isinstance(endpoint.model_version, int) else None
        from_registry = endpoint.is_kserve or endpoint.serves_registry_version
        status = _pinned_status(ctx, i, endpoint, pinned, problems) if pinned is not None and from_registry else None
        if endpoint.is_kserve:
            _check_promotion(ctx, i, endpoint, problems)
            plans.append((i, endpoint, pinned, (), status))
            continue
        version: int | None = pinned
        deployed = lookups.deployed_variant_names(spec.endpoint_name(endpoint.name), region=ctx.region)
        if endpoint.serves_registry_version and endpoint.model_version == LATEST_APPROVED:
            group = spec.registry_group(endpoint.model)
            try:
                version = _version_from_arn(lookups.latest_approved_model_package(group, region=ctx.region))
                status = lookups.APPROVED
            except lookups.NoApprovedVersion:
                if deployed:
                    # Deferring a live endpoint would make `pulumi up` delete it: stop instead.
                    problems.append(
                        Problem(
                            f"mlstack:endpoints[{i}].modelVersion",
                            f"endpoint {spec.endpoint_name(endpoint.name)!r} is live but model package group {group!r} has no Approved version now "
                            "(rejected or deleted?); a deployment would remove the endpoint",
                            hint="approve a version with `mlstack promote`, or pin modelVersion to the version it serves",
                        )
                    )
                    continue
                deferred[endpoint.name] = {"model": endpoint.model, "modelPackageGroup": group, "waitsFor": "an Approved version"}
                continue
        for text in check_deployed_variants(endpoint, deployed):
            problems.append(Problem(f"mlstack:endpoints[{i}].variantName", text))
        if endpoint.autoscaling is not None:
            types = lookups.deployed_instance_types(spec.endpoint_name(endpoint.name), region=ctx.region)
            for text in check_deployed_instance_type(endpoint, types):
                problems.append(Problem(f"mlstack:endpoints[{i}].instanceType", text))
        plans.append((i, endpoint, version, deployed, status if endpoint.serves_registry_version else None))
    if problems:
        raise ConfigError(problems)

    built: dict[str, Any] = {}
    provider = None
    for i, endpoint, version, deployed, status in plans:
        model = spec.model(endpoint.model)
        dataset = model.dataset
        source = model.source_registry
        extra = {APPROVAL_STATUS_TAG: status} if status else {}
        if source is not None:
            extra["mlstack:source"] = source.registry  # the other account's group the version comes from
        tags = ctx.lineage.tags(
            model=endpoint.model,
            model_version=str(version) if version is not None else None,
            dataset=dataset.uri if dataset else None,
            dataset_version=dataset.version if dataset else None,
            extra=extra or None,
        )
        with entry(f"mlstack:endpoints[{i}]"):
            if endpoint.is_kserve:
                if provider is None:
                    provider = kubernetes_provider()
                namespace = endpoint.kserve.namespace if endpoint.kserve and endpoint.kserve.namespace else spec.team
                built[endpoint.name] = InferenceService(
                    endpoint.name,
                    InferenceServiceArgs(spec=endpoint, namespace=namespace, tags=tags),
                    opts=pulumi.ResourceOptions(provider=provider),
                )
            else:
                # A model of another account's registry: its package ARN and artifacts key come
                # from source; this stack has no ModelRegistry or pipeline for it.
                foreign = {}
                if source is not None:
                    foreign = {
                        "model_package_arn": package_arn(source.registry, version) if version is not None and endpoint.serves_registry_version else None,
                        "shadow_package_arn": package_arn(source.registry, endpoint.shadow.model_version)
                        if endpoint.shadow is not None and endpoint.shadow.model_data_url is None else None,
                        "artifacts_key_arn": source.artifacts_key_arn,
                    }
                built[endpoint.name] = Endpoint(
                    endpoint.name,
                    EndpointArgs(
                        spec=endpoint,
                        endpoint_name=spec.endpoint_name(endpoint.name),
                        registry=team.registries.get(endpoint.model),
                        model_version=version,
                        pipeline=team.pipelines.get(endpoint.model),
                        deployed_variants=list(deployed),
                        tags=tags,
                        **foreign,
                    ),
                    opts=ctx.options(),
                )
        declare(built[endpoint.name], f"mlstack:endpoints[{i}]")
    team.deferred_endpoints = deferred
    for name, why in deferred.items():
        pulumi.log.warn(
            f"endpoint {name!r} is deferred: model package group {why['modelPackageGroup']!r} has no Approved version yet. "
            f"Run the {why['model']!r} pipeline, approve a version with `mlstack promote {pulumi.get_stack()} --model {why['model']}`, "
            "then run `pulumi up` again to create the endpoint"
        )
    return built
