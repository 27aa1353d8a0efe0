"""The signed decision log on the AWS test endpoint (moto in server mode): Object Lock, KMS
ECC_NIST_P256 sign and verify, records written by `mlstack promote` and `mlstack verify`, and
`mlstack audit verify` against a log an attacker has worked on."""

from __future__ import annotations

import base64
import json

import pytest

from mlstack.audit.log import DecisionLog
from mlstack.audit.record import GENESIS, canonical, digest, record_key, signed_message

GROUP = "churn-churn-xgb"


def promote(cli, stack, *extra: str):
    return cli("promote", str(stack), "--model", "churn-xgb", *extra)


def records(world) -> list[dict]:
    s3 = world.s3
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix="log/").get("Contents", []))
    return [json.loads(s3.get_object(Bucket=world.bucket, Key=k)["Body"].read()) for k in keys]


def put_raw(world, seq: int, record: dict) -> None:
    world.s3.put_object(Bucket=world.bucket, Key=record_key(seq), Body=json.dumps(record).encode(), ChecksumAlgorithm="SHA256")


def sign_with(world, key_id: str, record: dict) -> dict:
    answer = world.kms.sign(KeyId=key_id, Message=signed_message(digest(record)), MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    return {"keyId": answer["KeyId"], "algorithm": "ECDSA_SHA_256", "value": base64.b64encode(answer["Signature"]).decode()}


@pytest.fixture
def two_decisions(aws, cli, audit_stack, registry, audit_log):
    """An approval (v1) then a rejection (v2), each recorded; returns the stack path."""
    stack = audit_stack()
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, metadata={"bias_delta": "0.001"})
    assert promote(cli, stack)[0] == 0
    registry.version(metrics={"accuracy": 0.80}, metadata={"bias_delta": "0.001"})
    assert promote(cli, stack)[0] == 1
    return stack


def test_promote_writes_one_signed_chained_record_per_decision(two_decisions, audit_log, registry):
    first, second = records(audit_log)
    assert (first["seq"], first["prev"]) == (1, GENESIS)
    assert (second["seq"], second["prev"]) == (2, digest(first))
    assert [r["body"]["decision"] for r in (first, second)] == ["Approved", "Rejected"]
    assert second["body"]["candidate"]["version"] == 2 and second["body"]["baseline"]["version"] == 1
    gate = second["body"]["gates"][0]
    assert (gate["metric"], gate["op"], gate["value"], gate["bound"], gate["passed"]) == ("accuracy", ">=", 0.8, 0.9, False)
    assert second["who"].startswith("arn:aws:") and second["commit"] == "c0ffee" and second["stack"] == "churn-dev"
    assert second["signature"]["keyId"] == audit_log.key_arn
    answer = audit_log.kms.verify(
        KeyId=audit_log.key_arn, Message=signed_message(digest(second)), MessageType="RAW",
        Signature=base64.b64decode(second["signature"]["value"]), SigningAlgorithm="ECDSA_SHA_256",
    )
    assert answer["SignatureValid"] is True
    # The record says what the registry was told.
    assert registry.describe(second["body"]["candidate"]["arn"])["ApprovalDescription"] == second["body"]["approvalDescription"]


def test_audit_verify_accepts_an_intact_log_and_prints_its_head(two_decisions, audit_log, cli):
    code, out, err = cli("audit", "verify", str(two_decisions))
    assert (code, err) == (0, ""), out
    head = digest(records(audit_log)[-1])
    assert f"2 records (2 promote); head 2:{head}" in out
    assert "OK every record is signed" in out
    assert cli("audit", "verify", str(two_decisions), "--head", f"2:{head}")[0] == 0


