"""Appending to a stack's decision log: find the head, chain, sign, write once.

::

    log = DecisionLog.for_stack(aws, stack)          # None when mlstack:audit is off
    record = log.append("promote", {...})            # signed, chained, written exactly once

Ordering concurrent writers without a lost update: record ``n`` lives at the key ``log/<n>.json``
and is written with ``If-None-Match: *`` (S3 conditional writes): of two promotes that both read
head ``n - 1`` only one can create ``log/<n>.json``; the other gets 412 Precondition Failed (or
409 ConditionalRequestConflict while the first is in flight), re-reads the head and chains its
record after the winner's. Nothing is ever overwritten, and no record is chained to a head that
was not the head when it was written.

Fail closed: a stack whose config has the log on but whose bucket or key is missing, owned by
another account, not object-locked, or whose head record cannot be read stops the command before
it changes anything (the promote hook writes the record *before* the registry is changed).
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..ops.aws import Aws, MalformedResponse, OpsError, error_code, is_not_found, unreadable_answers
from ..specs.audit import AuditLogSettings, audit_bucket_name, resolve_audit, signing_key_alias
from .record import FORMAT, GENESIS, MAX_RECORD_BYTES, PREFIX, SIGNING_ALGORITHM, RecordError, digest, parse_record, record_key, seq_of_key, signed_message

__all__ = ["DecisionLog", "Head", "APPEND_ATTEMPTS", "caller_arn"]

#: How many times a writer re-reads the head after losing a race before giving up.
APPEND_ATTEMPTS = 8
#: Conditional-write refusals: the key exists (412), or another write of it is in flight (409).
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class Head:
    """The latest record of a log: its sequence number and digest (0 and :data:`GENESIS` when empty)."""

    seq: int
    digest: str


def caller_arn(aws: Aws) -> str:
    sts = aws.client("sts")
    with unreadable_answers("STS GetCallerIdentity"):
        identity = sts.get_caller_identity()
    arn, account = identity.get("Arn"), identity.get("Account")
    if not isinstance(arn, str) or not arn.startswith("arn:") or not isinstance(account, str) or len(account) != 12 or not account.isdigit():
        raise MalformedResponse(f"STS GetCallerIdentity answered no usable caller ({arn!r}, {account!r})")
    return arn


@dataclass
class DecisionLog:
    """One stack's decision log in its audit bucket, signed with its KMS key."""

    aws: Aws
    stack: str
    bucket: str
    account: str
    key_alias: str
    settings: Optional[AuditLogSettings] = None
    caller: Optional[str] = None
    """The ARN of the credentials in use (recorded as ``who``)."""

    #: Versions asked for in the first listing of :meth:`head` (S3 answers at most 1000).
    LIST_PAGE = 1000

    @classmethod
    def for_stack(cls, aws: Aws, stack: Any, *, required: bool = False) -> Optional["DecisionLog"]:
        """The log of ``stack`` (a loaded :class:`~mlstack.config.StackFile`), or None when its
        ``mlstack:audit`` is off (an OpsError, exit 2, when ``required``)."""
        settings = resolve_audit(stack.spec.audit, stack.spec.environment.value)
        if settings is None:
            if required:
                raise OpsError(
                    f"stack {stack.stack!r} has no decision log (mlstack:audit is off in {stack.spec.environment.value}); "
                    "set mlstack:audit: {enabled: true} and deploy it",
                    exit_code=2,
                )
            return None
        arn = caller_arn(aws)
        account = arn.split(":")[4] or str(stack.spec.account_id or "")
        if stack.spec.account_id and account != stack.spec.account_id:
            raise OpsError(f"stack {stack.stack!r} lives in account {stack.spec.account_id} but the credentials in use belong to {account}", exit_code=2)
        bucket = settings.bucket_name or audit_bucket_name(stack.stack, account, aws.region)
        return cls(aws=aws, stack=stack.stack, bucket=bucket, account=account, key_alias=signing_key_alias(stack.stack), settings=settings, caller=arn)

    # -- reading ---------------------------------------------------------------------------

    def _s3(self) -> Any:
        return self.aws.client("s3")

    def check_bucket(self) -> dict[str, Any]:
        """The bucket exists in the stack's account and has Object Lock on (exit 2 otherwise);
        returns its default retention (``{"Mode": ..., "Days"|"Years": n}``, empty when none)."""
        s3 = self._s3()
        try:
            answer = s3.get_object_lock_configuration(Bucket=self.bucket, ExpectedBucketOwner=self.account)
        except Exception as exc:  # noqa: BLE001 - botocore's errors, translated below
            code = error_code(exc)
            if code == "NoSuchBucket" or is_not_found(exc):
                raise OpsError(
                    f"the audit bucket {self.bucket!r} of stack {self.stack!r} does not exist in account {self.account}; "
                    "deploy the stack (pulumi up) before promoting or verifying, or set mlstack:audit.bucketName",
                    exit_code=2,
                ) from None
            if code == "ObjectLockConfigurationNotFoundError":
                raise OpsError(f"the audit bucket {self.bucket!r} has no Object Lock configuration; it is not an mlstack audit bucket", exit_code=2) from None
            raise
        config = answer.get("ObjectLockConfiguration") or {}
        if config.get("ObjectLockEnabled") != "Enabled":
            raise OpsError(f"the audit bucket {self.bucket!r} does not have Object Lock enabled; records there could be deleted", exit_code=2)
        retention = (config.get("Rule") or {}).get("DefaultRetention") or {}
        return dict(retention) if isinstance(retention, dict) else {}

    def versions(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every version and every delete marker under ``log/`` (all pages)."""
        s3 = self._s3()
        versions: list[dict[str, Any]] = []
        markers: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": PREFIX, "ExpectedBucketOwner": self.account}
        while True:
            with unreadable_answers("S3 ListObjectVersions"):
                page = s3.list_object_versions(**kwargs)
                versions += list(page.get("Versions") or [])
                markers += list(page.get("DeleteMarkers") or [])
            if not page.get("IsTruncated"):
                return versions, markers
            kwargs["KeyMarker"] = page.get("NextKeyMarker")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker")
            if not kwargs["KeyMarker"]:
                raise MalformedResponse("S3 ListObjectVersions said more versions follow but gave no marker")

    def fetch(self, key: str, version_id: Optional[str]) -> tuple[bytes, Optional[str], Any]:
        """One version's bytes (at most one past the record limit), Object Lock mode and retain-until date."""
        s3 = self._s3()
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        answer = s3.get_object(Bucket=self.bucket, Key=key, ExpectedBucketOwner=self.account, **extra)
        with unreadable_answers("S3 GetObject"):
            body = answer["Body"].read(MAX_RECORD_BYTES + 1)
        return body, answer.get("ObjectLockMode"), answer.get("ObjectLockRetainUntilDate")

    def read(self, key: str, version_id: Optional[str]) -> bytes:
        return self.fetch(key, version_id)[0]

    def _page(self, **kwargs: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        s3 = self._s3()
        with unreadable_answers("S3 ListObjectVersions"):
            page = s3.list_object_versions(Bucket=self.bucket, ExpectedBucketOwner=self.account, **kwargs)
            return list(page.get("Versions") or []), list(page.get("DeleteMarkers") or []), bool(page.get("IsTruncated"))

    def _any_record_from(self, seq: int) -> bool:
        """Whether a record (a version or a delete marker) exists with a number >= ``seq``. Keys
        after the zero-padded records (anything else under ``log/``) sort after them."""
        versions, markers, _ = self._page(Prefix=PREFIX, KeyMarker=record_key(seq - 1), MaxKeys=1)
        keys = sorted(str(v.get("Key")) for v in versions + markers)
        return bool(keys) and (seq_of_key(keys[0]) or 0) >= seq

    def _head_versions(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The versions and delete markers of the latest record's key. A log that fits one
        listing page is read whole (one call); a longer one is searched for its highest number
        (whether any record is at or after n is monotonic in n: doubling, then bisection, about
        2·log2(n) one-key listings instead of n/1000 full pages)."""
        versions, markers, truncated = self._page(Prefix=PREFIX, MaxKeys=self.LIST_PAGE)
        if not truncated:
            return versions, markers
        low, high = 1, 2
        while self._any_record_from(high):
            low, high = high, high * 2
            if high > 10**12:
                raise MalformedResponse("S3 ListObjectVersions lists records beyond the largest sequence number")
        while high - low > 1:  # invariant: a record at or after low, none at or after high
            middle = (low + high) // 2
            if self._any_record_from(middle):
                low = middle
            else:
                high = middle
        versions, markers, _ = self._page(Prefix=record_key(low))
        return versions, markers

    def head(self) -> Head:
        """The latest record. Delete markers do not hide a record (its versions still count) and
        the original (oldest) version of a key is the record; later versions are edits that
        ``mlstack audit verify`` reports."""
        versions, markers = self._head_versions()
        by_seq: dict[int, list[dict[str, Any]]] = {}
        for v in versions:
            seq = seq_of_key(str(v.get("Key")))
            if seq is not None:
                by_seq.setdefault(seq, []).append(v)
        seqs = [s for s in by_seq]
        seqs += [s for s in (seq_of_key(str(m.get("Key"))) for m in markers) if s is not None and s not in by_seq]
        if not seqs:
            return Head(0, GENESIS)
        top = max(seqs)
        if top not in by_seq:
            raise OpsError(
                f"the latest record of the decision log ({record_key(top)}) has only a delete marker and no version; "
                "the log cannot be extended: run `mlstack audit verify` and investigate",
                exit_code=1,
            )
        original = oldest(by_seq[top])
        try:
            record = parse_record(self.read(str(original["Key"]), original.get("VersionId")))
        except RecordError as exc:
            raise OpsError(f"the latest record of the decision log ({record_key(top)}) {exc}; run `mlstack audit verify`; nothing was written", exit_code=1) from None
        if record["seq"] != top or record["stack"] != self.stack:
            raise OpsError(
                f"the latest record of the decision log ({record_key(top)}) says seq {record['seq']} of stack {record['stack']!r}; "
                "run `mlstack audit verify`; nothing was written",
                exit_code=1,
            )
        return Head(top, digest(record))

    # -- writing ---------------------------------------------------------------------------

    def sign(self, record: Mapping[str, Any]) -> dict[str, str]:
        kms = self.aws.client("kms")
        answer = kms.sign(KeyId=self.key_alias, Message=signed_message(digest(record)), MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM)
        with unreadable_answers("KMS Sign"):
            key_id, value, algorithm = answer["KeyId"], answer["Signature"], answer["SigningAlgorithm"]
        if algorithm != SIGNING_ALGORITHM or not isinstance(value, bytes) or not str(key_id).startswith("arn:"):
            raise MalformedResponse(f"KMS Sign answered algorithm {algorithm!r} and key {key_id!r}; expected {SIGNING_ALGORITHM} and a key ARN")
        return {"keyId": str(key_id), "algorithm": algorithm, "value": base64.b64encode(value).decode("ascii")}

    def append(self, kind: str, body: Mapping[str, Any], *, who: Optional[str] = None, commit: str = "unknown", now: Optional[_dt.datetime] = None) -> dict[str, Any]:
        """Sign and write one record after the current head; returns the record written."""
        self.check_bucket()
        who = who or self.caller or caller_arn(self.aws)
        when = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        s3 = self._s3()
        for _ in range(APPEND_ATTEMPTS):
            head = self.head()
            record: dict[str, Any] = {
                "format": FORMAT,
                "seq": head.seq + 1,
                "stack": self.stack,
                "kind": kind,
                "at": when,
                "who": who,
                "commit": commit,
                "prev": head.digest,
                "body": dict(body),
            }
            record["signature"] = self.sign(record)
            data = (_json(record) + "\n").encode("utf-8")
            try:
                s3.put_object(
                    Bucket=self.bucket,
                    Key=record_key(record["seq"]),
                    Body=data,
                    ContentType="application/json",
                    IfNoneMatch="*",
                    ChecksumAlgorithm="SHA256",  # Object Lock buckets refuse writes without a checksum
                    ExpectedBucketOwner=self.account,
                )
            except Exception as exc:  # noqa: BLE001 - only a lost race is retried
                if error_code(exc) in _LOST_RACE:
                    continue
                raise
            return record
        raise OpsError(
            f"the decision log of {self.stack!r} kept moving: {APPEND_ATTEMPTS} attempts lost the race to other writers; nothing was changed, run the command again",
            exit_code=1,
        )


def oldest(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The first version written of one key (S3 lists a key's versions newest first)."""
    return min(enumerate(versions), key=lambda iv: (_time(iv[1]), -iv[0]))[1]


def _time(version: Mapping[str, Any]) -> float:
    when = version.get("LastModified")
    return when.timestamp() if isinstance(when, _dt.datetime) else 0.0


def _json(record: Mapping[str, Any]) -> str:
    import json

    return json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False)
