"""Tests of ``mlstack-image-pinned-by-digest`` (mlstack/policy/rules/image_pinned_by_digest.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import DIGEST_POLICY, Case, assert_fails_exactly, assert_passes, change_of, definition, step
from ..graphs import baseline


CASES: list[Case] = [
    ("model-image-by-tag", "prod", lambda g: g.set("scoring-model", "primaryContainer.image", "210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn:1.4"), {DIGEST_POLICY}),
    ("training-image-by-tag", "prod", definition(lambda d: step(d, "Train")["Arguments"]["AlgorithmSpecification"].update(TrainingImage="churn-train:latest")), {DIGEST_POLICY}),
    ("kserve-container-by-tag", "prod", lambda g: g.set("defects-isvc", "spec.predictor.containers", [{"name": "kserve-container", "image": "pytorch/torchserve:0.9"}]), {DIGEST_POLICY}),
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("model-image-by-tag", "staging"),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    assert_passes(change_of(CASES, case)(baseline(env)))