def test_a_record_cannot_be_deleted_and_an_edit_is_a_second_version_reported(two_decisions, audit_log, cli):
    s3 = audit_log.s3
    version = s3.list_object_versions(Bucket=audit_log.bucket, Prefix=record_key(1))["Versions"][0]["VersionId"]
    with pytest.raises(Exception) as denied:
        s3.delete_object(Bucket=audit_log.bucket, Key=record_key(1), VersionId=version)
    assert "AccessDenied" in str(denied.value)
    edited = records(audit_log)[0]
    edited["body"]["decision"] = "Rejected"
    put_raw(audit_log, 1, edited)

    code, out, _ = cli("audit", "verify", str(two_decisions))

    assert code == 1
    assert f"{record_key(1)}: written 2 times (edited after it was written)" in out
    assert "chain is broken" not in out  # the locked original is what is checked, and it still chains


def test_a_record_edited_in_place_fails_its_signature(two_decisions, audit_log):
    # What a copy of the log served from an unlocked bucket would hold: record 1 with a better value.
    from mlstack.audit.verify import _record_problems, load_public_key

    first = records(audit_log)[0]
    key = load_public_key(audit_log.kms.get_public_key(KeyId=audit_log.key_arn)["PublicKey"])
    assert _record_problems(first, 1, "churn-dev", audit_log.key_arn, key) == []
    first["body"]["gates"][0]["value"] = 0.99
    assert _record_problems(first, 1, "churn-dev", audit_log.key_arn, key) == [
        "its signature does not verify (the record was edited after signing, or signed by another key)"
    ]


def test_records_signed_by_another_key_replayed_or_out_of_sequence_are_reported(two_decisions, audit_log, cli):
    first, second = records(audit_log)
    # Signed by a key the attacker controls, claiming to be the next record.
    other = audit_log.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    forged = {k: v for k, v in second.items() if k != "signature"} | {"seq": 3, "prev": digest(second)}
    forged["body"] = dict(forged["body"], decision="Approved")
    forged["signature"] = sign_with(audit_log, other, forged)
    put_raw(audit_log, 3, forged)
    # Signed by a different key but claiming the stack's key id.
    lying = dict(forged, seq=4, prev=digest(forged))
    lying["signature"] = dict(sign_with(audit_log, other, lying), keyId=audit_log.key_arn)
    put_raw(audit_log, 4, lying)
    # A replay of record 1 at position 5, and a gap at 6.
    put_raw(audit_log, 5, first)
    put_raw(audit_log, 7, first | {"seq": 7})

    code, out, _ = cli("audit", "verify", str(two_decisions), "--no-registry")

    assert code == 1
    assert f"{record_key(3)}: is signed with {other}, not the stack's signing key {audit_log.key_arn}" in out
    assert f"{record_key(4)}: its signature does not verify" in out
    assert f"{record_key(5)}: says seq 1 (a record copied from another position: a replay)" in out
    assert f"{record_key(5)}: its prev does not match the digest of record 4" in out
    assert f"{record_key(6)}: missing (a gap in the sequence)" in out
    assert f"{record_key(7)}: its signature does not verify" in out


def test_a_stray_record_far_ahead_is_one_gap_and_a_rewritten_head_is_reported(two_decisions, audit_log, cli):
    first, second = records(audit_log)
    put_raw(audit_log, 10**11, first)
    code, out, _ = cli("audit", "verify", str(two_decisions), "--no-registry", "--head", f"2:{'0' * 64}")
    assert code == 1
    assert f"{record_key(3)} to {record_key(10**11 - 1)}: missing (a gap in the sequence)" in out
    assert f"--head 2: the log's record 2 has digest {digest(second)}, not {'0' * 64}; the log was rewritten" in out


def test_a_hidden_latest_record_is_reported_and_the_next_record_still_chains_after_it(two_decisions, audit_log, cli, registry):
    audit_log.s3.delete_object(Bucket=audit_log.bucket, Key=record_key(2))  # a delete marker, the version stays locked
    registry.version(metrics={"accuracy": 0.95}, metadata={"bias_delta": "0.001"})
    assert promote(cli, two_decisions)[0] == 0
    third = records(audit_log)[-1]
    assert third["seq"] == 3

    code, out, _ = cli("audit", "verify", str(two_decisions))

    assert code == 1
    assert f"{record_key(2)}: deleted (a delete marker" in out
    assert "chain is broken" not in out and "3 records" in out


