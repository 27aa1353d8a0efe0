"""Tests of ``mlstack-iam-trust-policy-restricted``
(mlstack/policy/rules/iam_trust_policy_restricted.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import OIDC, TRUST, Case, assert_fails_exactly, violated
from ..graphs import ACCOUNT, FOREIGN, READER, iam_baseline
from ..hostile_stacks import trust_statement


IAM_CASES: list[Case] = [
    ("trust-anyone", "dev", trust_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-any-aws-principal", "prod", trust_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-foreign-account", "prod", trust_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-oidc-without-subject", "prod", trust_statement({"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
                                                           "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}), {TRUST}),  # fmt: skip
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)


def test_violation_names_the_resource_statement_and_fix():
    report = trust_statement({"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "sts:AssumeRole"})(iam_baseline("prod")).check()
    (violation,) = report.violations
    assert violation.urn.endswith("aws:iam/role:Role::training-role")
    assert "'Anyone'" in violation.message and FOREIGN in violation.message
    assert f"the stack's own account {ACCOUNT} (mlstack:accountId)" in violation.message and READER in violation.message
    assert "trustedAccounts" in violation.message


def test_declared_reader_and_trusted_accounts_may_be_named():
    reader = trust_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{READER}:role/deployer"}, "Action": "sts:AssumeRole"})
    assert reader(iam_baseline("prod")).check().violations == []
    foreign = trust_statement({"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole"})(iam_baseline("prod"))
    assert violated(foreign.check()) == {TRUST}
    assert foreign.check({TRUST: {"trustedAccounts": [FOREIGN]}}).violations == []


def test_oidc_trust_pinned_to_a_repository_passes():
    pinned = trust_statement({"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
                              "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example/churn:ref:refs/heads/main"}}})  # fmt: skip
    assert pinned(iam_baseline("prod")).check().violations == []
