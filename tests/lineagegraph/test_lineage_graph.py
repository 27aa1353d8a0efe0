"""`mlstack lineage` offline: the graph the plan wires, and its renderings (Mermaid, dot, JSON,
OpenLineage events validated against OpenLineage's own schema)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from mlstack.lineagegraph import LineageGraph, from_plan, render

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "openlineage" / "OpenLineage.json"


@pytest.fixture(scope="module")
def churn_prod():
    from conftest import ROOT
    from mlstack.config import load_stack
    from mlstack.engine import plan_stack

    stack = load_stack(ROOT / "stacks" / "Pulumi.churn-prod.yaml")
    return from_plan(stack, plan_stack("churn-prod", cwd=ROOT))


def edges(graph: LineageGraph) -> set[tuple[str, str, str, bool]]:
    return {(e.source, e.target, e.relation, e.dashed) for e in graph.edges}


def test_churn_prod_runs_from_data_to_endpoint_and_back_to_the_pipeline(churn_prod):
    assert edges(churn_prod) == {
        ("dataset:s3://example-churn-data/features/v3/", "pipeline:churn-churn-xgb-training", "trains on", False),
        ("pipeline:churn-churn-xgb-training", "registry:churn-churn-xgb", "registers versions", False),
        ("registry:churn-churn-xgb", "endpoint:scoring", "serves v7", False),
        ("endpoint:scoring", "monitor:scoring", "captured data and metrics", False),
        ("monitor:scoring", "pipeline:churn-churn-xgb-training", "retrains on alarm", True),
    }
    assert churn_prod.nodes["endpoint:scoring"].attributes["endpointConfig"].startswith("scoring-config-")
    assert churn_prod.nodes["registry:churn-churn-xgb"].attributes["modelCard"] is True
    assert churn_prod.nodes["dataset:s3://example-churn-data/features/v3/"].attributes["version"] == "2026-11-01"
    assert "featureGroup:customers" in churn_prod.nodes


def test_mermaid_of_churn_prod(churn_prod):
    text = render(churn_prod, "mermaid")
    assert text.startswith("flowchart LR\n")
    assert '[["training pipeline churn-churn-xgb-training"]]' in text
    ids = {n.id: f"n{i}" for i, n in enumerate(churn_prod.nodes.values())}
    assert f"  {ids['monitor:scoring']} -.->|retrains on alarm| {ids['pipeline:churn-churn-xgb-training']}" in text
    assert f"  {ids['registry:churn-churn-xgb']} -->|serves v7| {ids['endpoint:scoring']}" in text


def test_dot_and_json_carry_the_same_edges(churn_prod):
    dot = render(churn_prod, "dot")
    assert dot.startswith('digraph "churn-prod" {') and dot.count(" -> ") == len(churn_prod.edges)
    assert "style=dashed" in dot
    data = json.loads(render(churn_prod, "json"))
    assert {(e["from"], e["to"], e["relation"], e["dashed"]) for e in data["edges"]} == edges(churn_prod)
    assert data["live"] is False


def test_openlineage_events_follow_the_openlineage_schema(churn_prod):
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)
    events = json.loads(render(churn_prod, "openlineage", now=dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)))
    assert [e["job"]["name"] for e in events] == ["churn-churn-xgb-training", "scoring", "scoring"]
    for event in events:
        assert list(validator.iter_errors(event)) == []
        assert event["eventTime"] == "2026-11-28T00:00:00.000000Z"
    pipeline = events[0]
    assert {"namespace": "s3://example-churn-data", "name": "features/v3/"}.items() <= pipeline["inputs"][0].items()
    assert pipeline["inputs"][0]["facets"]["version"]["datasetVersion"] == "2026-11-01"
    # the retraining edge: the monitor's output is an input of the pipeline
    monitor = events[2]
    assert monitor["outputs"][0]["name"] in {i["name"] for i in pipeline["inputs"]}


def test_the_schema_check_is_not_vacuous():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors({"eventTime": "2026-11-28T00:00:00Z", "producer": "urn:x", "schemaURL": "urn:y", "job": {"name": "x"}}))


def test_labels_cannot_break_out_of_mermaid_or_dot():
    graph = LineageGraph(stack="s")
    a = graph.add("dataset", "x", 'dataset "]; click n0 call evil() %% <b>|')
    b = graph.add("pipeline", "p", "pipeline p")
    graph.link(a, b, 'trains|on"')
    mermaid = render(graph, "mermaid")
    assert '"]; click' not in mermaid and "#quot;" in mermaid and "<b>" not in mermaid
    assert "|trains#124;on#quot;|" in mermaid
    dot = render(graph, "dot")
    assert 'label="dataset \\"]; click' in dot


def test_deferred_endpoints_are_drawn_as_waiting(plan, write_stack):
    from mlstack.config import load_stack

    path = write_stack({
        "mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "approvedVersion": "none"}],
        "mlstack:endpoints": [{
            "name": "scoring", "model": "churn-xgb", "instanceType": "ml.m5.large",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn@sha256:" + "a" * 64,
            "artifactsUri": "s3://example-models/churn/",
        }],
    })
    graph = from_plan(load_stack(path), plan(path))
    assert graph.nodes["endpoint:scoring"].attributes["deferred"] is True
    assert ("registry:churn-churn-xgb", "endpoint:scoring", "waits for an Approved version", False) in edges(graph)
    assert ("dataset:s3://example-data/", "registry:churn-churn-xgb", "recorded dataset", False) in edges(graph)


def test_cli_writes_the_graph_and_refuses_bad_input(cli, tmp_path):
    target = tmp_path / "lineage.mmd"
    code, _, err = cli("lineage", "vision-prod", "--format", "mermaid", "-o", str(target))
    assert code == 0 and "wrote the lineage graph of vision-prod" in err
    assert "-->|serves v4|" in target.read_text()
    code, _, err = cli("lineage", "no-such-stack")
    assert code == 2 and "Traceback" not in err
    code, _, err = cli("lineage", "vision-prod", "--format", "png")
    assert code == 2 and "invalid choice: 'png'" in err
