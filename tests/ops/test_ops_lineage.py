"""`mlstack lineage --live` against the AWS test endpoint (moto): Approved versions with the
lineage their registration recorded, and the endpoint config that serves each."""

from __future__ import annotations

import json

import pytest

from mlstack.config import load_stack
from mlstack.lineagegraph import LineageGraph
from mlstack.lineagegraph.live import add_live

ROLE = "arn:aws:iam::123456789012:role/churn-endpoint"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "a" * 64
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-churn-xgb-training/execution/abc123def456"


def metadata(version: str, commit: str) -> dict[str, str]:
    return {
        "mlstack:model": "churn-xgb",
        "mlstack:dataset": "s3://example-churn-data/features/",
        "mlstack:dataset-version": version,
        "mlstack:git-commit": commit,
        "mlstack:pipeline-execution": EXECUTION,
        "mlstack:training-job": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-train-1",
        "mlstack:mlflow-run-id": "0f1e2d3c4b5a",
    }


@pytest.fixture
def stack(ops_stack):
    endpoint = {"name": "scoring", "model": "churn-xgb", "instanceType": "ml.m5.large", "image": IMAGE, "artifactsUri": "s3://example-models/churn/"}
    return ops_stack(**{"mlstack:endpoints": [endpoint]})


def serve(session, arn: str, config: str = "scoring-config-1") -> None:
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(ModelName="scoring-model-1", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn})
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[{"VariantName": "primary", "ModelName": "scoring-model-1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )
    sagemaker.create_endpoint(EndpointName="churn-scoring", EndpointConfigName=config)


def test_live_lineage_draws_approved_versions_and_what_the_endpoint_serves(aws, registry, aws_session, stack):
    registry.group()
    v1 = registry.version(status="Approved", metadata=metadata("2026-10-01", "aaaa111"))
    v2 = registry.version(status="Approved", metadata=metadata("2026-11-01", "bbbb222"))
    registry.version(metadata=metadata("2026-11-20", "cccc333"))  # pending: not drawn
    serve(aws_session, v1)
    graph = LineageGraph(stack="churn-dev")

    add_live(graph, aws, load_stack(stack))

    assert {"version:churn-churn-xgb/1", "version:churn-churn-xgb/2"} <= set(graph.nodes)
    assert "version:churn-churn-xgb/3" not in graph.nodes
    v2_node = graph.nodes["version:churn-churn-xgb/2"].attributes
    assert (v2_node["datasetVersion"], v2_node["gitCommit"], v2_node["mlflowRunId"], v2_node["arn"]) == ("2026-11-01", "bbbb222", "0f1e2d3c4b5a", v2)
    assert v2_node["trainingJob"].endswith("training-job/churn-xgb-train-1")
    links = {(e.source, e.target, e.relation) for e in graph.edges}
    assert ("version:churn-churn-xgb/1", "endpoint:scoring", "config scoring-config-1, variant primary") in links
    assert ("pipeline:churn-churn-xgb-training", "version:churn-churn-xgb/2", "execution abc123def456") in links
    assert ("registry:churn-churn-xgb", "version:churn-churn-xgb/2", "Approved") in links
    assert graph.nodes["endpoint:scoring"].attributes["liveEndpointConfig"] == "scoring-config-1"


def test_an_endpoint_serving_a_version_that_is_not_approved_shows_its_status(aws, registry, aws_session, stack):
    registry.group()
    pending = registry.version(metadata=metadata("2026-11-20", "cccc333"))
    serve(aws_session, pending)
    graph = LineageGraph(stack="churn-dev")

    add_live(graph, aws, load_stack(stack))

    node = graph.nodes["version:churn-churn-xgb/1"]
    assert node.label == "churn-churn-xgb v1 (PendingManualApproval)"
    assert any("has no Approved version yet" in n for n in graph.notes)


def test_nothing_deployed_is_said_not_drawn(aws, stack):
    graph = LineageGraph(stack="churn-dev")
    add_live(graph, aws, load_stack(stack))
    assert not any(n.kind == "version" for n in graph.nodes.values())
    assert any("does not exist" in n for n in graph.notes)
    assert graph.nodes["endpoint:scoring"].attributes["liveStatus"] == "not deployed"


def test_cli_live_json(aws, cli, registry, stack):
    registry.group()
    registry.version(status="Approved", metadata=metadata("2026-11-01", "bbbb222"))
    code, out, err = cli("lineage", str(stack), "--live", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["live"] is True
    assert any(n["id"] == "version:churn-churn-xgb/1" for n in data["nodes"])


def test_an_unreadable_answer_stops_the_command(aws, canned_aws, cli, stack, monkeypatch):
    server = canned_aws(lambda request: (200, {"ModelPackageGroupName": "churn-churn-xgb"}))
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    code, out, err = cli("lineage", str(stack), "--live", "--max-attempts", "1")
    assert code == 1
    assert "DescribeModelPackageGroup" in err and "Traceback" not in err
    assert out == ""
