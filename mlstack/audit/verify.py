"""``mlstack audit verify``: walk a decision log and report everything that does not hold.

For every record, oldest first: it parses as mlstack-audit/1; its ``seq`` and ``stack`` match its
key and its log; it is signed by the stack's signing key (the key behind the alias, or the
public key the auditor pins with ``--public-key``) and the signature verifies; its ``prev`` is
the digest of the record before it. Over the log: no sequence number is missing (a gap), no
key has more than one version (an edit: the original stays locked and is what is checked), no
key carries a delete marker (a hidden record), and nothing else is stored under ``log/``.

Tail truncation (the latest records gone) cannot show in the chain itself. Two witnesses:
``--head SEQ:DIGEST`` (the head an earlier run printed: the log must still hold that record with
that digest), and the registry: every version whose approval description says ``mlstack
promote`` decided it must have its promote record in the log (:func:`registry_witness`).

What this does not detect, by design: a record written by someone allowed to use the signing
key (``kms:Sign``) with false content — the signature proves who could sign, not that the gates
were honest; a promote whose registry change never happened after its record was written (the
record is written first); deletions after Object Lock retention has expired together with the
loss of every witness.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from ..ops.aws import MalformedResponse, unreadable_answers
from .log import DecisionLog, oldest
from .record import GENESIS, SIGNING_ALGORITHM, RecordError, digest, parse_record, record_key, seq_of_key, signed_message

__all__ = ["LogReport", "verify_log", "load_public_key", "registry_witness", "parse_head", "retention_problems"]

KEY_SPEC, KEY_USAGE = "ECC_NIST_P256", "SIGN_VERIFY"


@dataclass
class LogReport:
    """What ``verify_log`` found: the records checked, the head, and every problem."""

    stack: str
    bucket: str
    key_id: Optional[str] = None
    records: int = 0
    head_seq: int = 0
    head_digest: str = GENESIS
    problems: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    promotes: list[dict[str, Any]] = field(default_factory=list)
    """The body of every promote record that verified (for the registry witness)."""
    first_at: Optional[str] = None
    """When the first record was written (decisions before it predate the log)."""
    key_created: Any = None
    """When the signing key was created (a datetime from DescribeKey): the log cannot be older."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def render(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items())) or "none"
        lines = [f"decision log of {self.stack} (s3://{self.bucket}/log/, signing key {self.key_id or 'pinned public key'})"]
        lines.append(f"  {self.records} record{'s' if self.records != 1 else ''} ({kinds}); head {self.head_seq}:{self.head_digest}")
        lines += [f"  PROBLEM {p}" for p in self.problems]
        if self.ok:
            lines.append("OK every record is signed by the stack's key, chained to the one before, unedited and in place")
        else:
            lines.append(f"FAILED {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}: the log was tampered with or damaged")
        return "\n".join(lines)


def parse_head(text: str) -> tuple[int, str]:
    """``--head 42:<64 hex>`` -> (42, digest); ValueError with how to write it."""
    seq, _, value = text.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"--head {text!r} is not SEQ:DIGEST; pass the head an earlier `mlstack audit verify` printed, e.g. 42:{'0' * 64}")
    return int(seq), value


