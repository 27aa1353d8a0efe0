"""Lineage graphs: where a served prediction comes from (``mlstack lineage``).

Offline (:func:`from_plan`): dataset and feature group -> training pipeline -> model registry
-> endpoint (the version it serves) -> monitor -> the retraining edge back to the pipeline, as
the stack's plan wires them. Live (:func:`mlstack.lineagegraph.live.add_live`): the Approved
versions with the dataset version, git commit, pipeline execution, training job and MLflow run
their registration recorded, and which endpoint config serves which version. Rendered as
Mermaid, Graphviz dot, JSON or OpenLineage JobEvents (:func:`render`).

Named ``lineagegraph`` because :mod:`mlstack.lineage` already holds the lineage *tags* every
resource carries; this package reads them.
"""

from .graph import FORMATS, Edge, LineageGraph, Node, render
from .offline import from_plan

__all__ = ["FORMATS", "Edge", "LineageGraph", "Node", "render", "from_plan"]
