"""TrainingPipeline: the generated SageMaker definition (steps, instance types, gate conditions,
registration), its IAM scope, triggers, and the errors bad training config gets.

The bundled stacks are planned once per module (the sagemaker SDK costs seconds to import);
assertions parse the definition JSON from the recorded Pipeline inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from conftest import BASELINE, ROOT
from mlstack.components.training.lambdas.last_approved import last_approved_metrics
from mlstack.config import load_stack
from mlstack.engine import plan_stack
from mlstack.errors import ConfigError

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
COMPONENT = "mlstack:index:TrainingPipeline"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def prod():
    return plan_stack("churn-prod", cwd=ROOT)


@pytest.fixture(scope="module")
def dev():
    return plan_stack("churn-dev", cwd=ROOT)


def definition(graph) -> dict[str, Any]:
    pipeline = named(graph, PIPELINE, "-training-pipeline")
    return json.loads(pipeline.inputs["pipelineDefinition"])


def steps(graph) -> dict[str, dict[str, Any]]:
    """Every step by name, the condition step's branches included."""
    out = {}
    for step in definition(graph)["Steps"]:
        out[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                out[inner["Name"]] = inner
    return out


def named(graph, type_: str, suffix: str):
    matches = [r for r in graph.by_type(type_) if r.name.endswith(suffix)]
    assert len(matches) == 1, [r.name for r in graph.by_type(type_)]
    return matches[0]


def pipeline_key_arn(graph) -> str:
    encryption = named(graph, ENCRYPTION, "training-artifacts-encryption")
    return encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]


def prod_training():
    return load_stack("churn-prod", cwd=ROOT).spec.model("churn-xgb").training


def gate_of(condition: dict[str, Any]) -> tuple[str, str, Any]:
    """A condition back as (metric, op, threshold): the inverse of what the pipeline generates."""
    ops = {"GreaterThanOrEqualTo": ">=", "GreaterThan": ">", "LessThanOrEqualTo": "<=", "LessThan": "<", "Equals": "=="}
    if condition["Type"] == "Or":
        first, second = condition["Conditions"]
        assert first == {"Type": "Equals", "LeftValue": {"Get": "Steps.LastApprovedMetrics.OutputParameters['found']"}, "RightValue": False}
        metric, op, bound = gate_of(second)
        assert bound["Get"].startswith("Steps.LastApprovedMetrics.OutputParameters['bound_")
        return metric, op, "last-approved"
    left = condition["LeftValue"]["Std:JsonGet"]
    assert left["PropertyFile"] == {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}
    metric = left["Path"].removeprefix("metrics.").removesuffix(".value")
    return metric, ops[condition["Type"]], condition["RightValue"]


# --- steps and instance types ------------------------------------------------------------------


def test_prod_pipeline_runs_lookup_preprocess_train_evaluate_then_gates(prod):
    top = [(s["Name"], s["Type"]) for s in definition(prod)["Steps"]]
    assert top == [
        ("LastApprovedMetrics", "Lambda"),
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("CheckGates", "Condition"),
    ]
    gates = steps(prod)["CheckGates"]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in gates["IfSteps"]] == [("Register", "RegisterModel")]
    assert [(s["Name"], s["Type"]) for s in gates["ElseSteps"]] == [("GateFailed", "Fail")]


def test_data_flows_from_preprocess_splits_through_training_to_evaluation(prod):
    s = steps(prod)
    pre = s["Preprocess"]["Arguments"]
    assert pre["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {"Get": "Parameters.InputDataUri"}
    assert [o["OutputName"] for o in pre["ProcessingOutputConfig"]["Outputs"]] == ["train", "validation", "test"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in s["Train"]["Arguments"]["InputDataConfig"]}
    assert channels == {
        split: {"Get": f"Steps.Preprocess.ProcessingOutputConfig.Outputs['{split}'].S3Output.S3Uri"} for split in ("train", "validation")
    }
    evaluation = {i["InputName"]: i["S3Input"]["S3Uri"] for i in s["Evaluate"]["Arguments"]["ProcessingInputs"]}
    assert evaluation == {
        "model": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        "test": {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
    }
    assert s["Evaluate"]["PropertyFiles"] == [{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}]
    parameters = {p["Name"]: p["DefaultValue"] for p in definition(prod)["Parameters"]}
    assert parameters == {"InputDataUri": "s3://example-churn-data/features/v3/", "DatasetVersion": "2026-11-01"}


def test_prod_trains_distributed_on_gpu_spot_with_checkpoints_limits_and_encryption(prod):
    train = steps(prod)["Train"]["Arguments"]
    key = pipeline_key_arn(prod)
    assert key.startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    # g5 volumes are local NVMe, encrypted by the hardware: SageMaker refuses a volume key there.
    assert train["ResourceConfig"] == {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50}
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 240 * 60, "MaxWaitTimeInSeconds": 480 * 60}
    checkpoint = train["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"]
    assert checkpoint[-1] == "checkpoints" and {"Get": "Execution.PipelineExecutionId"} in checkpoint
    assert train["OutputDataConfig"]["KmsKeyId"] == key
    assert train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]}
    assert train["AlgorithmSpecification"]["TrainingImage"] == prod_training().train.image
    assert train["HyperParameters"]["tree_method"] == "gpu_hist"


