"""Tests of ``mlstack-kms-key-restricted-and-rotated``
(mlstack/policy/rules/kms_key_restricted_and_rotated.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import KMS_POLICY, Case, assert_fails_exactly, violated
from ..graphs import FOREIGN, iam_baseline
from ..hostile_stacks import key_statement


IAM_CASES: list[Case] = [
    ("key-policy-open-to-everyone", "prod", key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt"], "Resource": "*"}), {KMS_POLICY}),
    ("key-policy-names-foreign-role", "dev", key_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:role/x"}, "Action": "kms:Decrypt", "Resource": "*"}), {KMS_POLICY}),
    ("key-without-rotation", "staging", lambda g: g.drop("scoring-key", "enableKeyRotation"), {KMS_POLICY}),
    ("key-rotation-off", "dev", lambda g: g.set("monitor-key", "enableKeyRotation", False), {KMS_POLICY}),
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)


def test_asymmetric_and_custom_store_keys_need_no_rotation():
    g = iam_baseline("prod").drop("scoring-key", "enableKeyRotation")
    assert violated(g.check()) == {KMS_POLICY}
    assert g.set("scoring-key", "customerMasterKeySpec", "RSA_2048").set("scoring-key", "keyUsage", "SIGN_VERIFY").check().violations == []
