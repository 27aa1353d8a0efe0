"""Tests of ``mlstack-pipeline-gates-registration``
(mlstack/policy/rules/pipeline_gates_registration.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import json

import pytest

from ..cases import (
    GATES,
    TRAINING,
    Case,
    Change,
    assert_fails_exactly,
    assert_passes,
    baseline_step,
    change_of,
    conditions,
    definition,
    drop_auc_condition,
    fail_branch_gate,
    messages,
    step,
    ungate,
    violated,
)
from ..graphs import baseline, json_get


CASES: list[Case] = [
    ("registration-ungated", "prod", definition(ungate), {GATES}),
    ("declared-gate-not-checked", "dev", definition(drop_auc_condition), {GATES}),
    ("gate-auc-at-zero", "dev", definition(lambda d: conditions(d)[1].update(RightValue=0)), {GATES}),
    ("gate-accuracy-at-most-one", "prod", definition(lambda d: conditions(d).append({"Type": "LessThanOrEqualTo", "LeftValue": json_get("accuracy"), "RightValue": 1})), {GATES}),
    ("gate-operands-reversed", "prod", definition(lambda d: conditions(d).append({"Type": "LessThanOrEqualTo", "LeftValue": -0.5, "RightValue": json_get("auc")})), {GATES}),
    ("gate-threshold-from-parameter", "prod", definition(lambda d: (d["Parameters"].append({"Name": "AucMin", "Type": "Float", "DefaultValue": 0.0}), conditions(d)[1].update(RightValue={"Get": "Parameters.AucMin"}))), {GATES}),
    ("tolerance-whole-range", "dev", definition(baseline_step(1.0)), {GATES}),
    ("tolerance-above-prod-share", "prod", definition(baseline_step(0.06)), {GATES}),
    ("pipeline-registers-approved-in-prod", "prod", definition(lambda d: step(d, "Register")["Arguments"].update(ModelApprovalStatus="Approved")), {GATES}),
    ("approval-status-from-parameter-in-prod", "prod", definition(lambda d: (d["Parameters"].append({"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "Approved"}), step(d, "Register")["Arguments"].update(ModelApprovalStatus={"Get": "Parameters.ModelApprovalStatus"}))), {GATES}),
    ("registry-automatic-in-prod", "prod", lambda g: g.set("churn-xgb-group", "tags.mlstack:approval-mode", "automatic"), {GATES}),
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("tolerance-above-prod-share", "dev"),
    ("pipeline-registers-approved-in-prod", "staging"),
    ("registry-automatic-in-prod", "dev"),
]


# Just inside the limit: must pass.
EDGES: list[tuple[str, str, Change]] = [
    ("gate-accuracy-just-above-zero", "prod", definition(lambda d: conditions(d)[0].update(RightValue=0.01))),
    ("gate-on-unbounded-metric", "prod", definition(lambda d: conditions(d).append({"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("bias_delta"), "RightValue": -1}))),
    ("tolerance-at-prod-share", "prod", definition(baseline_step(0.05))),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    assert_passes(change_of(CASES, case)(baseline(env)))


@pytest.mark.parametrize("case, env, change", EDGES, ids=[c[0] for c in EDGES])
def test_a_value_just_inside_the_limit_passes(case, env, change):
    assert_passes(change(baseline(env)))


def test_registration_after_a_condition_that_fails_the_pipeline_is_gated():
    g = definition(fail_branch_gate)(baseline("prod"))
    assert g.check().violations == []
    # ...but not when the failing branch is gone.
    d = g.definition(TRAINING)
    step(d, "CheckGates")["Arguments"]["ElseSteps"] = []
    assert violated(g.set_definition(TRAINING, d).check()) == {GATES}


def test_gates_declared_on_the_pipeline_tag_count_without_stack_config():
    g = definition(drop_auc_condition)(baseline("dev"))
    assert g.check(stack_config={"mlstack:environment": "dev"}).violations == []
    g.set(TRAINING, "tags.mlstack:gate-metrics", "accuracy,auc")
    assert violated(g.check(stack_config={"mlstack:environment": "dev"})) == {GATES}


def test_ungated_registration_without_declared_gates_passes_in_dev_only():
    for env, expected in (("dev", set()), ("prod", {GATES})):
        g = definition(ungate)(baseline(env))
        models = json.dumps([{"name": "churn-xgb"}])
        assert violated(g.check(stack_config={"mlstack:environment": env, "mlstack:models": models})) == expected


def test_metric_ranges_and_tolerances_are_settings():
    g = definition(lambda d: conditions(d).append({"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("bias_delta"), "RightValue": -1}))(baseline("prod"))
    assert g.check().violations == []
    ranges = {"bias_delta": {"minimum": -1, "maximum": 1}, "auc": {"minimum": 0, "maximum": 1}}
    report = g.check({GATES: {"metricRanges": ranges}})
    assert violated(report) == {GATES} and "bias_delta >= -1" in report.violations[0].message
    loose = definition(baseline_step(0.06))(baseline("prod"))
    assert loose.check({GATES: {"maxGateTolerance": {"dev": 1, "staging": 0.1, "prod": 0.1}}}).violations == []


def test_gates_declared_in_the_stack_config_are_judged_too():
    g = baseline("dev")
    gates = [{"metric": "auc", "op": ">=", "threshold": 0}, {"metric": "accuracy", "op": ">=", "threshold": "last-approved", "tolerance": 2}]
    config = {**g.stack_config(), "mlstack:models": json.dumps([{"name": "churn-xgb", "gates": gates}])}
    report = g.check(stack_config=config)
    assert violated(report) == {GATES}
    assert {("auc >= 0" in m, "tolerance of 2" in m) for m in messages(report)} >= {(True, False), (False, True)}


def test_manual_approval_environments_are_a_setting():
    g = baseline("staging").set("churn-xgb-group", "tags.mlstack:approval-mode", "automatic")
    assert g.check().violations == []
    assert violated(g.check({GATES: {"manualApprovalEnvironments": ["staging", "prod"]}})) == {GATES}