def load_public_key(der_or_pem: bytes) -> Any:
    """An ECDSA P-256 public key from DER (KMS GetPublicKey) or PEM (``--public-key``)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    loader = load_pem_public_key if der_or_pem.lstrip().startswith(b"-----BEGIN") else load_der_public_key
    key = loader(der_or_pem)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("is not an ECC_NIST_P256 (secp256r1) public key")
    return key


def _kms_public_key(log: DecisionLog, report: LogReport) -> tuple[str, Any]:
    """The ARN and public key of the key the stack's alias names (DescribeKey for the ARN: moto
    answers GetPublicKey with the bare key id where AWS gives the ARN)."""
    kms = log.aws.client("kms")
    described = kms.describe_key(KeyId=log.key_alias)
    with unreadable_answers("KMS DescribeKey"):
        metadata = described["KeyMetadata"]
        arn, spec, usage = metadata["Arn"], metadata.get("KeySpec"), metadata.get("KeyUsage")
        report.key_created = metadata.get("CreationDate")
    answer = kms.get_public_key(KeyId=arn)
    with unreadable_answers("KMS GetPublicKey"):
        der = answer["PublicKey"]
        algorithms = answer.get("SigningAlgorithms") or []
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise MalformedResponse(f"KMS DescribeKey answered no key ARN for {log.key_alias} ({arn!r})")
    if spec != KEY_SPEC or usage != KEY_USAGE or SIGNING_ALGORITHM not in algorithms:
        raise MalformedResponse(
            f"the signing key {log.key_alias} is {spec} for {usage} ({', '.join(algorithms) or 'no signing algorithms'}); "
            f"an mlstack decision log is signed with an {KEY_SPEC} {KEY_USAGE} key"
        )
    try:
        return arn, load_public_key(der)
    except ValueError as exc:
        raise MalformedResponse(f"KMS GetPublicKey answered a key that {exc}") from None


def _signature_ok(public_key: Any, record: Mapping[str, Any]) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        value = base64.b64decode(record["signature"]["value"], validate=True)
        public_key.verify(value, signed_message(digest(record)), ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def verify_log(log: DecisionLog, *, public_key: Any = None, head: Optional[tuple[int, str]] = None) -> LogReport:
    """Check every record of ``log``; ``public_key`` pins the key (else KMS GetPublicKey of the
    stack's alias); ``head`` is a (seq, digest) the log must still hold."""
    report = LogReport(stack=log.stack, bucket=log.bucket)
    report.problems += retention_problems(log.check_bucket(), log.settings)
    if public_key is None:
        report.key_id, public_key = _kms_public_key(log, report)
    versions, markers = log.versions()
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for version in versions:
        key = str(version.get("Key"))
        seq = seq_of_key(key)
        if seq is None:
            report.problems.append(f"{key}: an object that is not a record lies in the log")
            continue
        by_seq.setdefault(seq, []).append(version)
    for marker in markers:
        key = str(marker.get("Key"))
        who = _owner(marker)
        report.problems.append(f"{key}: deleted (a delete marker{who} hides it); the locked record is still checked")
        seq = seq_of_key(key)
        if seq is not None and seq not in by_seq:
            by_seq[seq] = []
    last = max(by_seq, default=0)
    previous: Optional[str] = GENESIS
    previous_seq = 0
    digests: dict[int, str] = {}
    # Only the numbers present are walked: a stray record numbered 10**11 is one gap, not a loop.
    for seq in sorted(by_seq):
        key = record_key(seq)
        if seq > previous_seq + 1:
            missing = record_key(previous_seq + 1) if seq == previous_seq + 2 else f"{record_key(previous_seq + 1)} to {record_key(seq - 1)}"
            report.problems.append(f"{missing}: missing (a gap in the sequence); the next record cannot chain to it")
            previous = None
        found = by_seq[seq]
        if not found:  # only a delete marker, already reported
            previous, previous_seq = None, seq
            continue
        if len(found) > 1:
            report.problems.append(f"{key}: written {len(found)} times (edited after it was written); the original version is checked")
        original = oldest(found)
        data, lock_mode, locked_until = log.fetch(key, original.get("VersionId"))
        try:
            record = parse_record(data)
        except RecordError as exc:
            report.problems.append(f"{key}: {exc}")
            previous, previous_seq = None, seq
            continue
        problems = _record_problems(record, seq, log.stack, report.key_id, public_key)
        if not problems and record["kind"] == "promote":
            report.promotes.append(record["body"])  # signed by the stack's key, in its place: it witnesses its decision
        if log.settings is not None and (lock_mode != log.settings.mode.value.upper() or locked_until is None):
            problems.append(
                f"is not locked as declared (Object Lock {lock_mode or 'none'}, until {locked_until or 'never'}; "
                f"mlstack:audit declares {log.settings.mode.value}): it can be deleted"
            )
        if previous is not None and record["prev"] != previous:
            problems.append(f"its prev does not match the digest of record {previous_seq} (the chain is broken: an earlier record was replaced or this one was inserted)")
        report.problems += [f"{key}: {p}" for p in problems]
        report.records += 1
        if seq == 1:
            report.first_at = record["at"]
        report.kinds[record["kind"]] = report.kinds.get(record["kind"], 0) + 1
        previous = digests[seq] = digest(record)
        previous_seq = seq
        report.head_seq, report.head_digest = seq, previous
    if head is not None:
        seq, value = head
        if seq > last:
            report.problems.append(f"--head {seq}: the log ends at record {last}; records after it were removed (tail truncation) or the log was replaced")
        elif seq in digests and digests[seq] != value:
            report.problems.append(f"--head {seq}: the log's record {seq} has digest {digests[seq]}, not {value}; the log was rewritten")
    return report


def retention_problems(live: Mapping[str, Any], declared: Any) -> list[str]:
    """The bucket's live Object Lock default retention against ``mlstack:audit`` (changed outside
    the stack, or never deployed as declared)."""
    if declared is None:
        return []
    want_mode = declared.mode.value.upper()
    want = (declared.years, "Years") if declared.years is not None else (declared.days, "Days")
    mode, amount = live.get("Mode"), live.get(want[1])
    if mode == want_mode and amount == want[0]:
        return []
    have = f"{mode} {live.get('Years') or live.get('Days')} {'years' if live.get('Years') else 'days'}" if mode else "none"
    return [
        f"the bucket's Object Lock default retention is {have}, but mlstack:audit declares {want_mode} {want[0]} {want[1].lower()}; "
        "new records are not locked as declared: deploy the stack (pulumi up)"
    ]


def _record_problems(record: Mapping[str, Any], seq: int, stack: str, key_id: Optional[str], public_key: Any) -> list[str]:
    problems = []
    if record["seq"] != seq:
        problems.append(f"says seq {record['seq']} (a record copied from another position: a replay)")
    if record["stack"] != stack:
        problems.append(f"belongs to stack {record['stack']!r} (a record copied from another log: a replay)")
    signature = record["signature"]
    if key_id is not None and signature["keyId"] != key_id:
        problems.append(f"is signed with {signature['keyId']}, not the stack's signing key {key_id}")
    elif signature["algorithm"] != SIGNING_ALGORITHM:
        problems.append(f"is signed with {signature['algorithm']!r}, not {SIGNING_ALGORITHM}")
    elif not _signature_ok(public_key, record):
        problems.append("its signature does not verify (the record was edited after signing, or signed by another key)")
    return problems


def _owner(marker: Mapping[str, Any]) -> str:
    owner = marker.get("Owner") or {}
    name = owner.get("DisplayName") or owner.get("ID") if isinstance(owner, Mapping) else None
    return f" by {name}" if name else ""


#: How an approval description written by ``mlstack promote`` starts (mlstack.ops.promote).
PROMOTE_PREFIX = "mlstack promote "


def registry_witness(log: DecisionLog, stack: Any, report: LogReport) -> list[str]:
    """Versions the registry says ``mlstack promote`` decided after the log's first record, with
    no promote record in the log: the log lost its tail, or a decision bypassed it."""
    import datetime as _dt

    from ..ops.registry import model_version

    # The log began when its signing key was made (an empty log is checked too), else at its
    # first record; with neither known there is no start to compare with.
    if isinstance(report.key_created, _dt.datetime):
        start = report.key_created.astimezone(_dt.timezone.utc)
    elif report.first_at is not None:
        start = _dt.datetime.strptime(report.first_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    else:
        return []
    from ..ops.accounts import registry_access

    logged = {(str(b.get("group", "")).casefold(), b.get("candidate", {}).get("version"), b.get("decision")) for b in report.promotes}
    problems: list[str] = []
    for model in stack.spec.models:
        # The registry promote decided in: the stack's own, or another account's (source.registry,
        # through source.roleArn as promote reaches it) — never a same-named group of this account.
        access = registry_access(log.aws, stack, model.name, purpose="audit verify")
        sagemaker, group = access.aws.client("sagemaker"), access.group
        for summary in _packages(sagemaker, group):
            status = summary.get("ModelApprovalStatus")
            if status not in ("Approved", "Rejected"):
                continue
            package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            said = str(package.get("ApprovalDescription") or "")
            changed = package.get("LastModifiedTime")
            if not said.startswith(PROMOTE_PREFIX) or f"(stack {stack.stack}," not in said:
                continue
            if isinstance(changed, _dt.datetime) and changed.astimezone(_dt.timezone.utc) < start.replace(second=0):
                continue  # decided before the log began
            version = model_version(package)
            if (group.casefold(), version, status) not in logged:
                problems.append(
                    f"registry: {group} v{version} is {status} by mlstack promote, but the log holds no verified record of that "
                    "decision (the log lost its latest records, or the decision bypassed the log)"
                )
    return problems


def _packages(sagemaker: Any, group: str) -> Iterable[Mapping[str, Any]]:
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        try:
            page = sagemaker.list_model_packages(**kwargs)
        except Exception as exc:  # noqa: BLE001
            from ..ops.aws import is_not_found

            if is_not_found(exc):
                return
            raise
        yield from page.get("ModelPackageSummaryList") or []
        token = page.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token
