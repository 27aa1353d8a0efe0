"""``mlstack:endpoints[].kserve``: what a KServe InferenceService needs beyond the shared endpoint spec.

Example (a stack file)::

    mlstack:endpoints:
      - name: defects
        model: defect-detector
        backend: kserve
        gpus: 1
        kserve:
          modelFormat: {name: pytorch}
          storageUri: s3://vision-models/defect-detector/4/
          namespace: vision
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints, field_validator

from .base import Spec

__all__ = ["ModelFormatSpec", "TolerationSpec", "KServeSpec", "LABEL_VALUE", "Quantity", "DnsLabel", "ROLLOUT_STEP_LABEL", "PROMOTED_VERSION_LABEL"]

_QUANTITY = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
"""A Kubernetes label value (at most 63 characters besides)."""
_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


#: Labels of an InferenceService recording its rollout step and the version serving the rest of the
#: traffic (written by the InferenceService component, read by ``mlstack verify`` and the policy pack).
ROLLOUT_STEP_LABEL = "mlstack.dev/rollout-step"
PROMOTED_VERSION_LABEL = "mlstack.dev/promoted-version"

Quantity = Annotated[str, StringConstraints(pattern=_QUANTITY)]
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=_DNS_LABEL)]



class ModelFormatSpec(Spec):
    """The model's format; KServe picks the serving runtime from it."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    """sklearn, xgboost, pytorch, tensorflow, onnx, triton, huggingface, ..."""
    version: Optional[str] = None
    """The format's version, e.g. 2 for torchserve's v2."""


class TolerationSpec(Spec):
    """A Kubernetes toleration, e.g. of the taint GPU nodes carry."""

    key: Optional[str] = None
    """The taint key, e.g. nvidia.com/gpu (empty with operator Exists: every taint)."""
    operator: Literal["Exists", "Equal"] = "Exists"
    """Exists (default) or Equal."""
    value: Optional[str] = None
    """The taint value, with operator Equal."""
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = None
    """The taint effect to tolerate (empty: all)."""
    toleration_seconds: Optional[int] = Field(default=None, ge=0)
    """With NoExecute: how long the pod stays after the taint appears."""


class KServeSpec(Spec):
    """What a KServe InferenceService needs beyond the shared spec."""

    namespace: Optional[DnsLabel] = None
    """The Kubernetes namespace (default: the team's name); mlstack does not create it."""
    model_format: ModelFormatSpec
    """The model's format, e.g. {name: pytorch}."""
    storage_uri: Annotated[str, StringConstraints(pattern=r"^(s3|gs|pvc|hf|oci|https)://\S+$")]
    """Where the model is: s3://, gs://, pvc://, hf://, oci:// or https://."""
    runtime: Optional[DnsLabel] = None
    """A ServingRuntime by name (default: KServe picks one for the model format)."""
    protocol_version: Optional[Literal["v1", "v2", "grpc-v1", "grpc-v2"]] = None
    """The inference protocol (default: the runtime's)."""
    deployment_mode: Optional[Literal["Serverless", "Knative", "RawDeployment", "Standard"]] = None
    """Serverless/Knative (revisions, needed for canary; the default with CANARY) or RawDeployment/Standard (the cluster default otherwise)."""
    service_account_name: Optional[DnsLabel] = None
    """The service account the predictor runs as (e.g. one with IAM access to the storage URI)."""
    cpu: Optional[Quantity] = None
    """CPU requested per replica, e.g. "4"."""
    memory: Optional[Quantity] = None
    """Memory requested (and the limit) per replica, e.g. 16Gi."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels replicas must run on (instanceType adds node.kubernetes.io/instance-type)."""
    tolerations: Optional[list[TolerationSpec]] = None
    """Taints replicas tolerate (default with GPUs: nvidia.com/gpu, NoSchedule)."""
    logger_url: Optional[Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]] = None
    """Where KServe's payload logger sends requests and responses (KServe's counterpart of data capture)."""
    deployed_model_version: Optional[Annotated[int, Field(gt=0)]] = None
    """The model version offline plans assume the live InferenceService serves (default: not deployed yet); `pulumi up` reads it from the cluster instead. A promotion (rollout.promotedVersion = modelVersion) is refused unless that version already runs, as a canary."""

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}={v}" for k, v in value.items() if not _LABEL_NAME.match(k) or len(v) > 63 or not LABEL_VALUE.match(v)]
        if bad:
            raise ValueError(f"not valid Kubernetes labels: {', '.join(bad)}")
        return value


