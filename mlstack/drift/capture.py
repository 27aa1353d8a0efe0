"""Read SageMaker endpoint data-capture files into feature columns.

Data capture writes JSON Lines files, one captured request a line::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv",
                                       "mode": "INPUT",
                                       "data": "5.1,3.5,1.4,0.2",
                                       "encoding": "CSV"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2024-05-01T13:05:12Z"},
     "eventVersion": "0"}

under ``<destination>/<endpoint>/<variant>/YYYY/MM/DD/HH/<name>.jsonl``.
Only ``endpointInput`` is read. Its ``encoding`` says how ``data`` is held:

* ``CSV``: CSV text, one or more rows (one per line) without a header. The
  fields are the baseline's columns in the baseline's order; a shorter row
  is padded with missing values, a longer one is skipped as malformed.
* ``JSON``: JSON text, one of: an object of feature name to value; a list
  of such objects; a list of rows (lists, positional as for CSV); a single
  row (a list of scalars); or an object ``{"instances": [...]}`` /
  ``{"inputs": [...]}`` holding any of these, or ``{"features": [...]}``
  holding one row. With ``observedContentType`` ``application/jsonlines``
  each line is one of these.
* ``BASE64``: the base64 of the body, decoded then read as CSV or JSON
  according to ``observedContentType``; other content types (images,
  protobuf) are counted as unsupported and skipped.

A capture file is read line by line: a record ends at ``\n`` only (a JSON
string may hold U+2028 and the other breaks ``str.splitlines`` knows). A line
that is not a capture event counts as ``malformed`` and is skipped. A file
that cannot be read at all -- not gzip when named ``.gz``, truncated gzip, or
not one capture event in it (binary garbage, another format) -- is skipped
whole and counted in ``corrupt_files`` (the job publishes the count as
``CorruptCaptureFiles``), so one bad object never stops a run. An object
that disappears between listing and reading (a lifecycle rule expiring old
captures) is skipped too.

Files come from S3 (``s3://bucket/prefix``, listed recursively, fetched in
parallel) or from a local directory (a processing job mounts its S3 inputs
under ``/opt/ml/processing/input``). With a time window, only files whose
``YYYY/MM/DD/HH`` path hour overlaps the window are read (a file outside
such a layout is judged by its modification time).

Parsing is batched: each file's events are decoded with one ``json.loads``
call; all CSV payloads are joined and parsed at once, by numpy's C reader
(``np.loadtxt``) when they are regular (no quotes, every row of the full
width), else by one ``csv.reader`` pass; JSON rows are transposed at once;
each column becomes a numpy array in one call
(:func:`mlstack.drift.stats.to_float` / :func:`~mlstack.drift.stats.to_category`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import io
import json
import logging
import operator
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mlstack.drift.stats import CATEGORICAL, NUMERIC, to_category, to_float
from mlstack.drift.tables import fit_rows, parse_csv_table

log = logging.getLogger(__name__)

CAPTURE_SUFFIXES = (".jsonl", ".jsonl.gz")
"""File names read as data capture (others under the prefix are ignored)."""

_HOUR_PATH = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})(?=/|$)")


# --------------------------------------------------------------------------
# locations


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``("bucket", "key")``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"S3 URI without a bucket: {uri!r}")
    return bucket, key


def is_s3_uri(uri: str) -> bool:
    return uri.startswith("s3://")


def local_path(uri: str) -> str:
    """A local path from ``file://path`` or a plain path."""
    return uri[7:] if uri.startswith("file://") else uri


def hour_of_path(path: str) -> datetime | None:
    """The UTC hour of a data-capture path ``.../YYYY/MM/DD/HH/...`` (the last such part)."""
    matches = list(_HOUR_PATH.finditer(path))
    for match in reversed(matches):
        try:
            return datetime(*(int(g) for g in match.groups()), tzinfo=UTC)
        except ValueError:
            continue
    return None


