"""AuditLog and mlstack:audit: exact children and inputs of the decision log's bucket and signing
key, the names the day-2 commands look for, and the defaults per environment."""

from __future__ import annotations

import json

import pytest

from mlstack.components import ComponentError
from mlstack.components.audit import AuditLog, AuditLogArgs
from mlstack.engine import run_program
from mlstack.lookups import OfflineAnswers
from mlstack.specs.audit import AuditSpec, audit_bucket_name, resolve_audit, signing_key_alias

BUCKET = "aws:s3/bucket:Bucket"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def build(args: AuditLogArgs):
    def program():
        AuditLog("audit", args)

    return run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))


@pytest.fixture(scope="module")
def prod_plan():
    from mlstack.engine import plan_stack

    from conftest import ROOT

    return plan_stack("churn-prod", cwd=ROOT)


def test_prod_stack_gets_the_log_its_commands_look_for(prod_plan):
    (bucket,) = [r for r in prod_plan.by_type(BUCKET) if r.name == "audit-records"]
    assert bucket.inputs["bucket"] == audit_bucket_name("churn-prod", "210987654321", "eu-west-1") == "churn-prod-audit-210987654321-eu-west-1"
    assert bucket.inputs["objectLockEnabled"] is True
    assert "forceDestroy" not in bucket.inputs or bucket.inputs["forceDestroy"] is False
    assert bucket.inputs["tags"]["mlstack:audit-log"] == "decisions" and bucket.inputs["tags"]["mlstack:stack"] == "churn-prod"
    (lock,) = prod_plan.by_type(LOCK)
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "years": 7}}
    assert lock.inputs["bucket"] == bucket.inputs["bucket"]
    (signing,) = [r for r in prod_plan.by_type(KEY) if r.name == "audit-signing-key"]
    assert (signing.inputs["customerMasterKeySpec"], signing.inputs["keyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    (alias,) = [r for r in prod_plan.by_type(ALIAS) if r.name == "audit-signing-key-alias"]
    assert alias.inputs["name"] == signing_key_alias("churn-prod") == "alias/mlstack/churn-prod/audit-signing"


def test_the_bucket_policy_denies_deletes_lifecycle_and_unconditional_puts(prod_plan):
    (policy,) = [r for r in prod_plan.by_type(POLICY) if r.name == "audit-records-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["DenyRecordDeletion"]["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]
    assert statements["DenyExpiringRecords"]["Action"] == ["s3:PutLifecycleConfiguration"]
    assert statements["DenyOverwritingRecords"]["Condition"] == {"Null": {"s3:if-none-match": "true"}}
    assert all(s["Effect"] == "Deny" and s["Principal"] == "*" for s in statements.values())
    assert {"DenyInsecureTransport", "DenyOtherEncryptionKeys"} <= statements.keys()


def test_days_and_governance_outside_prod():
    graph = build(AuditLogArgs(bucket_name="churn-dev-audit", key_alias="alias/mlstack/churn-dev/audit-signing", mode="governance", retention_days=30))
    (lock,) = graph.by_type(LOCK)
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}}
    component = graph.by_type("mlstack:index:AuditLog")[0]
    assert sorted(r.name for r in graph.children(component.urn)) == [
        "audit-key", "audit-records", "audit-records-encryption", "audit-records-lock", "audit-records-ownership",
        "audit-records-policy", "audit-records-public-access-block", "audit-records-versioning", "audit-signing-key",
        "audit-signing-key-alias",
    ]  # fmt: skip


def test_exactly_one_retention_is_required():
    with pytest.raises(ComponentError, match="give exactly one of retention_days and retention_years"):
        AuditLogArgs(bucket_name="b-audit", key_alias="alias/a", retention_days=1, retention_years=1)


def test_on_by_default_in_prod_only_with_seven_years():
    assert resolve_audit(AuditSpec(), "dev") is None and resolve_audit(AuditSpec(), "staging") is None
    prod = resolve_audit(AuditSpec(), "prod")
    assert prod is not None and (prod.years, prod.days, prod.retention_days) == (7, None, 2555)
    dev = resolve_audit(AuditSpec(enabled=True), "dev")
    assert dev is not None and dev.days == 30
    assert resolve_audit(AuditSpec(enabled=False), "prod") is None


def test_long_stack_names_give_a_valid_unique_bucket_name():
    one = audit_bucket_name("a-very-long-team-name-for-churn-models-prod", "210987654321", "ap-southeast-2")
    two = audit_bucket_name("a-very-long-team-name-for-churn-models-prd2", "210987654321", "ap-southeast-2")
    assert len(one) <= 63 and len(two) <= 63 and one != two
    assert one.endswith("-audit-210987654321-ap-southeast-2")
    assert audit_bucket_name("Churn_Prod", "210987654321", "eu-west-1") == "churn-prod-audit-210987654321-eu-west-1"


def test_check_fails_a_prod_stack_that_switches_the_log_off(cli, write_stack):
    on = write_stack({"mlstack:environment": "prod"}, stack="churn-prod")
    assert cli("check", str(on))[0] == 0
    off = write_stack({"mlstack:environment": "prod", "mlstack:audit": {"enabled": False}}, stack="churn-prod")
    code, out, _ = cli("check", str(off))
    assert code == 1
    assert "mlstack-audit-log-object-locked" in out
    assert "model package group 'churn-xgb-group' must have its promotion decisions recorded in a signed, append-only decision log" in out
