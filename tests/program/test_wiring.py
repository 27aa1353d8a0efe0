"""The YAML -> components wiring (mlstack.program): components take objects, and a component that
refuses an argument on the YAML path is reported at the stack-file entry it was built from."""

from __future__ import annotations

import json

import pytest

from mlstack.components import (
    ComponentError,
    FeatureStore,
    FeatureStoreArgs,
    ModelRegistry,
    ModelRegistryArgs,
    TrainingPipelineArgs,
)
from mlstack.engine import run_program
from mlstack.errors import ConfigError
from mlstack.lookups import OfflineAnswers
from mlstack.program.context import entry
from mlstack.specs.features import FeatureGroupSpec
from mlstack.specs.training import TrainingSpec

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-{}:1"
TRAINING = {
    "preprocess": {"image": IMAGE.format("prep")},
    "train": {"image": IMAGE.format("train"), "instanceType": "ml.m5.xlarge"},
    "evaluation": {"image": IMAGE.format("eval"), "metrics": ["accuracy"]},
    "inference": {"image": IMAGE.format("serve")},
    "featureGroup": "customers",
}
GROUP = {"name": "orders", "recordIdentifier": "id", "eventTime": "t", "features": [{"name": "id", "type": "String"}, {"name": "t", "type": "String"}]}


def test_a_component_refusing_an_argument_is_reported_at_its_stack_file_entry():
    with pytest.raises(ConfigError) as refused:
        with entry("mlstack:endpoints[2]"):
            raise ComponentError("Endpoint", "spec.rollout", "a canary needs at least 2 instances (got 1)", "raise instance_count", name="scoring")
    [problem] = refused.value.problems
    assert (problem.path, problem.hint) == ("mlstack:endpoints[2]", "raise instance_count")
    assert problem.message == "Endpoint 'scoring': argument spec.rollout: a canary needs at least 2 instances (got 1)"


def _pipeline_args(store_groups):
    caught = []

    def program() -> None:
        registry = ModelRegistry("churn-xgb", ModelRegistryArgs(group_name="churn-churn-xgb"))
        store = None
        if store_groups is not None:
            store = FeatureStore("fs", FeatureStoreArgs(name_prefix="churn", groups=[FeatureGroupSpec.model_validate({**GROUP, "name": g}) for g in store_groups]))
        try:
            caught.append(TrainingPipelineArgs(model="churn-xgb", training=TrainingSpec.model_validate(TRAINING), registry=registry, feature_store=store))
        except ComponentError as exc:
            caught.append(exc)

    run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers())
    return caught[0]


@pytest.mark.parametrize(
    "groups, message",
    [
        (None, "model 'churn-xgb' trains on feature group 'customers': pass the FeatureStore that holds it"),
        (["orders"], "has no feature group 'customers' (it has orders)"),
    ],
)
def test_a_pipeline_on_a_feature_group_takes_the_feature_store_that_holds_it(groups, message):
    refused = _pipeline_args(groups)
    assert isinstance(refused, ComponentError)
    assert (refused.component, refused.argument, refused.message) == ("TrainingPipeline", "feature_store", message)
    assert isinstance(_pipeline_args(["customers"]), TrainingPipelineArgs)


def test_the_pipeline_reads_the_feature_groups_offline_store_from_the_store_object(plan):
    graph = plan("churn-dev")
    [pipeline] = graph.by_type("aws:sagemaker/pipeline:Pipeline")[:1]
    [store_bucket] = [r for r in graph.by_type("aws:s3/bucket:Bucket") if r.name == "feature-store-offline"]
    policy = next(r for r in graph.by_type("aws:iam/rolePolicy:RolePolicy") if r.name == "churn-xgb-training-role-policy")
    sids = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert sids["ReadOfflineStoreObjects"]["Resource"].startswith("arn:aws:s3:::feature-store-offline")
    parameters = {p["Name"]: p.get("DefaultValue") for p in json.loads(pipeline.inputs["pipelineDefinition"])["Parameters"]}
    assert parameters["DatasetVersion"] == "feature-group:customers"
    assert store_bucket.parent.endswith("::feature-store")
