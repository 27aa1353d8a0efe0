"""AWS answers and log contents written to make the decision log accept what it should not: each
stops the command with a message (never a traceback) and writes nothing."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from mlstack.audit.log import DecisionLog
from mlstack.audit.record import record_key
from mlstack.config import load_stack
from mlstack.ops.aws import MalformedResponse, OpsError

from .conftest import deploy_log


def log_of(aws, audit_stack) -> DecisionLog:
    log = DecisionLog.for_stack(aws, load_stack(audit_stack()))
    assert log is not None
    return log


def keys(world) -> list[str]:
    return sorted(o["Key"] for o in world.s3.list_objects_v2(Bucket=world.bucket).get("Contents", []))


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"<html>proxy error</html>", "is not JSON"),
        (b'{"format": "mlstack-audit/1", "seq": 1, "seq": 2}', "repeats the key(s) 'seq'"),
        (b'{"format": "mlstack-audit/0"}', "has format 'mlstack-audit/0'"),
    ],
)
def test_an_unreadable_latest_record_stops_the_writer(aws, audit_stack, audit_log, body, fragment):
    audit_log.s3.put_object(Bucket=audit_log.bucket, Key=record_key(1), Body=body, ChecksumAlgorithm="SHA256")
    with pytest.raises(OpsError, match="nothing was written") as stopped:
        log_of(aws, audit_stack).append("verify", {})
    assert fragment in str(stopped.value)
    assert keys(audit_log) == [record_key(1)]


def test_a_latest_record_of_another_stack_stops_the_writer(aws, audit_stack, audit_log, aws_session):
    other = log_of(aws, audit_stack)
    other.stack = "fraud-dev"  # the same bucket written as another stack's log
    other.append("verify", {})
    with pytest.raises(OpsError, match="says seq 1 of stack 'fraud-dev'"):
        log_of(aws, audit_stack).append("verify", {})
    assert keys(audit_log) == [record_key(1)]


def test_a_sign_answer_with_another_algorithm_writes_nothing(aws, audit_stack, audit_log):
    log = log_of(aws, audit_stack)
    kms = aws.client("kms")
    with Stubber(kms) as stub:
        stub.add_response("sign", {"KeyId": audit_log.key_arn, "Signature": b"\x30\x06", "SigningAlgorithm": "RSASSA_PSS_SHA_256"})
        with pytest.raises(MalformedResponse, match="expected ECDSA_SHA_256"):
            log.append("verify", {})
    assert keys(audit_log) == []


def test_a_listing_that_says_more_follows_without_a_marker_stops(aws, audit_stack, audit_log):
    log = log_of(aws, audit_stack)
    with Stubber(aws.client("s3")) as stub:
        stub.add_response("list_object_versions", {"IsTruncated": True, "Versions": []})
        with pytest.raises(MalformedResponse, match="gave no marker"):
            log.versions()  # the walk audit verify makes


def test_verify_refuses_a_signing_key_that_is_not_p256_sign_verify(aws, audit_stack, aws_session):
    from mlstack.audit.verify import verify_log

    world = deploy_log(aws_session)
    kms = world.kms
    p384 = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    kms.update_alias(AliasName="alias/mlstack/churn-dev/audit-signing", TargetKeyId=p384)
    with pytest.raises(MalformedResponse, match="is ECC_NIST_P384 for SIGN_VERIFY"):
        verify_log(log_of(aws, audit_stack))


def test_a_bucket_without_object_lock_is_not_a_log(aws, audit_stack, aws_session):
    deploy_log(aws_session, lock=False)
    with pytest.raises(OpsError, match="has no Object Lock configuration") as stopped:
        log_of(aws, audit_stack).append("verify", {})
    assert stopped.value.exit_code == 2
