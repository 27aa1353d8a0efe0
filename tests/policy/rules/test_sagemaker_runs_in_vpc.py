"""Tests of ``mlstack-sagemaker-runs-in-vpc`` (mlstack/policy/rules/sagemaker_runs_in_vpc.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import VPC, Case, assert_fails_exactly, assert_passes, change_of, definition, step, violated
from ..graphs import baseline


CASES: list[Case] = [
    ("model-outside-vpc", "prod", lambda g: g.drop("scoring-model", "vpcConfig"), {VPC}),
    ("training-outside-vpc", "prod", definition(lambda d: step(d, "Train")["Arguments"].pop("VpcConfig")), {VPC}),
    ("processing-outside-vpc", "prod", definition(lambda d: step(d, "Evaluate")["Arguments"].pop("NetworkConfig")), {VPC}),
    ("model-not-isolated-in-prod", "prod", lambda g: g.set("scoring-model", "enableNetworkIsolation", False), {VPC}),
    ("model-isolation-unset-in-prod", "prod", lambda g: g.drop("scoring-model", "enableNetworkIsolation"), {VPC}),
    ("training-not-isolated-in-prod", "prod", definition(lambda d: step(d, "Train")["Arguments"].update(EnableNetworkIsolation=False)), {VPC}),
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("model-outside-vpc", "staging"),
    ("model-not-isolated-in-prod", "staging"),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    assert_passes(change_of(CASES, case)(baseline(env)))


def test_vpc_is_mandatory_in_prod_by_default_and_can_be_made_advisory():
    g = baseline("prod").drop("scoring-model", "vpcConfig")
    report = g.check()
    assert [(v.policy, v.level) for v in report.violations] == [(VPC, "mandatory")]
    assert not report.passed
    relaxed = g.check({VPC: "advisory"})
    assert [(v.policy, v.level) for v in relaxed.violations] == [(VPC, "advisory")] and relaxed.passed


def test_network_isolation_environments_are_a_setting():
    g = baseline("staging").set("scoring-model", "enableNetworkIsolation", False)
    assert g.check().violations == []
    assert violated(g.check({VPC: {"networkIsolationEnvironments": ["staging", "prod"]}})) == {VPC}
