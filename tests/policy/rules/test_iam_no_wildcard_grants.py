"""Tests of ``mlstack-iam-no-wildcard-grants`` (mlstack/policy/rules/iam_no_wildcard_grants.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import WILDCARD, Case, admin_policy_resource, assert_fails_exactly, role_inline, violated
from ..graphs import iam_baseline
from ..hostile_stacks import grant


IAM_CASES: list[Case] = [
    ("action-star-on-star", "dev", grant({"Effect": "Allow", "Action": "*", "Resource": "*"}), {WILDCARD}),
    ("service-star-on-star", "prod", grant({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), {WILDCARD}),
    ("iam-star-on-one-role", "staging", grant({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::210987654321:role/churn-training"}), {WILDCARD}),
    ("passrole-on-star-without-condition", "prod", grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}), {WILDCARD}),
    ("put-role-policy-on-every-role", "dev", grant({"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::210987654321:role/*"}), {WILDCARD}),
    ("administrator-access-attached", "prod", lambda g: g.set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"), {WILDCARD}),
    ("full-access-in-managed-policy-arns", "dev", lambda g: g.set("training-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]), {WILDCARD}),
    ("role-inline-policy-service-star", "dev", role_inline, {WILDCARD}),
    ("customer-policy-admin", "prod", admin_policy_resource, {WILDCARD}),
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)


def test_passrole_to_named_service_and_exact_roles_pass():
    scoped = grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})
    assert scoped(iam_baseline("prod")).check().violations == []
    reading = grant({"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"})
    assert reading(iam_baseline("prod")).check().violations == []


def test_allowed_managed_policies_config_admits_one_arn():
    g = iam_baseline("prod").set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AWSLambda_FullAccess")
    assert violated(g.check()) == {WILDCARD}
    assert g.check({WILDCARD: {"allowedManagedPolicies": ["arn:aws:iam::aws:policy/AWSLambda_*"]}}).violations == []
