"""Tests of ``mlstack-notebook-locked-down`` (mlstack/policy/rules/notebook_locked_down.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import NOTEBOOK, Case, assert_fails_exactly
from ..graphs import iam_baseline


IAM_CASES: list[Case] = [
    ("notebook-internet-by-default", "dev", lambda g: g.drop("feature-store-notebook", "directInternetAccess"), {NOTEBOOK}),
    ("notebook-root-by-default", "prod", lambda g: g.drop("feature-store-notebook", "rootAccess"), {NOTEBOOK}),
    ("notebook-without-subnet", "staging", lambda g: g.drop("feature-store-notebook", "subnetId"), {NOTEBOOK}),
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)