def test_tail_truncation_shows_against_the_head_and_the_registry(governed_log, aws, cli, audit_stack, registry):
    world = governed_log
    stack = audit_stack()
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, metadata={"bias_delta": "0.001"})
    assert promote(cli, stack)[0] == 0
    registry.version(metrics={"accuracy": 0.95}, metadata={"bias_delta": "0.001"})
    assert promote(cli, stack)[0] == 0
    head = digest(records(world)[-1])
    # Only possible where retention can be bypassed (governance) or has expired: the latest record goes.
    for v in world.s3.list_object_versions(Bucket=world.bucket, Prefix=record_key(2))["Versions"]:
        world.s3.delete_object(Bucket=world.bucket, Key=record_key(2), VersionId=v["VersionId"], BypassGovernanceRetention=True)

    code, out, _ = cli("audit", "verify", str(stack), "--head", f"2:{head}")

    assert code == 1
    assert "--head 2: the log ends at record 1; records after it were removed (tail truncation)" in out
    assert f"registry: {GROUP} v2 is Approved by mlstack promote, but the log holds no verified record" in out
    assert f"{GROUP} v1" not in out


def test_concurrent_promotes_never_share_a_sequence_number(aws, audit_stack, audit_log, monkeypatch):
    from mlstack.config import load_stack

    stack = load_stack(audit_stack())
    mine, theirs = DecisionLog.for_stack(aws, stack), DecisionLog.for_stack(aws, stack)
    real_sign = DecisionLog.sign
    raced = []

    def sign_then_lose_the_race(self, record):
        if self is mine and not raced:
            raced.append(record["seq"])
            theirs.append("verify", {"result": "as-declared", "endpoints": []})  # wins seq 1 meanwhile
        return real_sign(self, record)

    monkeypatch.setattr(DecisionLog, "sign", sign_then_lose_the_race)
    written = mine.append("verify", {"result": "differs", "endpoints": []})

    assert raced == [1] and written["seq"] == 2
    first, second = records(audit_log)
    assert second["prev"] == digest(first) and second["body"]["result"] == "differs"
    assert len(audit_log.s3.list_object_versions(Bucket=audit_log.bucket, Prefix="log/")["Versions"]) == 2


def test_verify_records_its_result(aws, cli, audit_stack, audit_log):
    assert cli("verify", str(audit_stack()))[0] == 0
    (record,) = records(audit_log)
    assert (record["kind"], record["body"]) == ("verify", {"result": "as-declared", "endpoints": []})


def test_promote_stops_before_changing_the_registry_when_the_log_cannot_be_written(aws, cli, audit_stack, registry, aws_session):
    stack = audit_stack()
    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.90}, metadata={"bias_delta": "0.001"})

    code, _, err = promote(cli, stack)

    assert code == 2
    assert "the audit bucket 'churn-dev-audit-123456789012-us-east-1' of stack 'churn-dev' does not exist" in err
    assert registry.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"
    # A bucket of that name without Object Lock is not a decision log either.
    aws_session.client("s3").create_bucket(Bucket="churn-dev-audit-123456789012-us-east-1")
    code, _, err = promote(cli, stack)
    assert code == 2 and "has no Object Lock configuration" in err
    assert registry.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"


