"""mlstack-stack-within-budget: max-scale GPU-hours and USD against mlstack:budget; peak-GPU cap."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from mlstack.capacity import HOURS_PER_MONTH
from mlstack.policy.kit.stack import using_stack_config
from mlstack.policy.pack import fail_closed
from mlstack.policy.rules import stack_within_budget as rule


def resource(type_, name, props, deps=()):
    return SimpleNamespace(resource_type=type_, name=name, urn=f"urn:{name}", props=props, parent=None, dependencies=list(deps))


def stack(max_capacity=6):
    config = resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg",
                      {"productionVariants": [{"variantName": "primary", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2}]})
    return [
        config,
        resource("aws:sagemaker/endpoint:Endpoint", "ep", {"name": "churn-scoring"}, [config]),
        resource("aws:appautoscaling/target:Target", "t", {"serviceNamespace": "sagemaker",
                 "resourceId": "endpoint/churn-scoring/variant/primary", "minCapacity": 2, "maxCapacity": max_capacity}),
    ]


PRICES = {"format": "mlstack-prices/1", "region": "eu-west-1", "retrieved": "2026-11-28",
          "instances": {"endpoint": {"ml.g5.xlarge": 1.5}}, "monthly": {}}


def violations(resources, *, budget=None, env="prod", config=None, urns=None):
    policy = fail_closed(rule.POLICY)
    stack_config = {"aws:region": "eu-west-1", "mlstack:environment": env}
    if budget is not None:
        stack_config["mlstack:budget"] = budget if isinstance(budget, str) else json.dumps(budget)
    found = []
    args = SimpleNamespace(resources=resources, stack_tags={"mlstack:environment": env}, get_config=lambda: config or {})
    with using_stack_config(stack_config):
        policy.validate(args, lambda message, urn=None: (found.append(message), urns.append(urn) if urns is not None else None))
    return found


def test_within_gpu_hours_budget_passes():
    assert violations(stack(), budget={"monthlyGpuHours": 6 * HOURS_PER_MONTH}) == []


def test_gpu_hours_over_budget_at_the_autoscaling_maximum_fails():
    [message] = violations(stack(), budget={"monthlyGpuHours": 5 * HOURS_PER_MONTH})
    assert "4,380 GPU-hours" in message and "monthlyGpuHours" in message


def test_usd_over_budget_fails_with_prices_from_the_policy_setting():
    over = violations(stack(), budget={"monthlyUsd": 6000}, config={"prices": PRICES})
    assert len(over) == 1 and "6,570.00 USD" in over[0]
    assert violations(stack(), budget={"monthlyUsd": 7000}, config={"prices": PRICES}) == []


def test_usd_budget_without_a_price_file_fails_closed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [message] = violations(stack(), budget={"monthlyUsd": 1e6})
    assert "cannot be estimated" in message and "mlstack prices update --region eu-west-1" in message


def test_usd_budget_reads_the_projects_price_file_from_a_subdirectory_too(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: mlstack\n")
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "eu-west-1.json").write_text(json.dumps(PRICES))
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path / "stacks")
    assert violations(stack(), budget={"monthlyUsd": 7000}) == []
    assert len(violations(stack(), budget={"monthlyUsd": 6000})) == 1


def test_a_price_file_above_the_project_is_not_used(tmp_path, monkeypatch):
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "eu-west-1.json").write_text(json.dumps(PRICES))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "Pulumi.yaml").write_text("name: mlstack\n")
    monkeypatch.chdir(tmp_path / "project")
    [message] = violations(stack(), budget={"monthlyUsd": 1e6})
    assert "there is no price file prices/eu-west-1.json" in message


def test_peak_gpus_during_a_rollout_over_the_environment_cap_fails():
    # 20 ml.g5.xlarge at max, 40 during a blue/green rollout: over prod's default 64? no; over 32 set here
    urns = []
    [message] = violations(stack(max_capacity=20), config={"maxPeakGpus": {"dev": 8, "staging": 32, "prod": 32}}, urns=urns)
    assert "40 accelerators" in message and "maxPeakGpus" in message
    assert urns == ["urn:cfg"]  # the endpoint configuration that declares the instances


def test_budget_is_not_judged_outside_its_environments_by_default():
    assert violations(stack(), budget={"monthlyGpuHours": 1}, env="dev") == []


# -- stacks written to slip past the budget: what cannot be counted fails closed ----------------------


def pipeline(props):
    return resource("aws:sagemaker/pipeline:Pipeline", "p", {"pipelineName": "churn-train", **props})


TRAIN_STEP = {"Name": "Train", "Type": "Training", "Arguments": {"ResourceConfig": {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 4}}}


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(
            # two configurations and nothing saying which the endpoint runs
            [stack()[0], resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg2", {"productionVariants": []}),
             resource("aws:sagemaker/endpoint:Endpoint", "ep", {"name": "churn-scoring"})],
            id="endpoint-without-a-linked-configuration",
        ),
        pytest.param(
            # the autoscaling target names the variant in another case: SageMaker's would be a different variant
            [*stack()[:2], resource("aws:appautoscaling/target:Target", "t", {"serviceNamespace": "sagemaker",
             "resourceId": "endpoint/churn-scoring/variant/Primary", "minCapacity": 2, "maxCapacity": 400})],
            id="autoscaling-target-of-an-unknown-variant",
        ),
        pytest.param([pipeline({"pipelineDefinitionS3Location": {"bucket": "b", "objectKey": "k"}})], id="pipeline-definition-in-s3"),
        pytest.param(
            [pipeline({"pipelineDefinition": json.dumps({"Steps": [TRAIN_STEP]})}),
             resource("aws:scheduler/schedule:Schedule", "s", {"scheduleExpression": "every minute",
                      "target": {"arn": "arn:aws:sagemaker:eu-west-1:1:pipeline/churn-train"}})],
            id="unreadable-schedule-expression",
        ),
    ],
)
def test_what_cannot_be_counted_fails_a_budget_closed(resources):
    found = violations(resources, budget={"monthlyGpuHours": 1e9})
    assert any("cannot be counted in full" in m for m in found), found


def test_a_capacity_written_as_a_string_is_counted_as_its_number():
    resources = stack()
    resources[2].props["maxCapacity"] = "40"  # the provider turns "40" into 40 instances
    [message] = violations(resources, budget={"monthlyGpuHours": 1e9})
    assert "80 accelerators" in message  # 40 at max + 40 during a blue/green rollout > 64


@pytest.mark.parametrize("budget", ['{"monthlyGpuHours": "lots"}', "[1, 2]", "{}"])
def test_a_budget_that_cannot_be_read_fails_closed(budget):
    [message] = violations(stack(), budget=budget)
    assert "holds no number to judge" in message
