"""The facts and declarations the policies read: local instance storage, and a model's declared
external training source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.errors import ConfigError
from mlstack.policy import has_local_storage

ROOT = Path(__file__).resolve().parents[2]


def test_instance_storage_data_is_what_the_script_generates():
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_instance_storage", ROOT / "scripts" / "update_instance_storage.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    generated = json.dumps(script.build(), indent=2, sort_keys=True) + "\n"
    assert (ROOT / "mlstack" / "catalog" / "instance_storage.json").read_text() == generated


@pytest.mark.parametrize(
    "instance_type, local",
    [("ml.g5.xlarge", True), ("ml.p4d.24xlarge", True), ("ml.m5d.large", True), ("ml.p3dn.24xlarge", True),
     ("ml.m5.xlarge", False), ("ml.inf2.xlarge", False), ("ml.p3.2xlarge", False), ("g5.2xlarge", True)],
)
def test_local_nvme_storage_facts(instance_type, local):
    assert has_local_storage(instance_type) is local


def test_declared_source_is_tagged_on_the_models_registry(plan, write_stack):
    models = [{"name": "churn-xgb", "source": "s3://partner-models/churn/"}]
    graph = plan(write_stack({"mlstack:models": models}))
    (group,) = graph.by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert group.inputs["tags"]["mlstack:source"] == "s3://partner-models/churn/"


def test_a_model_is_trained_here_or_declares_a_source_not_both(plan, write_stack):
    training = {
        "preprocess": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/p:1"},
        "train": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/t:1", "instanceType": "ml.m5.xlarge"},
        "evaluation": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/e:1", "metrics": ["auc"]},
        "inference": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s:1"},
    }
    models = [{"name": "churn-xgb", "source": "s3://partner-models/churn/", "training": training}]
    with pytest.raises(ConfigError) as info:
        plan(write_stack({"mlstack:models": models}))
    assert "source declares an external training source but training is set too" in info.value.render()