def in_window(path: str, modified: datetime | None, start: datetime, end: datetime) -> bool:
    """Whether a capture file may hold requests of ``[start, end]``.

    A file in an hour partition is kept when that hour overlaps the window;
    a file without one when its modification time is in the window.
    """
    hour = hour_of_path(path)
    if hour is not None:
        return hour <= end and hour + timedelta(hours=1) > start
    if modified is None:
        return True
    return start <= modified <= end


def window_bounds(now: datetime, window_hours: float | None) -> tuple[datetime, datetime] | None:
    """``(now - window_hours, now)`` in UTC, or None for no window (``None`` or 0 hours)."""
    if not window_hours:
        return None
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    return now - timedelta(hours=window_hours), now


def _is_capture_file(name: str) -> bool:
    return name.endswith(CAPTURE_SUFFIXES)


def list_s3_capture_files(
    s3_client: Any, uri: str, window: tuple[datetime, datetime] | None = None
) -> list[tuple[str, str]]:
    """``(bucket, key)`` of the capture files under an S3 prefix, in key order."""
    bucket, prefix = split_s3_uri(uri)
    if prefix and not prefix.endswith("/") and not _is_capture_file(prefix):
        prefix += "/"
    out = []
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", ()):
            key = obj["Key"]
            if not _is_capture_file(key):
                continue
            if window and not in_window(key, obj.get("LastModified"), *window):
                continue
            out.append((bucket, key))
    out.sort()
    return out


