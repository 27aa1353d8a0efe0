"""The lineage graph of a stack and its renderings: Mermaid, Graphviz dot, JSON and OpenLineage.

Nodes are what a served prediction comes from — datasets and feature groups, the training
pipeline, the model package group and its Approved versions, the endpoint (and the endpoint
config serving a version), the monitor and the MLflow tracking server; edges say how one feeds
the next, including the retraining edge from a monitor back to its pipeline.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["Node", "Edge", "LineageGraph", "FORMATS", "render", "PRODUCER", "OPENLINEAGE_SCHEMA_URL"]

FORMATS = ("mermaid", "dot", "json", "openlineage")

#: OpenLineage ``producer``: who wrote the events.
PRODUCER = "urn:mlstack:lineagegraph"
#: The OpenLineage spec version the events follow (its ``$id``).
OPENLINEAGE_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"

#: Kinds of node, and how Mermaid and dot draw them.
_MERMAID_SHAPES = {
    "dataset": ('[("', '")]'),
    "featureGroup": ('[("', '")]'),
    "source": ('[("', '")]'),
    "pipeline": ('[["', '"]]'),
    "registry": ('[/"', '"/]'),
    "version": ('("', '")'),
    "endpoint": ('{{"', '"}}'),
    "monitor": ('>"', '"]'),
    "tracking": ('[("', '")]'),
}
_DOT_SHAPES = {
    "dataset": "cylinder",
    "featureGroup": "cylinder",
    "source": "cylinder",
    "pipeline": "box3d",
    "registry": "folder",
    "version": "note",
    "endpoint": "hexagon",
    "monitor": "cds",
    "tracking": "cylinder",
}


@dataclass
class Node:
    """One thing in the lineage: ``id`` is ``<kind>:<name>``."""

    id: str
    kind: str
    label: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Edge:
    """``source`` feeds ``target``; ``relation`` says how (``trains``, ``registers``, ``serves``...)."""

    source: str
    target: str
    relation: str
    dashed: bool = False
    """Drawn dashed: an edge that runs on an event (drift starts a retraining)."""


@dataclass
class LineageGraph:
    """Nodes and edges of one stack's lineage (see :func:`mlstack.lineagegraph.from_plan`)."""

    stack: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    live: bool = False
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, name: str, label: str, **attributes: Any) -> str:
        node_id = f"{kind}:{name}"
        node = self.nodes.get(node_id)
        if node is None:
            self.nodes[node_id] = Node(node_id, kind, label, {k: v for k, v in attributes.items() if v is not None})
        else:
            node.attributes.update({k: v for k, v in attributes.items() if v is not None})
        return node_id

    def link(self, source: str, target: str, relation: str, *, dashed: bool = False) -> None:
        edge = Edge(source, target, relation, dashed)
        if edge not in self.edges:
            self.edges.append(edge)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "live": self.live,
            "nodes": [{"id": n.id, "kind": n.kind, "label": n.label, "attributes": n.attributes} for n in self.nodes.values()],
            "edges": [{"from": e.source, "to": e.target, "relation": e.relation, "dashed": e.dashed} for e in self.edges],
            "notes": self.notes,
        }


