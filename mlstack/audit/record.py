"""The decision log's record format: canonical bytes, the hash chain and what is signed.

A record is one JSON object at ``log/<seq>.json`` (``seq`` zero-padded to 12 digits)::

    {"format": "mlstack-audit/1", "seq": 42, "stack": "churn-prod", "kind": "promote",
     "at": "2026-11-28T04:00:00Z", "who": "arn:aws:sts::...:assumed-role/...", "commit": "4956606",
     "prev": "<sha256 hex of record 41's digest input>", "body": {...},
     "signature": {"keyId": "arn:aws:kms:...", "algorithm": "ECDSA_SHA_256", "value": "<base64 DER>"}}

* The *digest* of a record is SHA-256 over its canonical JSON without ``signature`` (keys sorted,
  no spaces, UTF-8, no NaN). The next record's ``prev`` is that digest; record 1's ``prev`` is 64
  zeros. So an edit of any earlier record breaks every later link.
* The signature is KMS ``Sign`` (ECDSA_SHA_256, MessageType RAW) over :func:`signed_message`:
  a fixed prefix and the digest. The prefix keeps a signature of the log from being valid for
  any other message the same key might sign.
* ``seq`` and ``stack`` are inside the signed part: a record copied to another position or to
  another stack's log no longer matches its key or its log.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any, Mapping

__all__ = [
    "FORMAT",
    "GENESIS",
    "PREFIX",
    "KEY_PATTERN",
    "SIGNING_ALGORITHM",
    "RecordError",
    "canonical",
    "digest",
    "signed_message",
    "record_key",
    "seq_of_key",
    "parse_record",
    "MAX_RECORD_BYTES",
]

FORMAT = "mlstack-audit/1"
#: The ``prev`` of the first record.
GENESIS = "0" * 64
#: Where records live in the audit bucket.
PREFIX = "log/"
KEY_PATTERN = re.compile(r"^log/(\d{12})\.json$")
SIGNING_ALGORITHM = "ECDSA_SHA_256"
#: The largest record read back (a promote record with many gates is a few KiB).
MAX_RECORD_BYTES = 256 * 1024
_FIELDS = {"format", "seq", "stack", "kind", "at", "who", "commit", "prev", "body", "signature"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class RecordError(ValueError):
    """A record that is not a well-formed mlstack-audit/1 record."""


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"holds a number that is not finite ({value!r})")
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes the digest covers: ``record`` without ``signature``, keys sorted, compact, UTF-8."""
    unsigned = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(_finite(unsigned), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def digest(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical`: what the next record's ``prev`` carries."""
    return hashlib.sha256(canonical(record)).hexdigest()


def signed_message(record_digest: str) -> bytes:
    """What KMS signs for a record (RAW message, well under KMS's 4096-byte limit)."""
    return f"{FORMAT}\n{record_digest}".encode("ascii")


def record_key(seq: int) -> str:
    return f"{PREFIX}{seq:012d}.json"


def seq_of_key(key: str) -> int | None:
    match = KEY_PATTERN.match(key)
    return int(match.group(1)) if match else None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        # Two parsers may keep different copies of a repeated key: refuse the record.
        raise RecordError(f"repeats the key(s) {', '.join(map(repr, dupes))}")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise RecordError(f"holds {name}, which is not JSON")


def parse_record(data: bytes) -> dict[str, Any]:
    """A record from the bytes stored in the bucket; :class:`RecordError` says what is wrong."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"is {len(data)} bytes, more than a record can be ({MAX_RECORD_BYTES})")
    try:
        record = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except RecordError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecordError(f"is not JSON ({str(exc)[:120]})") from None
    if not isinstance(record, dict):
        raise RecordError("is not a JSON object")
    if record.get("format") != FORMAT:
        raise RecordError(f"has format {record.get('format')!r}, expected {FORMAT!r}")
    missing = sorted(_FIELDS - record.keys())
    extra = sorted(record.keys() - _FIELDS)
    if missing or extra:
        raise RecordError(
            ", ".join(filter(None, [f"lacks {', '.join(missing)}" if missing else "", f"has unknown fields {', '.join(extra)}" if extra else ""]))
        )
    if not isinstance(record["seq"], int) or isinstance(record["seq"], bool) or record["seq"] < 1:
        raise RecordError(f"has seq {record['seq']!r}, not a positive integer")
    if not isinstance(record["prev"], str) or not _HEX64.match(record["prev"]):
        raise RecordError(f"has prev {record['prev']!r}, not a SHA-256 hex digest")
    signature = record["signature"]
    if not isinstance(signature, dict) or not all(isinstance(signature.get(k), str) for k in ("keyId", "algorithm", "value")):
        raise RecordError("has a signature that is not {keyId, algorithm, value}")
    for name in ("stack", "kind", "at", "who", "commit"):
        if not isinstance(record[name], str):
            raise RecordError(f"has {name} {record[name]!r}, not a string")
    if not isinstance(record["body"], dict):
        raise RecordError("has a body that is not a JSON object")
    return record