def test_a_pinned_public_key_verifies_offline_from_kms_and_a_wrong_one_fails(two_decisions, audit_log, cli, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

    der = audit_log.kms.get_public_key(KeyId=audit_log.key_arn)["PublicKey"]
    pinned = tmp_path / "audit.pem"
    pinned.write_bytes(load_der_public_key(der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert cli("audit", "verify", str(two_decisions), "--public-key", str(pinned))[0] == 0
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    code, out, _ = cli("audit", "verify", str(two_decisions), "--public-key", str(wrong))
    assert code == 1 and out.count("its signature does not verify") == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--head", "two:abc"], "--head 'two:abc' is not SEQ:DIGEST"),
        (["--public-key", "missing.pem"], "--public-key"),
    ],
)
def test_bad_input_exits_2(aws, cli, audit_stack, argv, message):
    code, _, err = cli("audit", "verify", str(audit_stack()), *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_stack_without_a_log_exits_2(aws, cli, ops_stack):
    code, _, err = cli("audit", "verify", str(ops_stack()))
    assert code == 2 and "has no decision log (mlstack:audit is off in dev)" in err


def test_canonical_bytes_refuse_non_finite_numbers():
    from mlstack.audit.record import RecordError

    with pytest.raises(RecordError):
        canonical({"body": {"value": float("nan")}})


def test_a_decision_that_bypassed_the_log_shows_even_in_an_empty_log(aws, cli, audit_stack, registry, audit_log):
    stack = audit_stack()
    registry.group()
    version = registry.version(metrics={"accuracy": 0.90})
    registry.sagemaker.update_model_package(
        ModelPackageArn=version, ModelApprovalStatus="Approved",
        ApprovalDescription="mlstack promote APPROVED v1 (stack churn-dev, last approved none, 2026-11-28T04:00:00Z): PASS accuracy",
    )

    code, out, _ = cli("audit", "verify", str(stack))

    assert code == 1 and "0 records (none)" in out
    assert f"registry: {GROUP} v1 is Approved by mlstack promote, but the log holds no verified record" in out
    assert cli("audit", "verify", str(stack), "--no-registry")[0] == 0


def test_a_retention_changed_outside_the_stack_is_reported(aws, cli, audit_stack, audit_log):
    audit_log.s3.put_object_lock_configuration(
        Bucket=audit_log.bucket,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
    )
    code, out, _ = cli("audit", "verify", str(audit_stack()))
    assert code == 1
    assert "the bucket's Object Lock default retention is GOVERNANCE 1 days, but mlstack:audit declares COMPLIANCE 30 days" in out


def test_a_log_longer_than_a_listing_page_finds_its_head_by_bisection(aws, audit_stack, audit_log, monkeypatch):
    from mlstack.config import load_stack

    log = DecisionLog.for_stack(aws, load_stack(audit_stack()))
    for _ in range(6):
        log.append("verify", {"result": "as-declared", "endpoints": []})
    monkeypatch.setattr(DecisionLog, "LIST_PAGE", 2)
    calls = []
    real = DecisionLog._any_record_from
    monkeypatch.setattr(DecisionLog, "_any_record_from", lambda self, seq: calls.append(seq) or real(self, seq))
    assert log.head().seq == 6 and calls  # the search ran
    written = log.append("verify", {"result": "differs", "endpoints": []})
    assert written["seq"] == 7 and written["prev"] == digest(records(audit_log)[5])
    # A stray object after the records does not count as one.
    audit_log.s3.put_object(Bucket=audit_log.bucket, Key="log/zz-not-a-record", Body=b"x")
    assert log.head().seq == 7


def test_the_signature_library_is_a_core_dependency():
    # audit verify is a day-2 command of a core install; it verifies signatures with cryptography.
    import tomllib

    from conftest import ROOT

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "cryptography" for d in declared)


def test_a_record_locked_otherwise_than_declared_is_reported(aws, cli, audit_stack, governed_log):
    from mlstack.config import load_stack

    DecisionLog.for_stack(aws, load_stack(audit_stack())).append("verify", {"result": "as-declared", "endpoints": []})

    code, out, _ = cli("audit", "verify", str(audit_stack()))

    assert code == 1
    assert f"{record_key(1)}: is not locked as declared (Object Lock GOVERNANCE, until " in out
    assert "mlstack:audit declares compliance): it can be deleted" in out
