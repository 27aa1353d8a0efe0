"""mlstack.specs: every mlstack:* key's model in one layer that imports no Pulumi, and the shared
types and cross-object rules written once (ECR image, KMS key ARN, local instance storage,
feature group names)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from conftest import ROOT

HEAVY = ("pulumi", "pulumi_aws", "pulumi_kubernetes", "sagemaker")
DIGEST = "sha256:" + "ab" * 32
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_spec_module_imports_without_pulumi_sagemaker_or_components():
    found = _run(
        "import importlib, json, pkgutil, sys\n"
        "import mlstack.specs as specs\n"
        "names = sorted(m.name for m in pkgutil.iter_modules(specs.__path__))\n"
        "for name in names:\n"
        "    importlib.import_module('mlstack.specs.' + name)\n"
        "from mlstack.specs import StackSpec, EndpointSpec, MonitorSpec, TrainingSpec, GateSpec\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith('mlstack.components')]\n"
        "print(json.dumps({'modules': names, 'heavy': heavy, 'stack': StackSpec.__module__}))\n"
    )
    assert found["modules"] == [
        "audit", "base", "budget", "card", "endpoint", "features", "gates", "kserve", "monitor", "quality", "registry", "rollout", "slo", "stack", "tracking", "training", "waivers",
    ]  # fmt: skip
    assert found["stack"] == "mlstack.specs.stack"
    assert found["heavy"] == []


def test_validating_a_stack_file_imports_no_pulumi_aws():
    found = _run(
        "import json, sys\n"
        "from mlstack.config import load_stack\n"
        "stack = load_stack('churn-prod')\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {HEAVY!r}}})\n"
        "print(json.dumps({'endpoints': [e.name for e in stack.spec.endpoints], 'training': [m.training is not None for m in stack.spec.models], 'heavy': heavy}))\n"
    )
    assert found["endpoints"] and any(found["training"])  # the stack exercises every spec module
    assert found["heavy"] == []


# --- one ECR image grammar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri, parts",
    [
        (f"{REGISTRY}/churn/serve:1.4", ("churn/serve", "1.4", None)),
        (f"{REGISTRY}/churn-serve@{DIGEST}", ("churn-serve", None, DIGEST)),
        ("468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer", ("sagemaker-model-monitor-analyzer", None, None)),
        (f"{REGISTRY}/team__a/model--x.v2:latest", ("team__a/model--x.v2", "latest", None)),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/churn:1", ("churn", "1", None)),
        (f"{REGISTRY}/churn:1@{DIGEST}", None),  # SageMaker takes a tag or a digest, not both
        (f"{REGISTRY}/Churn:1", None),
        (f"{REGISTRY}/churn_-x:1", None),
        ("docker.io/library/python:3.12", None),
    ],
)
def test_ecr_images_are_parsed_by_one_grammar(uri, parts):
    from mlstack.specs.base import parse_ecr_image

    ref = parse_ecr_image(uri)
    assert (None if ref is None else (ref.repository, ref.tag, ref.digest)) == parts


def test_ecr_repository_names_follow_ecrs_own_pattern():
    import botocore.session

    from mlstack.specs.base import parse_ecr_image

    pattern = botocore.session.get_session().get_service_model("ecr").shape_for("RepositoryName").metadata["pattern"]
    names = ["churn", "churn-serve", "a--b", "a__b", "a___b", "a.b_c", "team/model", "a-", "-a", "a_-b", "a//b", "A"]
    assert {n: parse_ecr_image(f"{REGISTRY}/{n}:1") is not None for n in names} == {n: re.fullmatch(pattern, n) is not None for n in names}


def test_repository_arn_is_in_the_partition_given():
    from mlstack.specs.base import parse_ecr_image

    ref = parse_ecr_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/churn/serve:1")
    assert ref.repository_arn("aws-cn") == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/churn/serve"


def test_training_and_endpoint_images_are_refused_with_the_same_message():
    from mlstack.specs.endpoint import EndpointSpec
    from mlstack.specs.training import TrainSpec

    bad = f"{REGISTRY}/Churn:1"
    with pytest.raises(ValidationError) as train:
        TrainSpec(image=bad, instance_type="ml.m5.xlarge")
    with pytest.raises(ValidationError) as serve:
        EndpointSpec(name="scoring", model="churn", image=bad, instance_type="ml.m5.large")
    messages = {e["msg"] for e in [*train.value.errors(), *serve.value.errors()] if e["loc"][-1] == "image"}
    assert len(messages) == 1 and "is not an ECR image URI" in messages.pop()


def test_a_drift_image_in_ecr_must_be_one_its_role_can_be_scoped_to():
    from mlstack.specs.monitor import DriftSpec

    drift = {"features": ["tenure"], "baselineUri": "s3://churn-data/baseline.csv"}
    assert DriftSpec.model_validate({**drift, "image": "ghcr.io/example/mlstack:1.0"}).image == "ghcr.io/example/mlstack:1.0"
    with pytest.raises(ValidationError, match="is not an ECR image URI"):
        DriftSpec.model_validate({**drift, "image": f"{REGISTRY}/mlstack:1.0@{DIGEST}"})


def _schema_patterns(schema: dict, key: str) -> list[str]:
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for name, value in node.items():
                if name == key and isinstance(value, dict):
                    options = value.get("anyOf", [value])
                    found.extend(o["pattern"] for o in options if "pattern" in o)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_every_kms_key_arn_and_ecr_image_in_the_schema_has_the_one_pattern():
    from mlstack.schema import stack_config_schema
    from mlstack.specs.base import ECR_IMAGE_PATTERN, ECR_IMAGE_SCHEMA_PATTERN, KMS_KEY_ARN_PATTERN

    schema = stack_config_schema()
    kms = _schema_patterns(schema, "kmsKeyArn")
    images = [p for p in _schema_patterns(schema, "image") if "dkr" in p]
    assert len(kms) >= 3 and set(kms) == {KMS_KEY_ARN_PATTERN}  # training, endpoint, notifications
    assert len(images) >= 6 and set(images) == {ECR_IMAGE_SCHEMA_PATTERN}  # four training steps, endpoint, shadow
    # The schema's form (no Python-only named groups) accepts exactly what the validator does.
    assert "(?P<" not in ECR_IMAGE_SCHEMA_PATTERN
    samples = [f"{REGISTRY}/churn:1", f"{REGISTRY}/a--b@{DIGEST}", f"{REGISTRY}/churn:1@{DIGEST}", f"{REGISTRY}/Churn", "x"]
    assert [bool(re.match(ECR_IMAGE_SCHEMA_PATTERN, s)) for s in samples] == [bool(re.match(ECR_IMAGE_PATTERN, s)) for s in samples]


# --- instance facts live once, in the catalog ------------------------------------------------------


def test_the_policy_pack_and_the_components_read_one_local_storage_fact():
    from mlstack import catalog, policy
    from mlstack.components.training import definition  # noqa: F401 - imports the same function lazily

    assert policy.has_local_storage is catalog.has_local_storage
    assert catalog.has_local_storage("ml.g5.xlarge") and catalog.has_local_storage("g5.xlarge")
    assert not catalog.has_local_storage("ml.m5.large")


# --- feature group names: one rule on both paths ---------------------------------------------------


def test_feature_group_names_are_judged_alike_in_a_stack_file_and_in_python(write_stack):
    from mlstack.components import ComponentError, FeatureStoreArgs
    from mlstack.config import load_stack
    from mlstack.errors import ConfigError
    from mlstack.specs.features import FeatureGroupSpec

    group = {
        "name": "g" * 32, "recordIdentifier": "id", "eventTime": "t",
        "features": [{"name": "id", "type": "String"}, {"name": "t", "type": "String"}],
    }  # fmt: skip
    with pytest.raises(ConfigError) as yaml_path:
        load_stack(write_stack({"mlstack:team": "t" * 32, "mlstack:featureGroups": [group, group]}))
    from_yaml = sorted(p.message for p in yaml_path.value.problems if p.path.startswith("mlstack:featureGroups"))
    with pytest.raises(ComponentError) as python_path:
        FeatureStoreArgs(name_prefix="t" * 32, groups=[FeatureGroupSpec.model_validate(group)] * 2)
    from_python = sorted(p.message for p in python_path.value.problems)
    assert len(from_yaml) == 3 and any("over 64 characters" in m for m in from_yaml)  # too long twice, declared twice once
    assert from_python == from_yaml  # the same problems, nothing else
    assert {p.argument for p in python_path.value.problems} == {"groups[0].name", "groups[1].name"}
