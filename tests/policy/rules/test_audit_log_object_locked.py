"""Tests of ``mlstack-audit-log-object-locked`` (mlstack/policy/rules/audit_log_object_locked.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import AUDIT, Case, assert_fails_exactly, messages, violated
from ..graphs import baseline


def without_audit_log(g):
    for name in ("audit-records-policy", "audit-records-lock", "audit-records-versioning", "audit-records-public-access",
                 "audit-records-encryption", "audit-records", "audit-signing-key", "audit-key", "audit"):
        g.remove(name)
    return g


CASES: list[Case] = [
    ("prod-without-a-decision-log", "prod", without_audit_log, {AUDIT}),
    ("bucket-without-object-lock", "prod", lambda g: g.set("audit-records", "objectLockEnabled", False), {AUDIT}),
    ("governance-mode", "prod", lambda g: g.set("audit-records-lock", "rule.defaultRetention.mode", "GOVERNANCE"), {AUDIT}),
    ("retention-shorter-than-seven-years", "prod", lambda g: g.set("audit-records-lock", "rule.defaultRetention", {"mode": "COMPLIANCE", "days": 30}), {AUDIT}),
    ("no-lock-configuration", "prod", lambda g: g.remove("audit-records-lock"), {AUDIT}),
    ("versioning-suspended", "prod", lambda g: g.set("audit-records-versioning", "versioningConfiguration.status", "Suspended"), {AUDIT}),
    ("policy-allows-deletes", "prod", lambda g: g.set("audit-records-policy", "policy", '{"Version": "2012-10-17", "Statement": []}'), {AUDIT}),
    ("signing-key-of-another-spec", "prod", lambda g: g.set("audit-signing-key", "customerMasterKeySpec", "RSA_2048"), {AUDIT}),
    ("dev-without-a-decision-log", "dev", without_audit_log, set()),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


def test_the_missing_log_is_reported_on_the_registry_with_how_to_fix_it():
    report = without_audit_log(baseline("prod")).check()
    (violation,) = [v for v in report.violations if v.policy == AUDIT]
    assert "model package group 'churn-xgb-group' must have its promotion decisions recorded" in violation.message
    assert "declare mlstack:audit" in violation.message


def test_a_conditional_deny_does_not_count_and_min_retention_is_configurable():
    g = baseline("prod")
    g.set("audit-records-policy", "policy", '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", '
          '"Action": "s3:Delete*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}')
    assert AUDIT in violated(g.check()), messages(g.check())
    g = baseline("prod").set("audit-records-lock", "rule.defaultRetention", {"mode": "COMPLIANCE", "days": 400})
    assert AUDIT not in violated(g.check({AUDIT: {"minRetentionDays": 365}}))
    assert AUDIT in violated(g.check())