def list_local_capture_files(path: str, window: tuple[datetime, datetime] | None = None) -> list[str]:
    """Capture files under a local directory (or the file itself), in path order."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"capture directory not found: {path}")
    out = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            if not _is_capture_file(name):
                continue
            full = os.path.join(root, name)
            if window:
                modified = datetime.fromtimestamp(os.path.getmtime(full), tz=UTC)
                if not in_window(full.replace(os.sep, "/"), modified, *window):
                    continue
            out.append(full)
    out.sort()
    return out


def endpoint_capture_uri(uri: str, endpoint_name: str, s3_client: Any = None) -> str:
    """Narrow a data-capture destination to one endpoint's captures.

    Data capture writes under ``<destination>/<endpoint>/<variant>/...``,
    and several endpoints may share a destination. When ``uri`` does not
    already name the endpoint and ``<uri>/<endpoint>/`` holds anything,
    that is returned; otherwise ``uri`` as given.
    """
    parts = uri.rstrip("/").split("/")
    if endpoint_name in parts[3 if is_s3_uri(uri) else 0 :]:
        return uri
    narrowed = uri.rstrip("/") + "/" + endpoint_name
    if is_s3_uri(uri):
        if s3_client is None:
            return uri
        bucket, prefix = split_s3_uri(narrowed + "/")
        resp = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        return narrowed if resp.get("KeyCount", len(resp.get("Contents", ()))) else uri
    return narrowed if os.path.isdir(local_path(narrowed)) else uri


def _maybe_gunzip(name: str, data: bytes) -> bytes:
    return gzip.decompress(data) if name.endswith(".gz") else data


def read_bytes(uri: str, s3_client: Any = None) -> bytes:
    """The bytes of one S3 object or local file (gunzipped when named ``.gz``)."""
    if is_s3_uri(uri):
        bucket, key = split_s3_uri(uri)
        if not key:
            raise ValueError(f"S3 URI without a key: {uri!r}")
        if s3_client is None:
            raise ValueError("an S3 client is needed to read " + uri)
        data = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return _maybe_gunzip(key, data)
    path = local_path(uri)
    with open(path, "rb") as fh:
        return _maybe_gunzip(path, fh.read())


def _empty_as_nan(text: str) -> str:
    """CSV text (without quotes) with every empty field spelled ``nan``."""
    if ",," in text:
        text = text.replace(",,", ",nan,").replace(",,", ",nan,")
    if text.startswith(",") or "\n," in text:
        text = ("nan" if text.startswith(",") else "") + text.replace("\n,", "\nnan,")
    if text.endswith(",") or ",\n" in text:
        text = text.replace(",\n", ",nan\n") + ("nan" if text.endswith(",") else "")
    return text


def _decode_together(texts: list[str], kinds: type | tuple[type, ...]) -> list[Any] | None:
    """Decode many JSON texts with one parse, or None when that is not safe.

    The texts are parsed as one JSON array. The result is used only when
    it has one value per text and each is of the expected kind (a text
    that is not one complete value, such as ``1,2`` or ``[1``, breaks
    either); otherwise the caller decodes text by text.
    """
    try:
        values = json.loads("[" + ",".join(texts) + "]")
    except (ValueError, RecursionError):  # bad JSON, over-long integers, nesting beyond the reader
        return None
    if len(values) != len(texts) or not all(isinstance(v, kinds) for v in values):
        return None
    return values


def _loadtxt(text: str, usecols: list[int], dtype: Any) -> np.ndarray:
    return np.loadtxt(
        io.StringIO(text),
        delimiter=",",
        comments=None,
        quotechar=None,
        usecols=usecols,
        dtype=dtype,
        ndmin=2,
        encoding=None,
    )


# --------------------------------------------------------------------------
# capture parsing


@dataclass
class CapturedData:
    """Feature columns read from data capture, and what was read."""

    columns: dict[str, np.ndarray]
    rows: int = 0
    records: int = 0
    files: int = 0
    malformed: int = 0
    unsupported: int = 0
    content_types: dict[str, int] = field(default_factory=dict)
    corrupt_files: int = 0
    """Files skipped whole: unreadable, or without a single capture event."""
    corrupt: list[str] = field(default_factory=list)
    """Names of the first corrupt files (at most :data:`CORRUPT_NAMES_KEPT`)."""

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "rows": self.rows,
            "malformed": self.malformed,
            "unsupported": self.unsupported,
            "content_types": dict(self.content_types),
            "corrupt_files": self.corrupt_files,
            "corrupt": list(self.corrupt),
        }


def _is_event(event: Any) -> bool:
    """Whether a decoded line is a data-capture event with an input to read."""
    try:
        event["captureData"]["endpointInput"]["data"]
    except (KeyError, TypeError, IndexError):
        return False
    return True


CORRUPT_NAMES_KEPT = 20
"""How many corrupt file names a run reports (the count is always complete)."""


def _lines(data: bytes) -> list[str]:
    """The non-blank lines of a capture file, split at ``\n`` only; a line that is not UTF-8
    is kept as U+FFFD-marked text, which no JSON parse accepts as an event's structure."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [ln.decode("utf-8", errors="replace") for ln in data.split(b"\n") if ln.strip()]
    return [ln for ln in text.split("\n") if ln.strip()]


class CaptureParser:
    """Accumulates capture files and turns them into numpy feature columns.

    ``columns`` is the full column order (that of CSV payloads), ``kinds``
    maps each wanted feature to :data:`~mlstack.drift.stats.NUMERIC` or
    :data:`~mlstack.drift.stats.CATEGORICAL`; only wanted features are
    converted.
    """

    def __init__(self, columns: Sequence[str], kinds: Mapping[str, str]) -> None:
        self.columns = list(columns)
        self.kinds = dict(kinds)
        unknown = [n for n in self.kinds if n not in self.columns]
        if unknown:
            raise ValueError(f"features not among the columns: {unknown}")
        self._positions = {name: self.columns.index(name) for name in self.kinds}
        self._csv_parts: list[str] = []
        self._json_rows: list[Sequence[Any]] = []
        self._json_records: list[Mapping[str, Any]] = []
        self._json_texts: list[str] = []  # JSON payloads, decoded together in finish()
        self.files = 0
        self.records = 0
        self.malformed = 0
        self.unsupported = 0
        self.content_types: dict[str, int] = {}
        self.corrupt_files = 0
        self.corrupt: list[str] = []

    # -- feeding --------------------------------------------------------

    def add_file(self, data: bytes, name: str = "") -> bool:
        """Add one capture file (JSON Lines bytes, gunzipped when ``name`` ends ``.gz``).

        Returns False when the file is corrupt (see the module docstring): it is then counted
        in ``corrupt_files`` and nothing of it is kept.
        """
        self.files += 1
        try:
            if name.endswith(".gz"):
                data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:  # not gzip, truncated, bad checksum
            return self._corrupt(name, f"cannot be gunzipped: {exc}")
        lines = _lines(data)
        if not lines:
            return True
        events = _decode_together(lines, dict)
        if events is None:
            events = []
            for ln in lines:
                try:
                    events.append(json.loads(ln))
                except (ValueError, RecursionError):
                    events.append(None)
        if not any(_is_event(event) for event in events):
            return self._corrupt(name, f"none of its {len(lines)} line(s) is a data-capture event")
        for event in events:
            if event is None:
                self.malformed += 1
            else:
                self._add_event(event)
        return True

    def _corrupt(self, name: str, why: str) -> bool:
        self.corrupt_files += 1
        if len(self.corrupt) < CORRUPT_NAMES_KEPT:
            self.corrupt.append(name or f"file {self.files}")
        log.warning("skipping corrupt capture file %s: %s", name or f"#{self.files}", why)
        return False

    def add_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Add already-decoded capture events (one dict per JSON line)."""
        for event in events:
            self._add_event(event)

    def _add_event(self, event: Any) -> None:
        try:
            inp = event["captureData"]["endpointInput"]
            data = inp["data"]
        except (KeyError, TypeError):
            self.malformed += 1
            return
        self.records += 1
        encoding = str(inp.get("encoding", "")).upper()
        ctype = str(inp.get("observedContentType", "")).split(";")[0].strip().lower()
        self.content_types[ctype or "?"] = self.content_types.get(ctype or "?", 0) + 1
        if encoding == "CSV":
            self._add_csv(data)
        elif encoding == "JSON":
            self._add_json_text(data, ctype)
        elif encoding == "BASE64":
            if "csv" not in ctype and "json" not in ctype:
                self.unsupported += 1  # images, protobuf, ...: nothing to compare with a table
                return
            try:
                body = base64.b64decode(data, validate=False).decode("utf-8-sig")
            except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
                self.malformed += 1
                return
            if "csv" in ctype:
                self._add_csv(body)
            else:
                self._add_json_text(body, ctype)
        else:
            self.unsupported += 1

    def _add_csv(self, data: Any) -> None:
        if not isinstance(data, str):
            self.malformed += 1
            return
        self._csv_parts.append(data)

    def _add_json_text(self, data: Any, ctype: str) -> None:
        if not isinstance(data, str):  # tolerate an already-decoded payload
            self._add_json(data)
            return
        try:
            if "jsonlines" in ctype or "x-ndjson" in ctype:
                for ln in data.split("\n"):
                    if ln.strip():
                        self._add_json(json.loads(ln))
            else:
                self._json_texts.append(data)
        except (ValueError, RecursionError):
            self.malformed += 1

    def _decode_json_texts(self) -> None:
        texts, self._json_texts = self._json_texts, []
        if not texts:
            return
        objs = _decode_together(texts, (dict, list))
        if objs is None:
            objs = []
            for text in texts:
                try:
                    objs.append(json.loads(text))
                except (ValueError, RecursionError):
                    self.malformed += 1
        for obj in objs:
            self._add_json(obj)

    def _add_json(self, obj: Any) -> None:
        if isinstance(obj, dict):
            for key in ("instances", "inputs"):
                inner = obj.get(key)
                if isinstance(inner, list):
                    self._add_json_list(inner)
                    return
            feats = obj.get("features")
            if isinstance(feats, list) and len(obj) == 1:
                self._json_rows.append(feats)
                return
            self._json_records.append(obj)
        elif isinstance(obj, list):
            self._add_json_list(obj)
        else:
            self.malformed += 1

    def _add_json_list(self, items: list[Any]) -> None:
        if not items:
            return
        first = items[0]
        if isinstance(first, dict):
            for item in items:
                if isinstance(item, dict):
                    feats = item.get("features")
                    if isinstance(feats, list) and len(item) == 1:
                        self._json_rows.append(feats)
                    else:
                        self._json_records.append(item)
                else:
                    self.malformed += 1
        elif isinstance(first, list):
            for item in items:
                if isinstance(item, list):
                    self._json_rows.append(item)
                else:
                    self.malformed += 1
        else:  # a single row of scalars
            self._json_rows.append(items)

    # -- building columns -------------------------------------------------

    def finish(self) -> CapturedData:
        """Convert everything added so far into numpy columns."""
        self._decode_json_texts()
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in self.kinds}
        rows = 0
        width = len(self.columns)

        if self._csv_parts:
            text = "\n".join(self._csv_parts)
            fast = self._csv_fast(text)
            if fast is not None:
                n, converted = fast
                for name, arr in converted.items():
                    chunks[name].append(arr)
                rows += n
            else:
                csv_rows = self._csv_rows(text)
                csv_rows, dropped = fit_rows(csv_rows, width, "")
                self.malformed += dropped
                rows += self._add_positional(chunks, csv_rows)

        if self._json_rows:
            json_rows, dropped = fit_rows(self._json_rows, width, None)
            self.malformed += dropped
            rows += self._add_positional(chunks, json_rows)

        if self._json_records:
            recs = self._json_records
            names = list(self.kinds)
            try:  # every record has every feature: one pass, then transpose
                picked = list(map(operator.itemgetter(*names), recs))
                values = list(zip(*picked)) if len(names) > 1 else [tuple(picked)]
            except KeyError:
                values = [[r.get(name) for r in recs] for name in names]
            for name, column in zip(names, values):
                chunks[name].append(self._convert(name, column))
            rows += len(recs)

        columns = {}
        for name, kind in self.kinds.items():
            parts = chunks[name]
            if not parts:
                columns[name] = np.empty(0, dtype=np.float64 if kind == NUMERIC else "<U1")
            elif len(parts) == 1:
                columns[name] = parts[0]
            else:
                columns[name] = np.concatenate(parts)
        return CapturedData(
            columns=columns,
            rows=rows,
            records=self.records,
            files=self.files,
            malformed=self.malformed,
            unsupported=self.unsupported,
            content_types=dict(self.content_types),
            corrupt_files=self.corrupt_files,
            corrupt=list(self.corrupt),
        )

    def _csv_rows(self, text: str) -> list[list[str]]:
        """Rows of every CSV payload; a payload csv refuses (a field over its size limit) is
        counted malformed and skipped, not the whole batch."""
        try:
            return [r for r in csv.reader(io.StringIO(text)) if r]
        except csv.Error:
            pass
        rows: list[list[str]] = []
        for part in self._csv_parts:
            try:
                rows += [r for r in csv.reader(io.StringIO(part)) if r]
            except csv.Error:
                self.malformed += 1
        return rows

    def _csv_fast(self, text: str) -> tuple[int, dict[str, np.ndarray]] | None:
        """Parse regular CSV (no quotes, every row of the full width) with numpy's C reader.

        Returns ``(rows, columns)``, or None to fall back to ``csv.reader``.
        """
        if '"' in text or "\r" in text:
            return None
        lines = [ln for ln in text.split("\n") if ln]
        commas = len(self.columns) - 1
        if not lines or any(ln.count(",") != commas for ln in lines):
            return None
        if len(lines) != text.count("\n") + 1:
            text = "\n".join(lines)
        out: dict[str, np.ndarray] = {}
        for kind in (NUMERIC, CATEGORICAL):
            names = [n for n, k in self.kinds.items() if k == kind]
            if not names:
                continue
            cols = [self._positions[n] for n in names]
            arr = None
            if kind == NUMERIC:
                try:
                    arr = _loadtxt(_empty_as_nan(text), cols, np.float64)
                except (ValueError, OverflowError):  # an empty or non-numeric field: convert leniently below
                    arr = None
            if arr is None:
                try:
                    arr = _loadtxt(text, cols, object)
                except (ValueError, OverflowError):
                    return None
            if arr.shape != (len(lines), len(cols)):
                return None
            for j, name in enumerate(names):
                col = arr[:, j]
                out[name] = col if col.dtype == np.float64 else self._convert_array(name, col)
        return len(lines), out

    def _add_positional(self, chunks: dict[str, list[np.ndarray]], rows: list[Sequence[Any]]) -> int:
        if not rows:
            return 0
        transposed = list(zip(*rows))
        for name, pos in self._positions.items():
            chunks[name].append(self._convert(name, transposed[pos]))
        return len(rows)

    def _convert(self, name: str, values: Sequence[Any]) -> np.ndarray:
        try:
            arr = np.asarray(values)
        except ValueError:  # ragged: some value is itself a list
            arr = None
        if arr is None or arr.ndim != 1:
            arr = np.fromiter(values, dtype=object, count=len(values))
        return self._convert_array(name, arr)

    def _convert_array(self, name: str, arr: np.ndarray) -> np.ndarray:
        if self.kinds[name] == CATEGORICAL:
            return to_category(arr)
        return to_float(arr)


def iter_capture_sources(
    uri: str,
    *,
    window: tuple[datetime, datetime] | None = None,
    s3_client: Any = None,
    max_workers: int = 8,
) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of each capture file under ``uri`` in the window, in name order.

    S3 objects are fetched by ``max_workers`` threads.
    """
    if is_s3_uri(uri):
        if s3_client is None:
            raise ValueError("an S3 client is needed to read " + uri)
        objects = list_s3_capture_files(s3_client, uri, window)
        log.info("%d capture file(s) under %s in the window", len(objects), uri)

        def fetch(obj: tuple[str, str]) -> tuple[str, bytes | None]:
            bucket, key = obj
            try:
                return key, s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as exc:  # botocore's ClientError, without importing botocore here
                if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    log.warning("capture file s3://%s/%s disappeared after listing (expired?); skipped", bucket, key)
                    return key, None
                raise

        if len(objects) <= 1:
            fetched: Iterable[tuple[str, bytes | None]] = map(fetch, objects)
            yield from ((key, body) for key, body in fetched if body is not None)
            return
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(objects)))) as pool:
            yield from ((key, body) for key, body in pool.map(fetch, objects) if body is not None)
        return
    files = list_local_capture_files(local_path(uri), window)
    log.info("%d capture file(s) under %s in the window", len(files), uri)
    for path in files:
        with open(path, "rb") as fh:
            yield path, fh.read()


def read_capture(
    uri: str,
    columns: Sequence[str],
    kinds: Mapping[str, str],
    *,
    window: tuple[datetime, datetime] | None = None,
    s3_client: Any = None,
    max_workers: int = 8,
) -> CapturedData:
    """Read the capture files under ``uri`` (S3 prefix or local directory).

    ``columns`` is the baseline's column order (for CSV payloads) and
    ``kinds`` the features to build (name -> numeric/categorical).
    """
    parser = CaptureParser(columns, kinds)
    for name, data in iter_capture_sources(uri, window=window, s3_client=s3_client, max_workers=max_workers):
        parser.add_file(data, name)
    return parser.finish()
