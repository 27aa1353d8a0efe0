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


# --- hostile answers: a scripted registry whose one Approved version is changed one way ---------

GROUP = "churn-churn-xgb"
ACCOUNT = "123456789012"
T0 = 1_793_000_000.0
V1 = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/1"


def world(change=None):
    described = {
        "ModelPackageArn": V1, "ModelPackageGroupName": GROUP, "ModelPackageVersion": 1, "CreationTime": T0,
        "ModelPackageStatus": "Completed", "ModelApprovalStatus": "Approved", "CustomerMetadataProperties": metadata("2026-11-01", "bbbb222"),
    }
    replies = {
        "SageMaker.DescribeModelPackageGroup": {
            "ModelPackageGroupName": GROUP, "ModelPackageGroupArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/{GROUP}",
            "CreationTime": T0, "CreatedBy": {}, "ModelPackageGroupStatus": "Completed",
        },
        "SageMaker.ListModelPackages": {"ModelPackageSummaryList": [{k: described[k] for k in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus")}]},
        "SageMaker.DescribeModelPackage": described,
        "SageMaker.DescribeEndpoint": {"EndpointName": "churn-scoring", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-scoring", "EndpointConfigName": "scoring-config-1", "EndpointStatus": "InService", "CreationTime": T0, "LastModifiedTime": T0},
        "SageMaker.DescribeEndpointConfig": {"EndpointConfigName": "scoring-config-1", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/scoring-config-1", "CreationTime": T0,
                                              "ProductionVariants": [{"VariantName": "primary", "ModelName": "scoring-model-1"}]},
        "SageMaker.DescribeModel": {"ModelName": "scoring-model-1", "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/scoring-model-1", "CreationTime": T0, "PrimaryContainer": {"ModelPackageName": V1}},
    }
    if change:
        change(replies)
    return lambda request: (200, replies[request.target]) if request.target in replies else (400, {"__type": "ValidationException", "message": "unexpected"})


def test_the_scripted_world_is_drawn(aws, canned_aws, cli, stack, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", canned_aws(world()).url)
    code, out, err = cli("lineage", str(stack), "--live", "--format", "json")
    assert code == 0, err
    edges = {(e["from"], e["to"]) for e in json.loads(out)["edges"]}
    assert ("version:churn-churn-xgb/1", "endpoint:scoring") in edges


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda r: r["SageMaker.DescribeModelPackage"].update(CustomerMetadataProperties=["not", "a", "map"]), "DescribeModelPackage"),
        (lambda r: r["SageMaker.DescribeModelPackage"]["CustomerMetadataProperties"].update({"mlstack:git-commit": "x" * 5000}), "mlstack:git-commit of"),
        (lambda r: r["SageMaker.DescribeEndpointConfig"].update(ProductionVariants=[]), "answered no production variants"),
        (lambda r: r["SageMaker.DescribeEndpoint"].pop("EndpointConfigName"), "EndpointConfigName"),
        (lambda r: r["SageMaker.DescribeModelPackage"].update(ModelPackageGroupName="another-group"), "another"),
    ],
    ids=["metadata-a-list", "commit-too-long", "no-variants", "no-endpoint-config", "package-of-another-group"],
)
def test_a_hostile_answer_stops_live_lineage(aws, canned_aws, cli, stack, monkeypatch, change, says):
    monkeypatch.setenv("AWS_ENDPOINT_URL", canned_aws(world(change)).url)
    code, out, err = cli("lineage", str(stack), "--live", "--max-attempts", "1")
    assert code == 1, (out, err)
    assert says in err and "Traceback" not in err
    assert out == ""


def test_card_live_shows_the_card_the_registry_holds_and_refuses_a_broken_one(aws, canned_aws, cli, ops_stack, monkeypatch):
    card = {"owner": "a@example.com", "intendedUses": "b", "outOfScopeUses": "c", "riskRating": "Low", "ethicalConsiderations": "d", "caveats": "e"}
    path = ops_stack(**{"mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "card": card}]})
    written = {"intended_uses": {"intended_uses": "as promote wrote it", "risk_rating": "High"}, "evaluation_details": [{"name": "mlstack promote v1"}]}
    good = world(lambda r: r["SageMaker.DescribeModelPackage"].update(ModelCard={"ModelCardContent": json.dumps(written), "ModelCardStatus": "PendingReview"}))
    monkeypatch.setenv("AWS_ENDPOINT_URL", canned_aws(good).url)
    code, out, err = cli("card", str(path), "--model", "churn-xgb", "--live", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["content"], data["cardStatus"], data["version"]) == (written, "PendingReview", 1)
    assert data["source"] == f"registry: {V1}"

    broken = world(lambda r: r["SageMaker.DescribeModelPackage"].update(ModelCard={"ModelCardContent": json.dumps({"intended_uses": {"risk_rating": "Tiny"}})}))
    monkeypatch.setenv("AWS_ENDPOINT_URL", canned_aws(broken).url)
    code, out, err = cli("card", str(path), "--model", "churn-xgb", "--live")
    assert code == 1 and "breaks SageMaker's model card schema" in err and out == ""


def test_live_openlineage_events_follow_the_openlineage_schema(aws, canned_aws, cli, stack, monkeypatch):
    from pathlib import Path

    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).resolve().parent.parent / "data" / "openlineage" / "OpenLineage.json").read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    monkeypatch.setenv("AWS_ENDPOINT_URL", canned_aws(world()).url)
    code, out, err = cli("lineage", str(stack), "--live", "--format", "openlineage")
    assert code == 0, err
    events = json.loads(out)
    assert events and all(list(validator.iter_errors(e)) == [] for e in events)
    endpoint = next(e for e in events if e["job"]["name"] == "scoring")
    assert ("mlstack://version", "churn-churn-xgb/1") in {(i["namespace"], i["name"]) for i in endpoint["inputs"]}
