"""Tests of ``mlstack-endpoint-monitors-gated-quality`` (mandatory) and, beside it,
``mlstack-endpoint-declares-ground-truth`` (advisory): churn-prod, whose model is gated on
accuracy, auc and bias_delta and whose monitor declares ground truth and slices, planned once;
each case changes one thing in the stack config the policies read (and, where the change removes
alarms, the planned graph)."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from conftest import ROOT
from mlstack.config import load_stack
from mlstack.policy.check import check_plan, stack_tags_for
from mlstack.policy.rules import endpoint_declares_ground_truth, endpoint_monitors_gated_quality

GATED = endpoint_monitors_gated_quality.NAME
GROUND_TRUTH = endpoint_declares_ground_truth.NAME


@pytest.fixture(scope="module")
def planned():
    from mlstack.engine import plan_stack

    return plan_stack("churn-prod", cwd=ROOT), load_stack("churn-prod", cwd=ROOT)


def check(planned, change: Callable[[dict], Any] = lambda c: None, *, environment: str = "prod") -> dict[str, list[str]]:
    plan, stack = planned
    config = copy.deepcopy(stack.config)
    change(config)
    config["mlstack:environment"] = environment
    pulumi_config = {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in config.items()}
    report = check_plan(
        plan,
        stack_tags=stack_tags_for(environment, team="churn", stack="churn-prod"),
        stack_config=pulumi_config,
        policies=[endpoint_monitors_gated_quality.POLICY, endpoint_declares_ground_truth.POLICY],
    )
    found: dict[str, list[str]] = {}
    for violation in report.violations:
        found.setdefault(violation.policy, []).append(violation.message)
    return found


def quality(config: dict) -> dict:
    return config["mlstack:monitors"][0]["quality"]


def test_churn_prod_watches_every_gate_in_production(planned):
    assert check(planned) == {}


def test_a_bias_gate_without_slices_is_refused(planned):
    found = check(planned, lambda c: quality(c).pop("slices"))
    assert found == {
        GATED: [
            "endpoint 'churn-scoring' must monitor bias by slice in prod: model 'churn-xgb' has a bias_delta gate, but "
            "mlstack:monitors[0].quality declares no slices (or no bias-gap alarm watches mlstack/Quality BiasDelta). List the request "
            "features the gate compares in quality.slices (e.g. [age_band, region])."
        ]
    }


def test_a_gate_the_problem_type_cannot_measure_is_refused(planned):
    found = check(planned, lambda c: quality(c).update(problemType="regression"))
    assert [m.split(",")[0] for m in found[GATED]] == [
        "endpoint 'churn-scoring': model 'churn-xgb' is gated on 'accuracy'",
        "endpoint 'churn-scoring': model 'churn-xgb' is gated on 'auc'",
    ]
    assert "which a regression quality job cannot measure (it produces rmse, mae)" in found[GATED][0]


def test_a_gate_added_to_the_model_without_its_alarm_is_refused(planned):
    def gate_f1(config: dict) -> None:
        config["mlstack:models"][0]["gates"].append({"metric": "f1", "op": ">=", "threshold": 0.7})

    found = check(planned, gate_f1)
    assert found == {
        GATED: [
            "endpoint 'churn-scoring' must alarm on production f1 in prod: model 'churn-xgb' is gated on it and its ground truth is "
            "declared (mlstack:monitors[0].quality), but no alarm watches mlstack/Quality QualityGateMargin with Metric='f1'. "
            "Keep the Monitor's quality-f1 alarm."
        ]
    }


def test_without_ground_truth_the_gates_are_only_advised(planned):
    found = check(planned, lambda c: c["mlstack:monitors"][0].pop("quality"))
    assert found == {
        GROUND_TRUTH: [
            "endpoint 'churn-scoring' serves model 'churn-xgb', gated on accuracy, auc, bias_delta, but nothing judges those metrics in "
            "production: declare where its labels land in mlstack:monitors[].quality (groundTruthUri, problemType, labelLagHours, "
            "slices) so a drop below the gates alarms."
        ]
    }
    assert endpoint_declares_ground_truth.POLICY.enforcement_level.value == "advisory"


def test_dev_is_not_held_to_it(planned):
    assert check(planned, lambda c: quality(c).pop("slices"), environment="dev") == {}


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["mlstack:models"][0].update(gates="accuracy >= 0.9"),
        lambda c: c["mlstack:models"][0].update(gates=[None, 3, {"metric": ["accuracy"]}]),
        lambda c: c["mlstack:monitors"][0].update(quality=["groundTruthUri"]),
        lambda c: c.update({"mlstack:endpoints": {"scoring": {}}}),
        lambda c: c.update({"mlstack:team": None}),
    ],
    ids=["gates-a-string", "gates-garbage", "quality-a-list", "endpoints-a-map", "no-team"],
)
def test_a_hostile_config_neither_crashes_the_rules_nor_reads_as_compliant_quality(planned, change):
    found = check(planned, change)
    assert set(found) <= {GATED, GROUND_TRUTH}
    assert all(isinstance(m, str) and m for messages in found.values() for m in messages)



def test_removing_or_retargeting_a_quality_alarm_is_refused(planned):
    plan, stack = planned
    for mutate in (
        lambda inputs: inputs.update(namespace="mlstack/Drift"),
        lambda inputs: inputs["dimensions"].update(Metric="precision"),
        lambda inputs: inputs["dimensions"].update(EndpointName="churn-other"),
    ):
        copied = copy.deepcopy(plan)
        (accuracy,) = [r for r in copied.resources if r.inputs.get("name") == "churn-prod-scoring-quality-accuracy"]
        mutate(accuracy.inputs)
        found = check((copied, stack))
        assert list(found) == [GATED]
        assert "must alarm on production accuracy in prod" in found[GATED][0]
