"""InferenceService: one endpoint of ``mlstack:endpoints`` served by KServe on Kubernetes.

A ``serving.kserve.io/v1beta1`` InferenceService, declared as a Kubernetes CustomResource.
The Kubernetes provider comes in through ``opts`` (the stack program makes one from the
standard ``kubernetes:*`` config keys); this component never creates one.

What the shared spec becomes:

* ``rollout: {type: CANARY, size: {value: 10}}`` -> the ``serving.kserve.io/deploymentMode:
  Serverless`` annotation canaries need (revisions are a Knative feature; newer KServe calls the
  mode Knative and accepts both names) and, by the step the stack declares
  (:meth:`~mlstack.specs.endpoint.EndpointSpec.kserve_rollout_step`, recorded as the label
  ``mlstack.dev/rollout-step``):

  - ``canary`` -> ``predictor.canaryTrafficPercent: 10``: the latest ready revision (modelVersion)
    gets 10%, the last rolled-out revision (``rollout.promotedVersion``) 90%;
  - ``promoted`` (``promotedVersion`` = ``modelVersion``) -> no ``canaryTrafficPercent``: all
    traffic to the latest ready revision, which KServe then records as rolled out (KServe's
    canary guide: "remove the canaryTrafficPercent field" to promote);
  - ``rolled-back`` (``rollout.rollback: true``) -> ``canaryTrafficPercent: 0``: all traffic
    back to the last rolled-out revision (KServe's guide: set it to 0 to roll back).

  KServe itself neither bakes nor decides: ``mlstack verify`` reads where the rollout stands and
  the Prometheus alerts of ``mlstack:monitors`` say whether to promote. Nor does ``pulumi up``
  wait for the new revision: pulumi-kubernetes awaits a custom resource only with a
  ``pulumi.com/waitFor`` annotation or ``PULUMI_K8S_AWAIT_ALL=true`` (its ``ReadyCondition``),
  so no deploy-time bound applies, unlike SageMaker endpoints.
* ``gpus: 1`` -> ``nvidia.com/gpu: 1`` in the model container's requests and limits, and, unless
  ``kserve.tolerations`` says otherwise, a toleration of the ``nvidia.com/gpu`` taint GPU nodes
  carry; ``instanceType: g5.xlarge`` -> node selector ``node.kubernetes.io/instance-type``.
* ``autoscaling`` -> ``minReplicas``/``maxReplicas`` and ``scaleMetric: rps`` with
  ``scaleTarget`` = targetInvocationsPerInstance / 60 (SageMaker counts per minute, KServe per
  second); without it, ``instanceCount`` replicas.
* lineage -> labels ``mlstack.dev/team``, ``/environment``, ``/stack``, ``/model``,
  ``/model-version`` and the annotation ``mlstack.dev/git-commit``.

Kubernetes does not type-check CustomResources and silently prunes fields its schema does not
declare, so every generated object is validated against KServe's own CRD schema
(``data/inferenceservice-v1beta1.schema.json``), strictly: an undeclared field is an error.

Public contract: ``service_name``, ``namespace``, ``is_gpu``, ``spec``, ``model_name``, ``kubernetes_provider``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import pulumi
from pydantic import ConfigDict, Field

from ...errors import ConfigError
from ...specs.endpoint import EndpointSpec
from ...specs.kserve import LABEL_VALUE, PROMOTED_VERSION_LABEL, ROLLOUT_STEP_LABEL
from ...specs.rollout import RolloutType
from ..base import ArgumentProblem, Component, ComponentArgs, ComponentError
from ..crd import CrdSchema

__all__ = ["InferenceService", "InferenceServiceArgs", "inference_service", "validate_inference_service", "lineage_labels", "SCHEMA_PATH"]

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "inferenceservice-v1beta1.schema.json"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
GPU_RESOURCE = "nvidia.com/gpu"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
LABEL_PREFIX = "mlstack.dev/"


class InferenceServiceArgs(ComponentArgs):
    """Inputs of :class:`InferenceService`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: EndpointSpec
    """The endpoint as declared in mlstack:endpoints (backend kserve)."""
    namespace: str
    """The namespace it runs in (kserve.namespace, else the team's name)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Lineage tags; the mlstack:* ones become mlstack.dev/* labels (the commit an annotation)."""