def _ids(graph: LineageGraph) -> dict[str, str]:
    # Renderers get short, safe identifiers; labels carry the names.
    return {node_id: f"n{i}" for i, node_id in enumerate(graph.nodes)}


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid label: quotes and angle brackets as entity codes; no line breaks.
    text = re.sub(r"\s+", " ", text)
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mermaid(graph: LineageGraph) -> str:
    ids = _ids(graph)
    lines = ["flowchart LR"]
    for node in graph.nodes.values():
        left, right = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
        lines.append(f"  {ids[node.id]}{left}{_mermaid_text(node.label)}{right}")
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        lines.append(f"  {ids[edge.source]} {arrow}|{_mermaid_text(edge.relation).replace('|', '#124;')}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("\\", "\\\\").replace('"', '\\"')


def _dot(graph: LineageGraph) -> str:
    ids = _ids(graph)
    lines = [f'digraph "{_dot_text(graph.stack)}" {{', "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in graph.nodes.values():
        lines.append(f'  {ids[node.id]} [shape={_DOT_SHAPES.get(node.kind, "box")}, label="{_dot_text(node.label)}"];')
    for edge in graph.edges:
        style = ", style=dashed" if edge.dashed else ""
        lines.append(f'  {ids[edge.source]} -> {ids[edge.target]} [label="{_dot_text(edge.relation)}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- OpenLineage ------------------------------------------------------------------------------
#
# Static lineage as OpenLineage JobEvents (spec 2-0-2, $defs/JobEvent: a job with its input and
# output datasets, no run). Jobs are the nodes that transform: pipelines, endpoints, monitors;
# the others are datasets. A node that is both (a registry version feeding an endpoint) is a
# dataset. The retraining edge monitor -> pipeline becomes the monitor's output "retraining
# trigger" dataset, which is an input of the pipeline.

_JOB_KINDS = ("pipeline", "endpoint", "monitor")


def _dataset_name(node: Node) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a dataset node: S3 URIs as OpenLineage names them
    (namespace ``s3://bucket``, name the key), anything else under ``mlstack://<stack>/<kind>``."""
    uri = node.attributes.get("uri")
    if isinstance(uri, str) and uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        return f"s3://{bucket}", key or "/"
    return f"mlstack://{node.kind}", node.id.split(":", 1)[1]


def _openlineage(graph: LineageGraph, *, now: Optional[_dt.datetime] = None) -> list[dict[str, Any]]:
    when = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    namespace = f"mlstack://{graph.stack}"
    events = []

    def dataset(node_id: str) -> dict[str, Any]:
        node = graph.nodes[node_id]
        ns, name = _dataset_name(node)
        facets: dict[str, Any] = {
            "documentation": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet", "description": node.label}
        }
        version = node.attributes.get("version")
        if version is not None:
            facets["version"] = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet", "datasetVersion": str(version)}
        return {"namespace": ns, "name": name, "facets": facets}

    trigger_of: dict[str, str] = {}
    for edge in graph.edges:
        if graph.nodes[edge.source].kind == "monitor" and graph.nodes[edge.target].kind == "pipeline":
            trigger_of.setdefault(edge.source, f"dataset:retraining trigger of {graph.nodes[edge.source].label}")
    for node in graph.nodes.values():
        if node.kind not in _JOB_KINDS:
            continue
        inputs = [dataset(e.source) for e in graph.edges if e.target == node.id and graph.nodes[e.source].kind not in _JOB_KINDS]
        outputs = [dataset(e.target) for e in graph.edges if e.source == node.id and graph.nodes[e.target].kind not in _JOB_KINDS]
        # job -> job edges pass through a dataset standing for the hand-over
        for edge in graph.edges:
            if edge.source == node.id and graph.nodes[edge.target].kind in _JOB_KINDS:
                outputs.append({"namespace": namespace, "name": f"{edge.relation}: {node.label} -> {graph.nodes[edge.target].label}"})
            if edge.target == node.id and graph.nodes[edge.source].kind in _JOB_KINDS:
                inputs.append({"namespace": namespace, "name": f"{edge.relation}: {graph.nodes[edge.source].label} -> {node.label}"})
        job_facets: dict[str, Any] = {
            "documentation": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DocumentationJobFacet.json#/$defs/DocumentationJobFacet", "description": node.label},
            "jobType": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet", "processingType": "BATCH" if node.kind != "endpoint" else "STREAMING", "integration": "MLSTACK", "jobType": node.kind.upper()},
        }
        events.append(
            {
                "eventTime": when,
                "producer": PRODUCER,
                "schemaURL": OPENLINEAGE_SCHEMA_URL,
                "job": {"namespace": namespace, "name": node.id.split(":", 1)[1], "facets": job_facets},
                "inputs": inputs,
                "outputs": outputs,
            }
        )
    return events


def render(graph: LineageGraph, fmt: str, *, now: Optional[_dt.datetime] = None) -> str:
    """``graph`` as ``mermaid``, ``dot``, ``json`` or ``openlineage`` (a JSON array of JobEvents)."""
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "dot":
        return _dot(graph)
    if fmt == "json":
        return json.dumps(graph.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "openlineage":
        return json.dumps(_openlineage(graph, now=now), indent=2, sort_keys=True) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")

