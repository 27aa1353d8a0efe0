"""Tests of ``mlstack-resource-policy-not-public``
(mlstack/policy/rules/resource_policy_not_public.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import RESOURCE, Case, assert_fails_exactly, drop_condition
from ..graphs import FOREIGN, iam_baseline, policy_json, set_statements


IAM_CASES: list[Case] = [
    ("bucket-policy-public-read", "prod", lambda g: set_statements(g, "churn-xgb-training-artifacts-policy", "policy", [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::churn-artifacts/*"}]), {RESOURCE}),
    ("topic-policy-public-publish", "dev", lambda g: drop_condition("monitor-topic-policy", "policy", "OwnerAccount")(g), {RESOURCE}),
    ("queue-policy-public", "dev", lambda g: g.set("monitor-dead-letters", "policy", policy_json({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"})), {RESOURCE}),
    ("registry-shared-with-foreign-account", "prod", lambda g: set_statements(g, "churn-xgb-cross-account", "resourcePolicy", [{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]), {RESOURCE}),
    ("lambda-permission-anyone", "prod", lambda g: g.set("baseline-fn-invoke", "principal", "*").drop("baseline-fn-invoke", "sourceArn"), {RESOURCE}),
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)
