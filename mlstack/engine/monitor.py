"""A mock resource monitor that records every registration as the engine would see it."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import empty_pb2
from pulumi import asset as pulumi_asset
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from ..progress import COUNTS

from .cloud import OfflineCloud
from .records import ResourceRecord

__all__ = ["ResourceRecord", "RecordingMonitor", "STACK_TYPE", "normalize"]

STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_PLACEHOLDER = "[secret]"


def normalize(value: Any) -> Any:
    """Make recorded values plain JSON: integral floats back to ints, secrets hidden,
    resource references as their URN."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET_PLACEHOLDER
        if sig == rpc._special_resource_sig:
            return value.get("urn")
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if value == rpc.UNKNOWN:
        return None
    if isinstance(value, (pulumi_asset.Asset, pulumi_asset.Archive)):
        return _asset_json(value)
    if hasattr(value, "urn") and hasattr(value, "_name"):  # a deserialised resource reference
        return None
    return value


def _asset_json(value: Any) -> dict[str, Any]:
    """Assets and archives (e.g. a Lambda's code) as plain JSON, the way the engine shows them."""
    if isinstance(value, pulumi_asset.AssetArchive):
        return {"assets": {name: normalize(item) for name, item in value.assets.items()}}
    for attribute in ("text", "path", "uri"):
        if isinstance(getattr(value, attribute, None), str):
            return {attribute: getattr(value, attribute)}
    return {"asset": type(value).__name__}


class RecordingMonitor(MockMonitor):
    """Records URN (engine form), type, name, parent, dependencies, inputs and alias URNs of
    every registration, and the root stack's outputs.

    Aliases: the monitor says it does not support alias specs, so the Python SDK computes each
    alias's URN itself (``pulumi.runtime.resource.prepare_aliases`` -> ``all_aliases``, from the
    parent's URN as this monitor made it) and sends them as ``aliasURNs``: the URNs the engine
    derives from the same specs (``stepGenerator.collapseAliasToUrn`` in pulumi/pulumi
    pkg/resource/deploy/step_generator.go).
    """

    def __init__(self, cloud: OfflineCloud) -> None:
        super().__init__(cloud)
        self.cloud = cloud
        self.records: list[ResourceRecord] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        # Transforms are recorded, never run: the engine would run them before registering a
        # resource, and the mock monitor has no faithful way to (see TRANSFORM_SOURCES).
        self.stack_transforms = 0
        self.invoke_transforms = 0
        self._transformed: set[str] = set()
        COUNTS["registered"] = 0

    def GetDeploymentInfo(self, request):
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def SupportsFeature(self, request):
        if request.id == "aliasSpecs":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root stack's type out of its children's qualified types.
        if parent and parent != self.stack_urn:
            parent_type = parent.split("::")[2]
            type_ = f"{parent_type}${type_}"
        from pulumi.runtime.settings import get_project, get_stack

        return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

    def RegisterResource(self, request):
        if request.type == STACK_TYPE:
            urn = "urn:pulumi:" + "::".join(
                [_stack(), _project(), STACK_TYPE, request.name]
            )
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        raw_inputs = rpc.deserialize_properties(request.object)
        inputs = normalize(raw_inputs)
        parent = request.parent or None
        transforms = []
        if len(request.transforms):
            transforms.append("resource")
        if parent and parent in self._transformed:
            transforms.append("parent")
        if self.stack_transforms:
            transforms.append("stack")
        if "resource" in transforms or "parent" in transforms:
            self._transformed.add(urn)  # the engine runs a resource's transforms on its children too
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=None if parent == self.stack_urn else parent,
                dependencies=sorted(set(request.dependencies)),
                custom=bool(request.custom),
                inputs=inputs,
                provider=request.provider or None,
                property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
                custom_timeouts=_custom_timeouts(request),
                transforms=transforms,
                aliases=sorted(set(request.aliasURNs)),
            )
        )
        COUNTS["registered"] += 1  # read by the progress line (mlstack.progress), never written there
        resource_id, state = self.cloud.outputs(request.type, request.name, urn, raw_inputs, bool(request.custom))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        obj = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj)

    def RegisterStackTransform(self, request):
        self.stack_transforms += 1
        return super().RegisterStackTransform(request)

    def RegisterStackInvokeTransform(self, request):
        self.invoke_transforms += 1
        return super().RegisterStackInvokeTransform(request)

    def RegisterResourceOutputs(self, request):
        if request.urn and request.urn == self.stack_urn:
            self.stack_outputs = normalize(rpc.deserialize_properties(request.outputs))
        return empty_pb2.Empty()


def _custom_timeouts(request) -> dict[str, str]:
    if not request.HasField("customTimeouts"):
        return {}
    timeouts = request.customTimeouts
    return {op: getattr(timeouts, op) for op in ("create", "update", "delete", "read") if getattr(timeouts, op)}


def _stack() -> str:
    from pulumi.runtime.settings import get_stack

    return get_stack()


def _project() -> str:
    from pulumi.runtime.settings import get_project

    return get_project()
