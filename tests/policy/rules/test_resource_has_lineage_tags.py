"""Tests of ``mlstack-resource-has-lineage-tags`` (mlstack/policy/rules/resource_has_lineage_tags.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import LINEAGE, Case, assert_fails_exactly
from ..graphs import baseline


CASES: list[Case] = [
    ("tag-missing", "dev", lambda g: g.drop("churn-xgb-training-artifacts", "tags.mlstack:team"), {LINEAGE}),
    ("tag-empty", "prod", lambda g: g.set("monitor-topic", "tags.mlstack:git-commit", " "), {LINEAGE}),
    ("tags-absent", "staging", lambda g: g.drop("scoring-key", "tags"), {LINEAGE}),
    ("tag-names-other-environment", "prod", lambda g: g.set("monitor-key", "tags.mlstack:environment", "dev"), {LINEAGE}),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)
