"""Tests of ``mlstack-endpoint-serves-approved-package``
(mlstack/policy/rules/endpoint_serves_approved_package.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import APPROVED, DIGEST_POLICY, Case, assert_fails_exactly, assert_passes, change_of
from ..graphs import PACKAGE_ARN, baseline


CASES: list[Case] = [
    ("bare-model-data-url-in-prod", "prod", lambda g: g.set("scoring-model", "primaryContainer", {"image": "churn-serve:1.4", "modelDataUrl": "s3://m/model.tar.gz"}), {APPROVED, DIGEST_POLICY}),
    ("package-not-versioned", "prod", lambda g: g.set("scoring-model", "primaryContainer.modelPackageName", PACKAGE_ARN.rsplit("/", 1)[0].replace("model-package/", "model-package-group/")), {APPROVED}),
    ("version-not-recorded", "prod", lambda g: g.drop("scoring-model", "tags.mlstack:model-version"), {APPROVED}),
    ("version-recorded-wrong", "prod", lambda g: g.set("scoring-model", "tags.mlstack:model-version", "6"), {APPROVED}),
    ("kserve-version-not-recorded", "prod", lambda g: g.drop("defects-isvc", ("metadata", "labels", "mlstack.dev/model-version")), {APPROVED}),
    ("served-version-pending-in-prod", "prod", lambda g: g.set("scoring-model", "tags.mlstack:approval-status", "PendingManualApproval"), {APPROVED}),
    ("served-version-status-unrecorded-in-prod", "prod", lambda g: g.drop("scoring-model", "tags.mlstack:approval-status"), {APPROVED}),
    ("kserve-version-rejected-in-prod", "prod", lambda g: g.set("defects-isvc", ("metadata", "labels", "mlstack.dev/approval-status"), "Rejected"), {APPROVED}),
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("version-recorded-wrong", "staging"),
    ("served-version-pending-in-prod", "staging"),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    assert_passes(change_of(CASES, case)(baseline(env)))
