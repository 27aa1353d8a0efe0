"""mlstack:tracking: a SageMaker managed MLflow tracking server; pipelines get its ARN, their
role may log to it (only it), and registered versions record the MLflow run id."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
SERVER_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/churn-mlflow"


def dev_config() -> dict:
    return copy.deepcopy(yaml.safe_load((ROOT / "stacks" / "Pulumi.churn-dev.yaml").read_text())["config"])


def write(tmp: Path, config: dict) -> Path:
    path = tmp / "Pulumi.churn-dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    from mlstack.engine import plan_stack

    config = dev_config()
    config["mlstack:tracking"] = {"size": "Medium", "mlflowVersion": "2.16.2", "maintenanceWindow": "Sun:03:00"}
    config["mlstack:models"][0]["training"]["networkIsolation"] = False
    path = write(tmp_path_factory.mktemp("tracked"), config)
    graph = plan_stack(path, cwd=ROOT)
    graph.stack_path = path  # for the lineage test
    return graph


def one(graph, type_, name=None):
    found = [r for r in graph.by_type(type_) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in graph.by_type(type_)]
    return found[0]


def test_creates_the_server_with_its_own_encrypted_bucket_and_a_scoped_role(tracked):
    server = one(tracked, SERVER)
    inputs = server.inputs
    assert (inputs["trackingServerName"], inputs["trackingServerSize"], inputs["mlflowVersion"]) == ("churn-mlflow", "Medium", "2.16.2")
    assert inputs["weeklyMaintenanceWindowStart"] == "Sun:03:00"
    assert inputs["automaticModelRegistration"] is False
    one(tracked, "aws:s3/bucket:Bucket", "mlflow-artifacts")
    bucket = inputs["artifactStoreUri"].removeprefix("s3://").removesuffix("/mlflow/")
    assert bucket.startswith("mlflow-artifacts-") and "/" not in bucket
    encryption = one(tracked, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "mlflow-artifacts-encryption")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    policy = json.loads(one(tracked, "aws:iam/rolePolicy:RolePolicy", "mlflow-role-policy").inputs["policy"])
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources["ReadWriteArtifacts"] == f"arn:aws:s3:::{bucket}/mlflow/*"
    assert all("*" not in r or r.endswith("/mlflow/*") for r in resources.values())
    assert server.parent.endswith("mlstack:index:ExperimentTracking::mlflow")
    trust = json.loads(one(tracked, "aws:iam/role:Role", "mlflow-role").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_pipeline_gets_the_server_arn_and_may_log_to_it_only(tracked):
    policy = json.loads(one(tracked, "aws:iam/rolePolicy:RolePolicy", "churn-xgb-training-role-policy").inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == "LogToTrackingServer"]
    assert statement["Resource"] == SERVER_ARN
    definition = json.loads(one(tracked, "aws:sagemaker/pipeline:Pipeline", "churn-xgb-training-pipeline").inputs["pipelineDefinition"])
    steps = {s["Name"]: s for s in definition["Steps"]}
    train = steps["Train"]["Arguments"]
    assert train["Environment"]["MLFLOW_TRACKING_URI"] == SERVER_ARN
    assert train["Environment"]["MLFLOW_TRACKING_ARN"] == SERVER_ARN
    register = json.dumps(definition)
    assert '"mlstack:mlflow-run-id"' in register and '"Path": "mlflow.run_id"' in register


def test_without_tracking_nothing_changes(plan):
    graph = plan("churn-dev")
    assert graph.by_type(SERVER) == []
    definition = one(graph, "aws:sagemaker/pipeline:Pipeline", "churn-xgb-training-pipeline").inputs["pipelineDefinition"]
    assert "MLFLOW_TRACKING_URI" not in definition and "mlflow-run-id" not in definition


@pytest.mark.parametrize(
    "change, needle",
    [
        ({}, "mlstack:models[0].training.networkIsolation: model 'churn-xgb' trains network-isolated (the default), so its training job cannot reach"),
        ({"env": True}, "mlstack:models[0].training.train.environment.MLFLOW_TRACKING_URI: is set by mlstack:tracking"),
        ({"tracking": {"size": "Huge"}}, "mlstack:tracking.size: Input should be 'Small', 'Medium' or 'Large'"),
        ({"tracking": {"maintenanceWindow": "Sunday 3am"}}, "mlstack:tracking.maintenanceWindow"),
    ],
)
def test_bad_tracking_is_refused_at_its_key(cli, tmp_path, change, needle):
    config = dev_config()
    config["mlstack:tracking"] = change.get("tracking", {})
    if change:
        config["mlstack:models"][0]["training"]["networkIsolation"] = False
    if change.get("env"):
        config["mlstack:models"][0]["training"]["train"]["environment"] = {"MLFLOW_TRACKING_URI": "http://elsewhere"}
    code, _, err = cli("plan", str(write(tmp_path, config)))
    assert code == 2
    assert needle in err


def test_lineage_shows_the_pipeline_logging_to_the_server(tracked):
    from mlstack.config import load_stack
    from mlstack.lineagegraph import from_plan

    graph = from_plan(load_stack(tracked.stack_path), tracked)
    assert ("pipeline:churn-churn-xgb-training", "tracking:churn-mlflow", "logs runs") in {(e.source, e.target, e.relation) for e in graph.edges}
    assert ("featureGroup:customers", "pipeline:churn-churn-xgb-training", "offline store") in {(e.source, e.target, e.relation) for e in graph.edges}
