"""Tests of ``mlstack-instance-types-within-limits``
(mlstack/policy/rules/instance_types_within_limits.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import (
    BUDGET,
    INSTANCES,
    ROLLOUT,
    Case,
    Change,
    assert_fails_exactly,
    assert_passes,
    change_of,
    definition,
    kserve_node,
    train,
    train_on,
    tuning,
    violated,
)
from ..graphs import baseline


CASES: list[Case] = [
    ("endpoint-type-typo", "prod", lambda g: g.set("scoring-config", "productionVariants.0.instanceType", "ml.g5.xlarg"), {INSTANCES}),
    ("training-type-not-for-training", "prod", definition(train_on("ml.inf1.xlarge", key=True)), {INSTANCES}),
    ("p5-in-dev", "dev", lambda g: g.set("scoring-config", "productionVariants.0.instanceType", "ml.p5.48xlarge"), {INSTANCES}),
    ("gpu-cap-at-autoscaling-max", "dev", lambda g: g.set("scoring-scaling", "maxCapacity", 5), {INSTANCES}),
    ("kserve-gpu-cap", "dev", lambda g: g.set("defects-isvc", ("spec", "predictor", "model", "resources", "limits", "nvidia.com/gpu"), 3), {INSTANCES}),
    # 132 GPUs at once are also over the stack's peak-GPU cap (mlstack-stack-within-budget, 64 in prod).
    ("training-gpus-above-prod-cap", "prod", definition(train("ml.g5.12xlarge", 33)), {INSTANCES, BUDGET}),
    ("training-gpus-above-dev-cap", "dev", definition(train("ml.g5.12xlarge", 3)), {INSTANCES}),
    ("tuning-parallel-jobs-above-cap", "prod", definition(tuning(parallel=9, count=4)), {INSTANCES}),
    ("kserve-node-type-denied-in-dev", "dev", kserve_node("p5.48xlarge"), {INSTANCES}),
    ("kserve-node-affinity-denied-in-dev", "dev", kserve_node("p4d.24xlarge", affinity=True), {INSTANCES}),
    ("kserve-node-type-unknown-accelerated", "prod", kserve_node("g9.xlarge"), {INSTANCES}),
    ("kserve-node-type-not-allowed", "prod", kserve_node("m5.large"), set()),  # allowed by the default ml.* patterns
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("p5-in-dev", "prod"),
    ("kserve-node-type-denied-in-dev", "staging"),
]


# Just inside the limit: must pass.
EDGES: list[tuple[str, str, Change]] = [
    ("training-gpus-at-prod-cap", "prod", definition(train("ml.g5.12xlarge", 32))),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    # Only this policy's verdict: the stack-wide peak-GPU cap (mlstack-stack-within-budget) is
    # judged on its own cases, and 8 x ml.p5.48xlarge is over it in prod.
    assert violated(change_of(CASES, case)(baseline(env)).check()) <= {BUDGET}


@pytest.mark.parametrize("case, env, change", EDGES, ids=[c[0] for c in EDGES])
def test_a_value_just_inside_the_limit_passes(case, env, change):
    # 128 GPUs is inside the training-job cap; the stack-wide peak cap is a separate policy.
    assert violated(change(baseline(env)).check()) <= {BUDGET}


def test_config_moves_the_limits_per_environment():
    g = baseline("dev").set("scoring-scaling", "maxCapacity", 5)
    caps = {"maxGpusPerEndpoint": {"dev": 8, "staging": 16, "prod": 64}}
    assert g.check({INSTANCES: caps}).violations == []
    assert violated(g.check({INSTANCES: {"environments": ["prod"]}})) == set()
    assert violated(g.check({ROLLOUT: {"environments": ["dev", "staging", "prod"]}})) == {INSTANCES}


def test_training_gpu_cap_is_set_per_environment():
    g = definition(train("ml.g5.12xlarge", 3))(baseline("dev"))
    report = g.check()
    assert "at most 8 GPUs in dev, but can use 12" in report.violations[0].message
    assert g.check({INSTANCES: {"maxGpusPerTrainingJob": {"dev": 12, "staging": 32, "prod": 128}}}).violations == []
