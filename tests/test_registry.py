"""ModelRegistry: exact children, their inputs, approval mode and cross-account access."""

from __future__ import annotations

import json

import pytest
from mlstack.components import ComponentError
from mlstack.components.registry import ModelRegistry, ModelRegistryArgs, package_arn
from mlstack.specs.registry import ApprovalMode
from mlstack.engine import run_program
from mlstack.lookups import OfflineAnswers

GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
POLICY = "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"


def build(args: ModelRegistryArgs):
    holder = {}

    def program():
        holder["registry"] = ModelRegistry("churn-xgb", args)

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))
    return graph, holder["registry"]


def test_creates_exactly_a_group_when_no_readers():
    graph, registry = build(ModelRegistryArgs(group_name="churn-churn-xgb", tags={"mlstack:team": "churn"}))
    component = graph.by_type("mlstack:index:ModelRegistry")[0]
    assert [(r.type, r.name) for r in graph.children(component.urn)] == [(GROUP, "churn-xgb-group")]
    group = graph.by_type(GROUP)[0]
    assert group.inputs["modelPackageGroupName"] == "churn-churn-xgb"
    assert group.inputs["tags"] == {"mlstack:team": "churn", "mlstack:approval-mode": "manual"}
    assert registry.approval_mode is ApprovalMode.MANUAL


def test_cross_account_readers_get_a_group_policy_scoped_to_the_group():
    graph, _ = build(ModelRegistryArgs(group_name="churn-churn-xgb", cross_account_readers=["345678901234", "456789012345"]))
    component = graph.by_type("mlstack:index:ModelRegistry")[0]
    assert sorted(r.type for r in graph.children(component.urn)) == [GROUP, POLICY]
    policy = graph.by_type(POLICY)[0]
    assert policy.inputs["modelPackageGroupName"] == "churn-churn-xgb"
    document = json.loads(policy.inputs["resourcePolicy"])
    group_arn = "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/churn-churn-xgb"
    principals = {"AWS": ["arn:aws:iam::345678901234:root", "arn:aws:iam::456789012345:root"]}
    assert document["Statement"] == [
        {"Sid": "MlstackCrossAccountReadGroup", "Effect": "Allow", "Principal": principals,
         "Action": ["sagemaker:DescribeModelPackageGroup"], "Resource": group_arn},
        {"Sid": "MlstackCrossAccountReadPackages", "Effect": "Allow", "Principal": principals,
         "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "sagemaker:CreateModel"],
         "Resource": "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/*"},
    ]
    assert not any("*" == s["Resource"] for s in document["Statement"])


def test_automatic_mode_registers_versions_approved():
    graph, registry = build(ModelRegistryArgs(group_name="g", approval_mode="automatic"))
    assert registry.approval_mode.initial_status == "Approved"
    assert ApprovalMode.MANUAL.initial_status == "PendingManualApproval"
    assert graph.by_type(GROUP)[0].inputs["tags"]["mlstack:approval-mode"] == "automatic"


def test_outputs_name_and_arn(plan):
    graph = plan("churn-prod")
    assert graph.outputs["registries"]["churn-xgb"] == {
        "groupName": "churn-churn-xgb",
        "arn": "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/churn-churn-xgb",
        "approvalMode": "manual",
    }


def test_package_arn_of_a_version():
    assert package_arn("arn:aws:sagemaker:r:1:model-package-group/g", 4) == "arn:aws:sagemaker:r:1:model-package/g/4"


@pytest.mark.parametrize(
    "args, needle",
    [
        ({"group_name": "bad_name"}, ("group_name", "should match pattern")),
        ({"group_name": "g" * 64}, ("group_name", "at most 63 characters")),
        ({"group_name": "g", "approval_mode": "sometimes"}, ("approval_mode", "'manual' or 'automatic'")),
        ({"group_name": "g", "cross_account_readers": ["123"]}, ("cross_account_readers[0]", "should match pattern")),
        ({"group_name": "g", "cross_account_readers": ["123456789012", "123456789012"]}, (None, "more than once")),
    ],
)
def test_rejects_bad_args_with_one_error_naming_the_argument(args, needle):
    with pytest.raises(ComponentError) as refused:
        ModelRegistryArgs(**args)
    argument, phrase = needle
    assert (refused.value.component, refused.value.argument) == ("ModelRegistry", argument)
    assert phrase in refused.value.message


def test_a_misspelt_argument_is_refused_with_the_one_meant():
    with pytest.raises(ComponentError) as refused:
        ModelRegistryArgs(group_name="g", aproval_mode="manual")
    assert str(refused.value) == "ModelRegistry: argument aproval_mode: is not an argument here; did you mean approval_mode?"
