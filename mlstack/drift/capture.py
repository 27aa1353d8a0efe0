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

Files come from S3 (``s3://bucket/prefix``, listed recursively, fetched in
parallel) or from a local directory (a processing job mounts its S3 inputs
under ``/opt/ml/processing/input``). With a time window, only files whose
``YYYY/MM/DD/HH`` path hour overlaps the window are read (a file outside
such a layout is judged by its modification time).

Parsing is batched: all CSV payloads are parsed with one ``csv.reader``
pass, all JSON rows are transposed at once, and each column is converted
to a numpy array in one call (:func:`mlstack.drift.stats.to_float` /
:func:`~mlstack.drift.stats.to_category`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import io
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mlstack.drift.stats import CATEGORICAL, NUMERIC, to_category, to_float

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
            if window and not in_window(key[len(prefix):], obj.get("LastModified"), *window):
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
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                modified = datetime.fromtimestamp(os.path.getmtime(full), tz=UTC)
                if not in_window(rel, modified, *window):
                    continue
            out.append(full)
    out.sort()
    return out


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


# --------------------------------------------------------------------------
# CSV tables


def parse_csv_table(text: str, *, header: bool = True) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Parse CSV text into ``(header, columns)`` (each column a tuple of strings).

    Blank lines are skipped; short rows are padded with empty strings (missing).
    Without a header, names are ``"0"``, ``"1"``, ...
    """
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if header:
        if not rows:
            raise ValueError("the CSV has no header row")
        names = [h.strip() for h in rows[0]]
        rows = rows[1:]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValueError("the CSV header must name every column, each once")
    else:
        names = [str(i) for i in range(max((len(r) for r in rows), default=0))]
    width = len(names)
    rows, _ = _fit_rows(rows, width, filler="")
    if not rows:
        return names, [() for _ in names]
    return names, list(zip(*rows))


def _fit_rows(rows: list[Sequence[Any]], width: int, filler: Any) -> tuple[list[Sequence[Any]], int]:
    """Rows padded to ``width``; longer rows dropped. Returns ``(rows, dropped)``."""
    if not rows:
        return rows, 0
    lengths = set(map(len, rows))
    if lengths == {width}:
        return rows, 0
    fitted = []
    dropped = 0
    for row in rows:
        n = len(row)
        if n == width:
            fitted.append(row)
        elif n < width:
            fitted.append(list(row) + [filler] * (width - n))
        else:
            dropped += 1
    return fitted, dropped


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

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "rows": self.rows,
            "malformed": self.malformed,
            "unsupported": self.unsupported,
            "content_types": dict(self.content_types),
        }


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
        self.files = 0
        self.records = 0
        self.malformed = 0
        self.unsupported = 0
        self.content_types: dict[str, int] = {}

    # -- feeding --------------------------------------------------------

    def add_file(self, data: bytes, name: str = "") -> None:
        """Add one capture file (JSON Lines bytes, gunzipped when ``name`` ends ``.gz``)."""
        self.files += 1
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            return
        try:  # one C-level parse of the whole file
            events = json.loads("[" + ",".join(lines) + "]")
        except json.JSONDecodeError:
            events = []
            for ln in lines:
                try:
                    events.append(json.loads(ln))
                except json.JSONDecodeError:
                    self.malformed += 1
        for event in events:
            self._add_event(event)

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
            try:
                body = base64.b64decode(data, validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
                self.malformed += 1
                return
            if "csv" in ctype:
                self._add_csv(body)
            elif "json" in ctype:
                self._add_json_text(body, ctype)
            else:
                self.unsupported += 1
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
                for ln in data.splitlines():
                    if ln.strip():
                        self._add_json(json.loads(ln))
            else:
                self._add_json(json.loads(data))
        except json.JSONDecodeError:
            self.malformed += 1

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
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in self.kinds}
        rows = 0
        width = len(self.columns)

        if self._csv_parts:
            text = "\n".join(self._csv_parts)
            csv_rows = [r for r in csv.reader(io.StringIO(text)) if r]
            csv_rows, dropped = _fit_rows(csv_rows, width, "")
            self.malformed += dropped
            rows += self._add_positional(chunks, csv_rows)

        if self._json_rows:
            json_rows, dropped = _fit_rows(self._json_rows, width, None)
            self.malformed += dropped
            rows += self._add_positional(chunks, json_rows)

        if self._json_records:
            recs = self._json_records
            for name in self.kinds:
                chunks[name].append(self._convert(name, [r.get(name) for r in recs]))
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
        )

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

        def fetch(obj: tuple[str, str]) -> tuple[str, bytes]:
            bucket, key = obj
            return key, s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()

        if len(objects) <= 1:
            yield from map(fetch, objects)
            return
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(objects)))) as pool:
            yield from pool.map(fetch, objects)
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