class InferenceService(Component, token="mlstack:index:InferenceService"):
    """A KServe InferenceService for one model, with canary rollout and GPUs from the spec.

    Example::

        provider = kubernetes.Provider("gpu-cluster", context="vision-gpu-prod")
        service = InferenceService("defects", InferenceServiceArgs(
            spec=EndpointSpec(name="defects", model="defect-detector", backend="kserve", gpus=1,
                              instance_type="g5.2xlarge", instance_count=2,
                              rollout={"type": "CANARY", "size": {"value": 10}},
                              kserve={"modelFormat": {"name": "pytorch"},
                                      "storageUri": "s3://vision-models/defect-detector/4/"}),
            namespace="vision",
            tags=lineage.tags(model="defect-detector", model_version="4"),
        ), opts=pulumi.ResourceOptions(provider=provider))
    """

    service_name: str
    namespace: str
    is_gpu: bool
    spec: EndpointSpec
    model_name: str

    def __init__(self, name: str, args: InferenceServiceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        spec = args.spec
        if not spec.is_kserve:
            raise ComponentError.bad("spec.backend", f"endpoint {spec.name!r} has backend sagemaker", fix="build it with mlstack.components.Endpoint")
        document = inference_service(spec, namespace=args.namespace, tags=args.tags)
        try:
            validate_inference_service(document)  # before anything is registered
        except ConfigError as exc:
            raise ComponentError.of([ArgumentProblem("spec", p.render()) for p in exc.problems]) from None
        super().__init__(name, opts)
        self.spec = spec
        self.model_name = spec.model
        self.service_name = spec.name
        self.namespace = args.namespace
        self.is_gpu = spec.is_gpu
        self.manifest = document
        # The provider the service was created with: its alerts (PrometheusAlerts) go to the same cluster.
        self.kubernetes_provider = opts.provider if opts is not None else None
        from pulumi_kubernetes.apiextensions import CustomResource

        self.resource = CustomResource(
            f"{name}-isvc",
            api_version=API_VERSION,
            kind=KIND,
            metadata=document["metadata"],
            spec=document["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"service_name": self.service_name, "namespace": self.namespace})


def lineage_labels(tags: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of a Kubernetes object from lineage tags: ``mlstack:x`` becomes
    ``mlstack.dev/x``, a label where the value fits one, else an annotation."""
    labels = {"app.kubernetes.io/managed-by": "mlstack"}
    annotations = {}
    for key, value in tags.items():
        if not key.startswith("mlstack:"):
            continue
        name = LABEL_PREFIX + key[len("mlstack:") :]
        if key != "mlstack:git-commit" and len(value) <= 63 and LABEL_VALUE.match(value):
            labels[name] = value
        else:
            annotations[name] = value  # URIs and commits do not fit a label value (characters, length)
    return labels, annotations


def inference_service(spec: EndpointSpec, *, namespace: str, tags: dict[str, str]) -> dict[str, Any]:
    """The InferenceService object (apiVersion, kind, metadata, spec) for ``spec``."""
    settings = spec.kserve
    assert settings is not None
    labels, annotations = lineage_labels(tags)
    rollout = spec.rollout
    canary = rollout.type is RolloutType.CANARY
    mode = settings.deployment_mode or ("Serverless" if canary else None)
    if mode:
        annotations[DEPLOYMENT_MODE] = mode

    model: dict[str, Any] = {"modelFormat": {"name": settings.model_format.name}, "storageUri": settings.storage_uri}
    if settings.model_format.version:
        model["modelFormat"]["version"] = settings.model_format.version
    if settings.runtime:
        model["runtime"] = settings.runtime
    if settings.protocol_version:
        model["protocolVersion"] = settings.protocol_version
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if settings.cpu:
        requests["cpu"] = settings.cpu
    if settings.memory:
        requests["memory"] = limits["memory"] = settings.memory
    if spec.gpus:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = spec.gpus
    if requests or limits:
        model["resources"] = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}

    predictor: dict[str, Any] = {"model": model}
    scaling = spec.autoscaling
    if scaling is not None:
        predictor["minReplicas"] = scaling.min_capacity
        predictor["maxReplicas"] = scaling.max_capacity
        predictor["scaleMetric"] = "rps"
        predictor["scaleTarget"] = max(1, math.ceil(scaling.target_invocations_per_instance / 60))
    else:
        predictor["minReplicas"] = predictor["maxReplicas"] = spec.instance_count
    step = spec.kserve_rollout_step()
    percent = spec.kserve_canary_percent()
    if percent is not None:
        predictor["canaryTrafficPercent"] = percent
    if step is not None:
        labels[ROLLOUT_STEP_LABEL] = step.value
        if rollout.promoted_version is not None:
            labels[PROMOTED_VERSION_LABEL] = str(rollout.promoted_version)
    node_selector = dict(settings.node_selector)
    if spec.instance_type:
        node_selector.setdefault(INSTANCE_TYPE_LABEL, spec.instance_type)
    if node_selector:
        predictor["nodeSelector"] = node_selector
    tolerations = settings.tolerations
    if tolerations is not None:
        if tolerations:
            predictor["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in tolerations]
    elif spec.gpus:
        predictor["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    if settings.service_account_name:
        predictor["serviceAccountName"] = settings.service_account_name
    if settings.logger_url:
        predictor["logger"] = {"mode": "all", "url": settings.logger_url}

    metadata: dict[str, Any] = {"name": spec.name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"predictor": predictor}}


SCHEMA = CrdSchema(SCHEMA_PATH, kind=KIND, source="KServe's schema")
"""KServe's InferenceService CRD schema (``data/README.md`` says where it comes from), applied strictly."""


def validate_inference_service(document: dict[str, Any]) -> None:
    """Check an InferenceService against KServe's CRD schema, treating fields the schema does
    not declare as errors (the API server would prune them silently). Raises ConfigError."""
    SCHEMA.validate(document)
