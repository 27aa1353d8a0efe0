"""Tests of ``mlstack-s3-bucket-blocks-public-access``
(mlstack/policy/rules/s3_bucket_blocks_public_access.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import S3_PUBLIC, Case, assert_fails_exactly
from ..graphs import baseline


CASES: list[Case] = [
    ("public-access-flag-off", "dev", lambda g: g.set("churn-xgb-training-artifacts-public-access", "restrictPublicBuckets", False), {S3_PUBLIC}),
    ("bucket-without-public-access-block", "prod", lambda g: g.remove("churn-xgb-training-artifacts-public-access"), {S3_PUBLIC}),
    ("bucket-public-acl", "dev", lambda g: g.set("churn-xgb-training-artifacts", "acl", "public-read"), {S3_PUBLIC}),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)