def test_processing_jobs_use_the_declared_cpu_types_encrypted_and_isolated(prod):
    s = steps(prod)
    key = pipeline_key_arn(prod)
    for name, itype in (("Preprocess", "ml.m5.2xlarge"), ("Evaluate", "ml.m5.xlarge")):
        args = s[name]["Arguments"]
        assert args["ProcessingResources"]["ClusterConfig"] == {"InstanceType": itype, "InstanceCount": 1, "VolumeSizeInGB": 30, "VolumeKmsKeyId": key}
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
        assert args["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert args["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
        assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


def test_plan_counts_the_training_gpus(prod):
    pipeline = named(prod, PIPELINE, "-training-pipeline")
    uses = [u for u in prod.gpu_use() if u.urn == pipeline.urn]
    assert [(u.instances, u.devices_per_instance, u.kind) for u in uses] == [(2, 1, "GPU")]


def test_dev_trains_on_cpu_from_the_feature_groups_offline_store(dev):
    s = steps(dev)
    # An EBS-backed type: its volume is encrypted with the pipeline's key.
    assert s["Train"]["Arguments"]["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": pipeline_key_arn(dev),
    }
    assert "EnableManagedSpotTraining" not in s["Train"]["Arguments"]
    assert "LastApprovedMetrics" not in s  # dev has fixed thresholds only
    parameters = {p["Name"]: p["DefaultValue"] for p in definition(dev)["Parameters"]}
    assert parameters["InputDataUri"].startswith("s3://feature-store-offline-")
    assert "/offline-store/123456789012/sagemaker/eu-west-1/offline-store/churn-customers-" in parameters["InputDataUri"]
    pipeline = named(dev, PIPELINE, "-training-pipeline")
    assert [u for u in dev.gpu_use() if u.urn == pipeline.urn] == []


# --- gates ---------------------------------------------------------------------------------------


def test_every_declared_gate_becomes_one_condition(prod):
    declared = [(g.metric, g.op, g.threshold) for g in load_stack("churn-prod", cwd=ROOT).spec.model("churn-xgb").gates]
    conditions = steps(prod)["CheckGates"]["Arguments"]["Conditions"]
    assert [gate_of(c) for c in conditions] == declared == [
        ("accuracy", ">=", "last-approved"),
        ("auc", ">=", 0.8),
        ("bias_delta", "<=", 0.01),
    ]


def test_last_approved_gate_compares_with_the_bound_read_from_the_registry(prod):
    lookup = steps(prod)["LastApprovedMetrics"]
    function = named(prod, FUNCTION, "-training-baseline")
    assert lookup["FunctionArn"] == f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{function.inputs['name']}"
    assert lookup["Arguments"]["model_package_group"] == "churn-churn-xgb"
    assert json.loads(lookup["Arguments"]["gates"]) == [{"index": 0, "metric": "accuracy", "op": ">=", "tolerance": 0.005}]
    assert {o["OutputName"]: o["OutputType"] for o in lookup["OutputParameters"]} == {
        "found": "Boolean",
        "bound_0": "Float",
        "describe_0": "String",
    }
    assert function.inputs["runtime"].startswith("python3") and function.inputs["handler"] == "index.handler"
    assert "def handler(event, context)" in function.inputs["code"]["assets"]["index.py"]["text"]


def test_dev_gates_are_plain_thresholds(dev):
    conditions = steps(dev)["CheckGates"]["Arguments"]["Conditions"]
    assert [gate_of(c) for c in conditions] == [("accuracy", ">=", 0.75), ("bias_delta", "<=", 0.02)]


def test_a_failed_gate_fails_the_execution_naming_each_gate_and_value(prod):
    values = steps(prod)["GateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    text = " ".join(v for v in values if isinstance(v, str))
    assert "churn-xgb: the candidate missed a promotion gate, so it was not registered" in text
    assert "auc=" in text and "(gate >= 0.8);" in text and "(gate <= 0.01);" in text
    assert {"Get": "Steps.LastApprovedMetrics.OutputParameters['describe_0']"} in values
    assert sum(1 for v in values if isinstance(v, dict) and "Std:JsonGet" in v) == 3


# --- registration ----------------------------------------------------------------------------


def test_registers_in_the_models_group_pending_approval_in_prod_with_metrics_and_lineage(prod):
    register = steps(prod)["Register"]["Arguments"]
    assert register["ModelPackageGroupName"] == "churn-churn-xgb"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    report = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert report["ContentType"] == "application/json"
    assert report["S3Uri"]["Std:Join"]["Values"][-1] == "evaluation.json"
    metadata = register["CustomerMetadataProperties"]
    commit = named(prod, PIPELINE, "-training-pipeline").inputs["tags"]["mlstack:git-commit"]
    assert metadata["mlstack:git-commit"] == commit
    assert metadata["mlstack:dataset"] == {"Get": "Parameters.InputDataUri"}
    assert metadata["mlstack:dataset-version"] == {"Get": "Parameters.DatasetVersion"}
    assert metadata["mlstack:pipeline-execution"] == {"Get": "Execution.PipelineExecutionArn"}
    assert metadata["mlstack:training-job"] == {"Get": "Steps.Train.TrainingJobArn"}
    for metric in ("accuracy", "auc", "bias_delta"):
        (value,) = metadata[f"mlstack:metric:{metric}"]["Std:Join"]["Values"]
        assert value["Std:JsonGet"]["Path"] == f"metrics.{metric}.value"
    assert register["MetadataProperties"] == {"CommitId": commit, "GeneratedBy": {"Get": "Execution.PipelineExecutionArn"}}
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == prod_training().inference.image
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == ["ml.g5.xlarge", "ml.m5.xlarge"]


def test_automatic_approval_mode_registers_versions_approved(dev):
    assert steps(dev)["Register"]["Arguments"]["ModelApprovalStatus"] == "Approved"


def test_no_gates_registers_every_trained_version(write_stack, plan):
    model = dict(BASELINE["mlstack:models"][0], training=_training())
    graph = plan(write_stack({"mlstack:models": [model]}))
    top = [(s["Name"], s["Type"]) for s in definition(graph)["Steps"]]
    assert top[-1] == ("Register", "RegisterModel")
    assert "CheckGates" not in dict(top)


# --- IAM, triggers, contract ------------------------------------------------------------------


def test_pipeline_role_is_scoped_to_its_bucket_key_input_images_jobs_and_group(prod):
    policy = json.loads(named(prod, ROLE_POLICY, "training-role-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    key = pipeline_key_arn(prod)
    assert by_sid["PipelineKey"]["Resource"] == key
    assert by_sid["ArtifactsObjects"]["Resource"].startswith("arn:aws:s3:::churn-xgb-training-artifacts-")
    assert by_sid["ReadInputObjects"]["Resource"] == "arn:aws:s3:::example-churn-data/features/v3/*"
    assert by_sid["ReadInputList"]["Condition"] == {"StringLike": {"s3:prefix": ["features/v3/*"]}}
    assert by_sid["PullImages"]["Resource"] == [
        f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/churn-xgb-{name}" for name in ("evaluate", "preprocess", "serve", "train")
    ]
    assert by_sid["RegisterInThisGroup"]["Resource"] == [
        f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package-group/churn-churn-xgb",
        f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/churn-churn-xgb/*",
    ]
    assert by_sid["PassOwnRoleToJobs"]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert by_sid["InvokeBaselineLookup"]["Resource"].endswith(":function:churn-churn-xgb-training-last-approved")
    # "*" only where IAM has no resource-level permissions, each documented in the policy code.
    unscoped = sorted(s["Sid"] for s in policy["Statement"] if s["Resource"] == "*")
    assert unscoped == ["DescribeVpc", "EcrLogin", "JobMetrics"]
    assert by_sid["JobMetrics"]["Condition"]["StringLike"]["cloudwatch:namespace"] == ["/aws/sagemaker/*", "aws/sagemaker/*"]
    assert not any("FullAccess" in json.dumps(s) for s in policy["Statement"])


def test_trigger_role_may_only_start_this_pipeline(prod):
    role = named(prod, ROLE, "training-trigger-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": ["events.amazonaws.com", "scheduler.amazonaws.com"]}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(named(prod, ROLE_POLICY, "training-trigger-policy").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "StartThisPipeline",
            "Effect": "Allow",
            "Action": "sagemaker:StartPipelineExecution",
            "Resource": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/churn-churn-xgb-training",
        }
    ]


def test_schedule_starts_the_pipeline_with_the_trigger_role(prod, dev):
    schedule = named(prod, SCHEDULE, "-training-schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(0 3 ? * MON *)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "Europe/Dublin"
    assert schedule.inputs["target"]["arn"] == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/churn-churn-xgb-training"
    assert schedule.inputs["target"]["roleArn"] == prod.outputs["pipelines"]["churn-xgb"]["triggerRoleArn"]
    assert schedule.inputs["kmsKeyArn"] == pipeline_key_arn(prod)
    assert [r for r in dev.by_type(SCHEDULE) if r.name.endswith("-training-schedule")] == []


def test_outputs_and_team_stack_expose_the_retraining_hook():
    import pulumi

    from mlstack.engine import answers_for, run_program
    from mlstack.program import StackContext, build

    stack_file = load_stack("churn-prod", cwd=ROOT)
    captured: dict[str, Any] = {}

    def program():
        team = build(StackContext.from_pulumi())
        pipeline = team.pipelines["churn-xgb"]
        captured["model_name"] = pipeline.model_name
        captured["feature_groups"] = sorted(team.feature_groups)
        pulumi.Output.all(pipeline.pipeline_name, pipeline.arn, pipeline.trigger_role_arn).apply(lambda v: captured.setdefault("outputs", v))

    run_program(program, project="mlstack", stack="churn-prod", config=stack_file.pulumi_config(), answers=answers_for(stack_file), root_directory=ROOT)
    assert captured["model_name"] == "churn-xgb"
    assert captured["feature_groups"] == ["customers"]
    name, arn, trigger = captured["outputs"]
    assert name == "churn-churn-xgb-training"
    assert arn == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/churn-churn-xgb-training"
    assert trigger.startswith(f"arn:aws:iam::{ACCOUNT}:role/churn-xgb-training-trigger-role")


def test_component_children_are_named_after_it(prod):
    (component,) = prod.by_type(COMPONENT)
    children = {r.name for r in prod.children(component.urn)}
    assert {"churn-xgb-training-pipeline", "churn-xgb-training-role", "churn-xgb-training-trigger-role", "churn-xgb-training-key", "churn-xgb-training-artifacts", "churn-xgb-training-schedule", "churn-xgb-training-baseline"} <= children
    assert all(name.startswith("churn-xgb-training-") for name in children)


# --- offline, lazily imported -------------------------------------------------------------------


_OFFLINE_BUILD = """
import json, os, socket

def refuse(*args, **kwargs):
    raise AssertionError(f"network access: {args[1:]}")

socket.socket.connect = refuse
socket.create_connection = refuse
from mlstack.components.training.definition import DefinitionInputs, build_definition
from mlstack.config import load_stack

spec = load_stack("churn-prod").spec.model("churn-xgb")
text = build_definition(DefinitionInputs(
    pipeline_name="offline-check", model="offline-check", region="ap-southeast-2",
    role_arn="arn:aws:iam::111122223333:role/r", bucket="offline-check-bucket",
    key_arn="arn:aws:kms:ap-southeast-2:111122223333:key/k", group_name="team-offline-check",
    approval_status="PendingManualApproval", git_commit="abc", input_uri="s3://data/x/", dataset_version="1",
    training=spec.training.model_dump(mode="json"), gates=[g.model_dump(mode="json") for g in spec.gates],
    baseline_function_arn="arn:aws:lambda:ap-southeast-2:111122223333:function:f",
))
print(json.loads(text)["Steps"][0]["Name"], "AWS_DEFAULT_REGION" in os.environ)
"""


def test_definitions_build_without_network_or_credentials():
    # A fresh interpreter: the SDK's import is covered too. No AWS settings at all.
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-c", _OFFLINE_BUILD], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    # The region is set for the SDK only while it builds.
    assert result.stdout.split() == ["LastApprovedMetrics", "False"]


def test_importing_mlstack_and_help_do_not_import_the_sdk():
    code = (
        "import sys, contextlib, io\n"
        "import mlstack, mlstack.cli, mlstack.specs.stack\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        mlstack.cli.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


# --- one SDK build per pipeline shape ------------------------------------------------------------


def _captured_inputs(stack: str, monkeypatch) -> list:
    """The DefinitionInputs of every pipeline a plan of ``stack`` builds."""
    from mlstack.components.training import pipeline as training

    captured = []

    def spy(inputs):
        captured.append(inputs)
        return real(inputs)

    real = training.build_definition
    monkeypatch.setattr(training, "build_definition", spy)
    plan_stack(stack, cwd=ROOT)
    monkeypatch.undo()
    assert captured
    return captured


def _variant(inputs, **changes):
    import dataclasses

    return dataclasses.replace(inputs, **changes)


def _assert_templated_equals_direct(inputs, templated: int) -> None:
    from mlstack.components.training import definition as pd

    template, values = pd._templated(inputs)
    assert len(values) == templated, sorted(set(vars(inputs).items()) - set(vars(template).items()))
    assert pd._template_text(template.key()) is not None  # the template is used, not the fallback
    assert pd.build_definition(inputs) == pd._build_direct(inputs)  # byte for byte


@pytest.mark.parametrize("stack", ["churn-dev", "churn-prod"])
def test_templated_definitions_of_the_bundled_stacks_equal_direct_builds(stack, monkeypatch):
    for inputs in _captured_inputs(stack, monkeypatch):
        _assert_templated_equals_direct(inputs, templated=10 if inputs.baseline_function_arn else 9)


def test_templated_definitions_equal_direct_builds_for_other_names_arns_and_limits(monkeypatch):
    dev, prod = (_captured_inputs(stack, monkeypatch)[0] for stack in ("churn-dev", "churn-prod"))
    short = dict(
        pipeline_name="p", model="m", role_arn="arn:aws:iam::111122223333:role/r", bucket="abc",
        key_arn="arn:aws:kms:ap-southeast-2:111122223333:key/1", group_name="g", git_commit="unknown",
        input_uri="s3://abc", dataset_version="1",
    )
    at_limits = dict(
        pipeline_name="p" + "-q1" * 85,  # 256, the longest pipeline name
        model="m" + "-a1b2c3d4e5" * 2 + "-z" * 5,  # 31
        role_arn="arn:aws-us-gov:iam::000000000000:role/service-role/" + "R+=,.@_-9" * 7 + "r",  # 64-character name, a path
        bucket="b." + "c-d." * 15 + "e",  # 63, dots
        key_arn="arn:aws-us-gov:kms:us-gov-west-1:000000000000:key/mrk-" + "0123456789abcdef" * 2,
        group_name="G" + "-h" * 31,  # 63
        git_commit="f" * 40,
        input_uri='s3://data.bucket/pre fix/"quoted"\\back/\u00fcn\u00ef\u20ac\U0001f600/',  # JSON-escaped in the definition
        dataset_version="v 2026\tline \u00fcn\u00ef \u6570\u636e:/=+@-",  # a tag value of any script, a tab
        baseline_function_arn="arn:aws-us-gov:lambda:us-gov-west-1:000000000000:function:" + "F_" * 32,  # 64
    )
    _assert_templated_equals_direct(_variant(dev, region="ap-southeast-2", **short), templated=9)
    _assert_templated_equals_direct(_variant(prod, **short, baseline_function_arn="arn:aws:lambda:eu-west-1:111122223333:function:f"), templated=10)
    _assert_templated_equals_direct(_variant(prod, region="us-gov-west-1", **at_limits), templated=10)
    _assert_templated_equals_direct(_variant(dev, **{k: v for k, v in at_limits.items() if k != "baseline_function_arn"}), templated=9)
    # Values of other forms stay in the cache key and come out the same.
    odd = _variant(prod, key_arn="", input_uri="https://example.com/data", git_commit="", baseline_function_arn="arn:aws:lambda:eu-west-1:210987654321:function:f:live")
    _assert_templated_equals_direct(odd, templated=6)
    # A value that contains the placeholder mark is built directly.
    from mlstack.components.training import definition as pd

    assert pd._templated(_variant(prod, git_commit="MLSTACKTPL6commit"))[1] == {}


def test_pipelines_differing_only_in_names_share_one_sdk_build(monkeypatch):
    from mlstack.components.training import definition as pd

    prod = _captured_inputs("churn-prod", monkeypatch)[0]
    first = _variant(prod, pipeline_name="shape-check-a", model="shape-check-a", group_name="team-shape-check-a")
    pd.build_definition(first)

    def no_sdk(inputs):
        raise AssertionError("the SDK was called again for the same shape")

    monkeypatch.setattr(pd, "_build", no_sdk)
    second = _variant(
        first, pipeline_name="shape-check-b", model="shape-check-b", group_name="team-shape-check-b",
        role_arn=prod.role_arn + "-b", bucket=prod.bucket + "-b", key_arn=prod.key_arn[:-1] + "b",
        baseline_function_arn=prod.baseline_function_arn + "-b", git_commit="0" * 40, input_uri="s3://other-data/x/", dataset_version="v9",
    )
    text = pd.build_definition(second)
    monkeypatch.undo()
    assert text == pd._build_direct(second)


def test_placeholders_are_distinct_and_of_their_fields_form():
    from mlstack.components.training import definition as pd

    samples = {
        "role_arn": "arn:aws:iam::123456789012:role/r", "key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
        "baseline_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:f", "input_uri": "s3://abc/",
    }
    placeholders = []
    for field, (form, placeholder) in pd._SLOTS.items():
        value = placeholder(form.fullmatch(samples.get(field, "abc")))
        assert form.fullmatch(value), field
        assert value.count(pd._MARK) == 1, field
        placeholders.append(value)
    assert not [(a, b) for a in placeholders for b in placeholders if a != b and a in b]


# --- the baseline lookup Lambda -----------------------------------------------------------------


class _Registry:
    def __init__(self, packages):
        self.packages = packages

    def list_model_packages(self, **kwargs):
        assert kwargs["ModelApprovalStatus"] == "Approved" and kwargs["SortOrder"] == "Descending"
        return {"ModelPackageSummaryList": [{"ModelPackageArn": p["ModelPackageArn"]} for p in self.packages[:1]]}

    def describe_model_package(self, ModelPackageName):
        return next(p for p in self.packages if p["ModelPackageArn"] == ModelPackageName)


GATES = [{"index": 0, "metric": "accuracy", "op": ">=", "tolerance": 0.005}, {"index": 2, "metric": "latency_ms", "op": "<=", "tolerance": 5}]


def test_lookup_without_an_approved_version_lets_relative_gates_pass():
    result = last_approved_metrics(_Registry([]), "g", GATES)
    assert result["found"] is False
    assert result["describe_0"] == "no Approved version yet: passes"


def test_lookup_bounds_are_last_approved_metrics_with_tolerance():
    package = {
        "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/7",
        "ModelApprovalStatus": "Approved",
        "ModelPackageVersion": 7,
        "CustomerMetadataProperties": {"mlstack:metric:accuracy": "0.92", "mlstack:metric:latency_ms": "40"},
    }
    result = last_approved_metrics(_Registry([package]), "g", GATES)
    assert result["found"] is True and result["version"] == "7"
    assert result["bound_0"] == pytest.approx(0.915) and result["bound_2"] == pytest.approx(45)
    assert result["describe_0"] == "last approved v7 0.92 - 0.005 = 0.915"


def test_lookup_fails_when_the_approved_version_lacks_the_metric():
    package = {"ModelPackageArn": _arn(3), "ModelApprovalStatus": "Approved", "ModelPackageVersion": 3, "CustomerMetadataProperties": {}}
    with pytest.raises(ValueError, match="version 3 of g has no 'accuracy' metric"):
        last_approved_metrics(_Registry([package]), "g", GATES[:1])


def _arn(version: int, group: str = "g") -> str:
    return f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{group}/{version}"


def test_lookup_without_a_baseline_passes_gates_in_both_directions():
    result = last_approved_metrics(_Registry([]), "g", GATES)
    # >= compares with the lowest finite number, <= with the highest: any candidate passes.
    assert result["bound_0"] < -1e300 and result["bound_2"] > 1e300
    json.dumps(result, allow_nan=False)  # what a LambdaStep output must be


class _Answers:
    """A registry client answering with whatever a test hands it (hostile replies)."""

    def __init__(self, listing, package=None):
        self.listing, self.package = listing, package

    def list_model_packages(self, **kwargs):
        return self.listing

    def describe_model_package(self, ModelPackageName):
        return self.package


@pytest.mark.parametrize(
    "listing, package",
    [
        ({"html": "<html>502</html>"}, None),  # no list: not "nothing approved"
        ({"ModelPackageSummaryList": "none"}, None),
        ({"ModelPackageSummaryList": [{}]}, None),
        ({"ModelPackageSummaryList": [{"ModelPackageArn": _arn(4, "other-group")}]}, None),  # another group's version
        ({"ModelPackageSummaryList": [{"ModelPackageArn": _arn(4)}]}, {"ModelPackageArn": _arn(4), "ModelApprovalStatus": "Rejected"}),
        ({"ModelPackageSummaryList": [{"ModelPackageArn": _arn(4)}]}, {"ModelPackageArn": _arn(5), "ModelApprovalStatus": "Approved"}),
        *[
            ({"ModelPackageSummaryList": [{"ModelPackageArn": _arn(4)}]},
             {"ModelPackageArn": _arn(4), "ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"mlstack:metric:accuracy": bad}})
            for bad in ("-inf", "inf", "nan", "NaN", "1e309", "n/a", "")
        ],
    ],
)
def test_lookup_fails_closed_on_answers_it_cannot_trust(listing, package):
    with pytest.raises(ValueError):
        last_approved_metrics(_Answers(listing, package), "g", GATES[:1])


# --- bad input ---------------------------------------------------------------------------------


def _training(**changes: Any) -> dict[str, Any]:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-{}:1"
    training = {
        "preprocess": {"image": image.format("prep")},
        "train": {"image": image.format("train"), "instanceType": "ml.g5.2xlarge"},
        "evaluation": {"image": image.format("eval"), "metrics": ["accuracy", "auc"]},
        "inference": {"image": image.format("serve")},
    }
    for key, value in changes.items():
        training[key] = {**training[key], **value} if isinstance(value, dict) else value
    return training


def _problems(write_stack, model_changes: dict[str, Any]) -> list:
    model = {**BASELINE["mlstack:models"][0], **model_changes}
    with pytest.raises(ConfigError) as info:
        load_stack(write_stack({"mlstack:models": [model]}))
    return info.value.problems


def test_rejects_instance_type_not_valid_for_training(write_stack):
    (problem,) = _problems(write_stack, {"training": _training(train={"instanceType": "ml.inf2.xlarge"})})
    assert problem.path == "mlstack:models[0].training.train.instanceType"
    assert "ml.inf2.xlarge is a SageMaker endpoint" in problem.message and "not a training instance type" in problem.message


def test_rejects_misspelt_training_instance_type_with_suggestion(write_stack):
    (problem,) = _problems(write_stack, {"training": _training(train={"instanceType": "ml.g5.2xlarg"})})
    assert "did you mean ml.g5.2xlarge?" in problem.message


def test_rejects_gate_on_a_metric_the_evaluation_does_not_produce(write_stack):
    gates = [{"metric": "accuracy", "threshold": 0.9}, {"metric": "bias_delta", "op": "<=", "threshold": 0.01}]
    (problem,) = _problems(write_stack, {"gates": gates, "training": _training()})
    assert problem.path == "mlstack:models[0].gates[1].metric"
    assert "'bias_delta', which the evaluation does not produce (training.evaluation.metrics: accuracy, auc)" in problem.message


def test_rejects_spot_wait_shorter_than_the_run(write_stack):
    (problem,) = _problems(write_stack, {"training": _training(train={"maxRuntimeMinutes": 120, "spot": {"enabled": True, "maxWaitMinutes": 60}})})
    assert "maxWaitMinutes (60) is below maxRuntimeMinutes (120)" in problem.message


def test_rejects_images_outside_ecr(write_stack):
    (problem,) = _problems(write_stack, {"training": _training(train={"image": "docker.io/library/xgb:latest"})})
    assert problem.path == "mlstack:models[0].training.train.image"


def test_rejects_training_without_data(write_stack):
    model = {k: v for k, v in BASELINE["mlstack:models"][0].items() if k != "dataset"}
    (problem,) = _problems(write_stack, {**model, "dataset": None, "training": _training()})
    assert problem.path == "mlstack:models[0].training"
    assert "has nothing to train on" in problem.message


@pytest.mark.parametrize(
    "model_changes, needle",
    [
        ({"training": _training(train={"instanceType": "ml.inf2.xlarge"})}, "not a training instance type"),
        ({"gates": [{"metric": "f1", "threshold": 0.5}], "training": _training()}, "which the evaluation does not produce"),
    ],
)
def test_cli_exits_2_on_bad_training_config(write_stack, cli, model_changes, needle):
    model = {**BASELINE["mlstack:models"][0], **model_changes}
    code, out, err = cli("plan", str(write_stack({"mlstack:models": [model]})))
    assert code == 2
    assert needle in err and "Traceback" not in err


# --- what AWS would refuse at deploy time is refused at validation -----------------------------


@pytest.mark.parametrize(
    "schedule, needle",
    [
        ("cron(0 3 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 * * *)", "has 6 fields separated by single spaces"),
        ("cron(0 25 ? * MON *)", "hours: 25 is outside 0-23"),
        ("cron(0 3 ? * MON#6 *)", "the week after '#' is 1 to 5"),
        ("cron(0 3 ? * mon *)", "write 'mon' in capitals"),
        ("cron(0 3 1,L * ? *)", "L, W, # and ? stand alone"),
        ("rate(1 days)", "the unit of 1 is singular: write 'day'"),
        ("rate(7 day)", "the unit of 7 is plural: write 'days'"),
        ("rate(0 hours)", "a whole number of 1 or more"),
        ("rate(2 weeks)", "is one of minute(s), hour(s), day(s)"),
        ("@weekly", "is not a schedule"),
    ],
)
def test_schedules_eventbridge_refuses_exit_2_at_the_key(write_stack, cli, schedule, needle):
    model = {**BASELINE["mlstack:models"][0], "training": _training(schedule=schedule)}
    code, _, err = cli("plan", str(write_stack({"mlstack:models": [model]})))
    assert code == 2
    assert "mlstack:models[0].training.schedule: " in err and needle in err and repr(schedule) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "schedule",
    ["cron(0 3 ? * MON *)", "cron(15 10 L * ? *)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 9 ? * 6#3 *)", "cron(0 0 15W JAN,JUL ? 2027)", "rate(1 minute)", "rate(12 hours)"],
)
def test_valid_schedules_are_accepted(write_stack, schedule):
    model = {**BASELINE["mlstack:models"][0], "training": _training(schedule=schedule)}
    assert load_stack(write_stack({"mlstack:models": [model]})).spec.models[0].training.schedule == schedule


@pytest.mark.parametrize("zone, needle", [("Europe/Dubln", "did you mean 'Europe/Dublin'"), ("europe/dublin", "did you mean 'Europe/Dublin'"), ("CEST", "is not an IANA time zone"), ("localtime", "is not an IANA time zone")])
def test_unknown_time_zones_are_refused_with_a_suggestion(write_stack, zone, needle):
    (problem,) = _problems(write_stack, {"training": _training(schedule="cron(0 3 ? * MON *)", scheduleTimezone=zone)})
    assert problem.path == "mlstack:models[0].training.scheduleTimezone"
    assert needle in problem.message


def test_drift_schedules_mlstack_writes_are_valid_expressions():
    from mlstack.components.monitor.drift import _cron, _rate
    from mlstack.specs.base import schedule_problem

    for hours in range(1, 25):  # every intervalHours the spec allows
        assert schedule_problem(_rate(hours)) is None, _rate(hours)
        assert schedule_problem(_cron(hours)) is None, _cron(hours)


def _limits() -> tuple[int, int, int]:
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("HyperParameters")
    return shape.metadata["max"], shape.key.metadata["max"], shape.value.metadata["max"]


def test_hyperparameter_limits_come_from_botocore_and_are_enforced(write_stack):
    most, key_max, value_max = _limits()
    fits = {f"p{i}": i for i in range(most)}
    model = {**BASELINE["mlstack:models"][0], "training": _training(train={"hyperparameters": fits})}
    assert len(load_stack(write_stack({"mlstack:models": [model]})).spec.models[0].training.train.hyperparameters) == most

    (problem,) = _problems(write_stack, {"training": _training(train={"hyperparameters": {**fits, "one_more": 1}})})
    assert problem.path == "mlstack:models[0].training.train.hyperparameters"
    assert f"holds {most + 1} hyperparameters; SageMaker accepts at most {most}" in problem.message

    long_key, long_value = "k" * (key_max + 1), "v" * (value_max + 1)
    problems = _problems(write_stack, {"training": _training(train={"hyperparameters": {long_key: 1, "eta": long_value}})})
    by_path = {p.path: p.message for p in problems}
    assert f"is {key_max + 1} characters; SageMaker allows 0 to {key_max}" in by_path[f"mlstack:models[0].training.train.hyperparameters.{long_key}"]
    assert f"the value is {value_max + 1} characters" in by_path["mlstack:models[0].training.train.hyperparameters.eta"]


def test_hyperparameters_are_measured_as_the_training_job_receives_them(write_stack):
    from mlstack.specs.training import serialized_hyperparameter

    assert [serialized_hyperparameter(v) for v in ("gpu_hist", 400, 0.1, True)] == ["gpu_hist", "400", "0.1", "true"]
    # SageMaker's patterns are Java regexes: ".*" matches no line break.
    (problem,) = _problems(write_stack, {"training": _training(train={"hyperparameters": {"objective": "reg\nlinear"}})})
    assert problem.path == "mlstack:models[0].training.train.hyperparameters.objective" and "line break" in problem.message
    for separator in ("\u2028", "\u0085", "\r"):
        assert _problems(write_stack, {"training": _training(train={"hyperparameters": {"objective": f"a{separator}b"}})})


def test_kms_key_from_another_region_is_refused_at_its_key(write_stack):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    (problem,) = _problems(write_stack, {"training": _training(kmsKeyArn=key)})
    assert problem.path == "mlstack:models[0].training.kmsKeyArn"
    assert "is in us-east-1, but the stack deploys to eu-west-1 (aws:region)" in problem.message
    same = key.replace("us-east-1", "eu-west-1")
    model = {**BASELINE["mlstack:models"][0], "training": _training(kmsKeyArn=same)}
    assert load_stack(write_stack({"mlstack:models": [model]})).spec.models[0].training.kms_key_arn == same
    (problem,) = _problems(write_stack, {"training": _training(kmsKeyArn=same.replace("arn:aws:", "arn:aws-cn:"))})
    assert "is in partition aws-cn, but eu-west-1 is in aws" in problem.message


@pytest.mark.parametrize(
    "changes, path, needle",
    [
        ({"train": {"environment": {"MY-VAR": "1"}}}, "train.environment.MY-VAR", "does not match SageMaker's pattern [a-zA-Z_][a-zA-Z0-9_]*"),
        ({"train": {"environment": {"TOKEN": "x" * 513}}}, "train.environment.TOKEN", "the value is 513 characters; SageMaker allows 0 to 512"),
        ({"preprocess": {"environment": {"SPLIT": "x" * 257}}}, "preprocess.environment.SPLIT", "SageMaker allows 0 to 256"),
        ({"evaluation": {"environment": {f"V{i}": "1" for i in range(101)}}}, "evaluation.environment", "holds 101 environment variables; SageMaker accepts at most 100"),
        ({"inference": {"environment": {"1ST": "x"}}}, "inference.environment.1ST", "does not match SageMaker's pattern"),
    ],
)
def test_container_environments_within_the_limits_of_their_sagemaker_call(write_stack, changes, path, needle):
    (problem,) = _problems(write_stack, {"training": _training(**changes)})
    assert problem.path == f"mlstack:models[0].training.{path}"
    assert needle in problem.message
