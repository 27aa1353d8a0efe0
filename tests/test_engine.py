"""The offline plan engine: engine-form URNs, parents, dependencies, isolation, no network."""

from __future__ import annotations

import json
import socket

import pytest

from mlstack.engine import plan_stack, run_program
from mlstack.lookups import OfflineAnswers, latest_approved_model_package

REGISTRY = "mlstack:index:ModelRegistry"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
POLICY = "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"


def test_urns_are_in_the_engine_form(plan):
    graph = plan("churn-prod")
    registry = graph.by_type(REGISTRY)[0]
    group = graph.by_type(GROUP)[0]
    # Children of the root stack carry no Stack type; children of components chain types with $.
    assert registry.urn == "urn:pulumi:churn-prod::mlstack::mlstack:index:ModelRegistry::churn-xgb"
    assert group.urn == f"urn:pulumi:churn-prod::mlstack::{REGISTRY}${GROUP}::churn-xgb-group"
    assert registry.parent is None
    assert group.parent == registry.urn


def test_records_dependencies_and_inputs_camel_case(plan):
    graph = plan("churn-prod")
    group = graph.by_type(GROUP)[0]
    policy = graph.by_type(POLICY)[0]
    assert group.urn in policy.dependencies
    assert group.inputs["modelPackageGroupName"] == "churn-churn-xgb"
    assert policy.property_dependencies["resourcePolicy"] == [group.urn]


def test_plans_in_one_process_do_not_leak_state(plan):
    first = json.dumps(plan("churn-dev").to_json(), sort_keys=True)
    prod = plan("churn-prod")
    again = json.dumps(plan("churn-dev").to_json(), sort_keys=True)
    assert first == again
    assert prod.stack == "churn-prod" and len(prod.by_type(POLICY)) == 1
    assert '"churn-prod"' not in first


def test_config_of_one_run_is_invisible_to_the_next():
    import pulumi

    seen = []

    def program():
        seen.append(pulumi.Config("demo").get("key"))

    answers = OfflineAnswers()
    run_program(program, project="demo", stack="a", config={"demo:key": "one"}, answers=answers)
    run_program(program, project="demo", stack="b", config={}, answers=answers)
    assert seen == ["one", None]


def test_account_and_region_lookups_are_answered_from_config(plan):
    graph = plan("churn-prod")
    assert graph.outputs["registries"]["churn-xgb"]["arn"] == (
        "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/churn-churn-xgb"
    )


def test_default_account_is_documented_default(plan):
    graph = plan("churn-dev")
    assert ":123456789012:" in graph.outputs["registries"]["churn-xgb"]["arn"]


def test_latest_approved_lookup_is_answered_offline():
    import pulumi

    got = []

    def program():
        got.append(latest_approved_model_package("churn-churn-xgb"))

    answers = OfflineAnswers(account_id="210987654321", region="eu-west-1", approved_versions={"churn-churn-xgb": 7})
    run_program(program, project="p", stack="s", config={}, answers=answers)
    assert got == ["arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/7"]
    del pulumi


def test_plans_without_network(plan, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the offline engine opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    assert len(plan("churn-prod")) > 0 and plan("churn-prod").by_type(GROUP)


def test_unanswered_lookup_is_a_clear_error():
    import pulumi_aws as aws

    def program():
        aws.ec2.get_vpc(default=True)

    with pytest.raises(Exception, match="offline engine has no answer for the lookup 'aws:ec2/getVpc:getVpc'"):
        run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers())


def test_account_guard_stops_a_deployment_to_another_account(plan, write_stack):
    import pulumi

    from mlstack.engine import answers_for
    from mlstack.config import load_stack
    from mlstack.program import main

    stack = load_stack(write_stack({"mlstack:accountId": "111111111111"}))
    wrong = OfflineAnswers(account_id="222222222222", region=stack.region)
    with pytest.raises(pulumi.RunError, match="must deploy to account 111111111111 .* belong to 222222222222"):
        run_program(main, project="mlstack", stack=stack.stack, config=stack.pulumi_config(), answers=wrong)
    assert answers_for(stack).account_id == "111111111111"


def test_python_stack_runs_its_own_program(plan):
    from conftest import ROOT

    graph = plan(ROOT / "examples/fraud-python/Pulumi.fraud-dev.yaml")
    names = sorted(r.name for r in graph.by_type(REGISTRY))
    assert names == ["fraud-gbm", "fraud-gbm-v2", "fraud-tabnet"]
    challenger = next(r for r in graph.by_type(GROUP) if r.name == "fraud-tabnet-group")
    assert challenger.inputs["tags"]["fraud:role"] == "challenger"
    assert challenger.inputs["tags"]["mlstack:team"] == "fraud"


def test_stack_file_outside_a_project_runs_the_declarative_program(write_stack):
    graph = plan_stack(write_stack())
    assert [r.type for r in graph] == [REGISTRY, GROUP]
    assert graph.project == "mlstack"
