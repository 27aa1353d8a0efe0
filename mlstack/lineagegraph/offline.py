"""The lineage graph of a stack from its offline plan (no AWS): what ``pulumi up`` would wire.

Read from the plan, not from the stack file alone: the names are those the program registers
(pipeline, group, endpoint and config names), an endpoint serves the version the plan resolved
(``endpoints.<name>.modelVersion``), endpoints the plan defers are marked so, and the retraining
edge is drawn from the EventBridge target the Monitor really registered (its pipeline ARN).
The stack file adds what connects them (a model's dataset and feature group, the endpoint's
model, the monitored endpoint).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .graph import LineageGraph

__all__ = ["from_plan"]

EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
MODEL_CARD = "aws:sagemaker/modelCard:ModelCard"
TRACKING_SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"


def _descendants(plan: Any, urn: str) -> list[Any]:
    found, frontier = [], [urn]
    while frontier:
        parent = frontier.pop()
        for record in plan.children(parent):
            found.append(record)
            frontier.append(record.urn)
    return found


def _entries(plan: Any, prefix: str) -> dict[int, str]:
    """Component URNs declared at ``prefix[i]`` (``mlstack:endpoints``), by index ``i``."""
    found: dict[int, str] = {}
    for urn, entry in plan.declared_at.items():
        if entry.startswith(prefix + "[") and entry.endswith("]") and entry.count("[") == 1:
            found[int(entry[len(prefix) + 1 : -1])] = urn
    return found


def _dataset(graph: LineageGraph, uri: str, version: Optional[str]) -> str:
    label = uri if not version else f"{uri} @ {version}"
    return graph.add("dataset", uri, f"dataset {label}", uri=uri, version=version)


def from_plan(stack: Any, plan: Any) -> LineageGraph:
    """The lineage of ``stack`` (a :class:`~mlstack.config.StackFile`) as ``plan`` (its offline
    :class:`~mlstack.engine.Plan`) registers it."""
    spec = stack.spec
    outputs: Mapping[str, Any] = plan.outputs or {}
    graph = LineageGraph(stack=stack.stack)
    registries = outputs.get("registries") or {}
    pipelines = outputs.get("pipelines") or {}
    endpoints = outputs.get("endpoints") or {}
    deferred = outputs.get("deferredEndpoints") or {}

    tracking: Optional[str] = None
    for record in plan.by_type(TRACKING_SERVER):
        name = record.inputs.get("trackingServerName", record.name)
        tracking = graph.add("tracking", str(name), f"MLflow tracking server {name}", size=record.inputs.get("trackingServerSize"))

    groups = {g.name: g for g in spec.feature_groups}
    for name in groups:
        full = ((outputs.get("featureGroups") or {}).get(name) or {}).get("featureGroupName") or f"{spec.team}-{name}"
        graph.add("featureGroup", name, f"feature group {full}")

    model_urns = _entries(plan, "mlstack:models")
    pipeline_nodes: dict[str, str] = {}
    registry_nodes: dict[str, str] = {}
    for i, model in enumerate(spec.models):
        group = (registries.get(model.name) or {}).get("groupName") or spec.group_name(model.name)
        carded = any(r.type == MODEL_CARD for r in _descendants(plan, model_urns[i])) if i in model_urns else False
        registry = registry_nodes[model.name] = graph.add(
            "registry", group, f"model registry {group}", model=model.name, approvalMode=(registries.get(model.name) or {}).get("approvalMode"), modelCard=carded or None
        )
        dataset = model.dataset
        training = model.training
        if training is not None and model.name in pipelines:
            name = pipelines[model.name]["pipelineName"]
            pipeline = pipeline_nodes[model.name] = graph.add("pipeline", name, f"training pipeline {name}", model=model.name, schedule=training.schedule)
            if training.feature_group:
                graph.link(f"featureGroup:{training.feature_group}", pipeline, "offline store")
            else:
                uri = training.input or (dataset.uri if dataset else None)
                if uri:
                    graph.link(_dataset(graph, uri, dataset.version if dataset and not training.input else None), pipeline, "trains on")
            graph.link(pipeline, registry, "registers versions")
            if tracking:
                graph.link(pipeline, tracking, "logs runs")
        elif model.source:
            graph.link(graph.add("source", model.source, f"trained elsewhere: {model.source}", uri=model.source), registry, "registers versions")
        elif dataset:
            graph.link(_dataset(graph, dataset.uri, dataset.version), registry, "recorded dataset")

    endpoint_nodes: dict[str, str] = {}
    endpoint_urns = _entries(plan, "mlstack:endpoints")
    for index, endpoint in enumerate(spec.endpoints):
        out = endpoints.get(endpoint.name) or {}
        registry = registry_nodes.get(endpoint.model)
        if endpoint.name in deferred:
            node = graph.add("endpoint", endpoint.name, f"endpoint {spec.endpoint_name(endpoint.name)} (deferred: no Approved version yet)", deferred=True)
            if registry:
                graph.link(registry, node, "waits for an Approved version")
        elif out.get("backend") == "kserve":
            labels = next(
                (r.inputs.get("metadata", {}).get("labels") or {} for r in _descendants(plan, endpoint_urns.get(index, "")) if r.type.endswith(":InferenceService")),
                {},
            )
            version = labels.get("mlstack.dev/model-version")
            node = graph.add("endpoint", endpoint.name, f"KServe InferenceService {out.get('namespace')}/{out.get('serviceName')}", backend="kserve", modelVersion=version)
            if registry:
                graph.link(registry, node, f"serves v{version}" if version else _served(endpoint))
        else:
            config = out.get("endpointConfigName")
            version = out.get("modelVersion")
            label = f"endpoint {out.get('endpointName') or spec.endpoint_name(endpoint.name)}" + (f" (config {config})" if config else "")
            node = graph.add("endpoint", endpoint.name, label, endpointConfig=config, modelVersion=version, backend="sagemaker")
            if registry:
                graph.link(registry, node, f"serves v{version}" if version is not None else _served(endpoint))
        endpoint_nodes[endpoint.name] = node

    monitor_urns = _entries(plan, "mlstack:monitors")
    by_arn = {str(p.get("arn")): pipeline_nodes.get(m) for m, p in pipelines.items()}
    for i, monitor in enumerate(spec.monitors):
        endpoint_node = endpoint_nodes.get(monitor.endpoint)
        if endpoint_node is None or graph.nodes[endpoint_node].attributes.get("deferred"):
            continue
        node = graph.add("monitor", monitor.endpoint, f"monitor of {graph.nodes[endpoint_node].label.split(' (')[0]}")
        graph.link(endpoint_node, node, "captured data and metrics")
        for record in _descendants(plan, monitor_urns[i]) if i in monitor_urns else []:
            # Retraining starts the pipeline through the monitor's cooldown state machine (an
            # EventBridge target whose ARN is the state machine's); an older plan targets the
            # pipeline directly.
            if record.type == STATE_MACHINE:
                from ..capacity import pipelines_started_by

                started = pipelines_started_by(record.inputs.get("definition"))
                target = next((by_arn[arn] for arn in started if by_arn.get(arn)), None)
            elif record.type == EVENT_TARGET:
                target = by_arn.get(str(record.inputs.get("arn")))
            else:
                continue
            if target:
                graph.link(node, target, "retrains on alarm", dashed=True)
    return graph


def _served(endpoint: Any) -> str:
    version = getattr(endpoint, "model_version", None)
    return f"serves {version}" if version is not None else "serves"
