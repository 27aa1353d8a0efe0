"""Captured predictions and late labels: reading both and joining them by id.

Predictions come from the endpoint's data capture (see :mod:`mlstack.drift.capture`): one per
captured event, keyed by ``eventMetadata.inferenceId`` (the ``InferenceId`` the caller gave
InvokeEndpoint) or else ``eventMetadata.eventId`` -- the same key SageMaker's own ground-truth
merge uses -- or by a declared id column of the request. The prediction is read from
``endpointOutput``: a JSON key (``{"score": 0.8}``), the first element of ``{"predictions":
[...]}`` or of a list, or a 0-based CSV column. A request of several rows is judged only when an
id column keys each row (its n rows then pair with the response's first n values).

Labels are JSON Lines in SageMaker's ground-truth format::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<inference id>"}, "eventVersion": "0"}

A label's arrival time is the ``YYYY/MM/DD/HH`` hour of its path (the layout SageMaker
documents for ground truth), else the object's LastModified.

The join (:func:`join`) keeps, per id, the latest-arriving label (a correction replaces what it
corrects) and counts the others as duplicates; a label whose id no prediction has is counted as
unmatched (it may belong to a prediction outside the window, or to another endpoint); a
prediction that cannot be read as a number (binary, regression) is counted invalid and left out.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mlstack.drift.capture import hour_of_path, is_s3_uri, list_local_capture_files, local_path, split_s3_uri

log = logging.getLogger(__name__)

__all__ = ["Predictions", "Labels", "Joined", "PredictionReader", "read_labels", "parse_label_file", "join", "normalise_label"]

NAN = float("nan")


def normalise_label(value: Any) -> str:
    """A label as text, so that 1, 1.0, "1" and " 1 " are one class, and True is "1"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if math.isfinite(number) and number.is_integer() and abs(number) < 2**53 else repr(number)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer() and abs(number) < 2**53 and text.lstrip("+-").replace(".", "", 1).isdigit():
        return str(int(number))
    return text


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        return NAN
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return NAN
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class Predictions:
    """Captured predictions in a window: id, time (epoch seconds), prediction, slice values."""

    ids: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    slices: dict[str, list[str]] = field(default_factory=dict)
    events: int = 0
    unreadable: int = 0
    """Events whose prediction, id or slice values could not be read."""
    multi_row: int = 0
    """Requests of several rows without an id column to key them (not judged)."""
    duplicate_ids: int = 0
    """Predictions whose id an earlier prediction already had (the first is kept)."""
    outside_window: int = 0


@dataclass
class Labels:
    """Labels: id, value (normalised text), arrival time (epoch seconds)."""

    ids: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    files: int = 0
    malformed: int = 0


class PredictionReader:
    """Turns capture files into :class:`Predictions` (see the module docstring)."""

    def __init__(
        self,
        *,
        prediction_field: str = "0",
        id_column: str | None = None,
        request_columns: Sequence[str] = (),
        slices: Sequence[str] = (),
        window: tuple[float, float] | None = None,
    ) -> None:
        self.field = prediction_field
        self.index = int(prediction_field) if prediction_field.isdigit() else None
        self.id_column = id_column
        self.columns = list(request_columns)
        self.slices = list(slices)
        self.window = window
        self.out = Predictions(slices={s: [] for s in self.slices})
        self._seen: set[str] = set()
        self._needs_request = bool(id_column or self.slices)

    def add_file(self, data: bytes, name: str = "") -> None:
        import gzip

        try:
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            text = data.decode("utf-8", errors="replace")
        except (OSError, EOFError, ValueError):
            log.warning("skipping unreadable capture file %s", name)
            return
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                self.out.unreadable += 1
                continue
            self.out.events += 1
            try:
                self._add_event(event)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                self.out.unreadable += 1

    def _add_event(self, event: dict) -> None:
        meta = event.get("eventMetadata") or {}
        when = _epoch(meta.get("inferenceTime"))
        if self.window and not (math.isnan(when) or self.window[0] <= when < self.window[1]):
            self.out.outside_window += 1
            return
        data = event["captureData"]
        outputs = _values(data["endpointOutput"], self.field, self.index)
        rows = _rows(data["endpointInput"], self.columns) if self._needs_request else [None]
        if not outputs:
            raise ValueError("no prediction")
        if (len(rows) > 1 or len(outputs) > 1) and not self.id_column:
            self.out.multi_row += 1  # one inference id for several predictions: which label is whose?
            return
        if self.id_column is None:
            key = meta.get("inferenceId") or meta.get("eventId")
            if not isinstance(key, str) or not key:
                raise ValueError("no inference id")
            keys = [key]
        else:
            keys = [str(_pick(row, self.id_column)) for row in rows]
        if len(outputs) < len(keys):
            raise ValueError("fewer predictions than rows")
        picked = []
        for j, key in enumerate(keys):
            slice_values = [str(_pick(rows[j], s)) for s in self.slices] if self.slices else []
            picked.append((key, outputs[j], slice_values))
        for key, value, slice_values in picked:
            if key in self._seen:
                self.out.duplicate_ids += 1
                continue
            self._seen.add(key)
            self.out.ids.append(key)
            self.out.times.append(when)
            self.out.values.append(value)
            for s, v in zip(self.slices, slice_values):
                self.out.slices[s].append(v)


def _pick(row: Any, name: str) -> Any:
    value = row[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"no value for {name}")
    return value


def _body(part: dict) -> tuple[str, Any]:
    """``(content type, payload)`` of a capture part, base64 decoded."""
    ctype = str(part.get("observedContentType", "")).split(";")[0].strip().lower()
    encoding = str(part.get("encoding", "")).upper()
    data = part["data"]
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=False).decode("utf-8-sig")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("bad base64") from exc
    elif encoding == "CSV":
        ctype = ctype if "csv" in ctype else "text/csv"
    elif encoding == "JSON":
        ctype = ctype if "json" in ctype else "application/json"
    return ctype, data


def _values(part: dict, field_name: str, index: int | None) -> list[Any]:
    """The predictions of a captured response."""
    ctype, data = _body(part)
    if "csv" in ctype:
        out = []
        for line in str(data).strip().splitlines():
            cells = line.split(",")
            out.append(cells[index or 0].strip() if (index or 0) < len(cells) else None)
        return [v for v in out if v is not None]
    obj = json.loads(data) if isinstance(data, str) else data
    if isinstance(obj, dict):
        if field_name in obj and index is None:
            value = obj[field_name]
            return list(value) if isinstance(value, list) else [value]
        obj = obj.get("predictions", obj.get("outputs", obj))
        if isinstance(obj, dict):
            raise ValueError(f"no {field_name!r} in the response")
    if not isinstance(obj, list):
        return [obj]
    out = []
    for item in obj:
        if isinstance(item, dict):
            out.append(item[field_name] if index is None else list(item.values())[index])
        elif isinstance(item, list):
            out.append(item[index or 0])
        else:
            out.append(item)
    return out


def _rows(part: dict, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of a captured request, as dicts (CSV by ``columns``)."""
    ctype, data = _body(part)
    if "csv" in ctype:
        if not columns:
            raise ValueError("a CSV request without requestColumns")
        rows = []
        for line in str(data).strip().splitlines():
            cells = line.split(",")
            rows.append(dict(zip(columns, (c.strip() for c in cells))))
        return rows
    obj = json.loads(data) if isinstance(data, str) else data
    if isinstance(obj, dict):
        inner = obj.get("instances", obj.get("inputs"))
        obj = inner if isinstance(inner, list) else [obj]
    if not isinstance(obj, list):
        raise ValueError("not a table")
    if obj and not isinstance(obj[0], (dict, list)):
        obj = [obj]
    rows = []
    for item in obj:
        if isinstance(item, dict):
            rows.append(item)
        elif isinstance(item, list) and columns:
            rows.append(dict(zip(columns, item)))
        else:
            raise ValueError("a positional JSON row without requestColumns")
    return rows


def parse_label_file(data: bytes, arrived: float, labels: Labels) -> None:
    """Add the labels of one ground-truth JSON Lines file that arrived at ``arrived``."""
    labels.files += 1
    for line in data.decode("utf-8", errors="replace").split("\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record["eventMetadata"]["eventId"]
            value = record["groundTruthData"]["data"]
            if not isinstance(key, str) or not key or isinstance(value, (dict, list)) or value is None:
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):
            labels.malformed += 1
            continue
        labels.ids.append(key)
        labels.values.append(normalise_label(value))
        labels.times.append(arrived)


def read_labels(uri: str, *, s3_client: Any = None, since: datetime | None = None, until: datetime | None = None) -> Labels:
    """The labels under ``uri`` (S3 prefix or local directory) that arrived from ``since``."""
    import gzip

    labels = Labels()
    start = since.timestamp() if since else -math.inf
    stop = until.timestamp() if until else math.inf

    def arrival(path: str, modified: datetime | None) -> float:
        hour = hour_of_path(path)
        if hour is not None:
            return hour.timestamp()
        return modified.timestamp() if modified is not None else NAN

    if is_s3_uri(uri):
        bucket, prefix = split_s3_uri(uri)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                if not key.endswith((".jsonl", ".jsonl.gz", ".json")):
                    continue
                at = arrival(key, obj.get("LastModified"))
                # a label's hour partition starts before its arrival: keep the hour that holds `start`
                if not math.isnan(at) and not (start - 3600 < at <= stop):
                    continue
                body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
                try:
                    body = gzip.decompress(body) if key.endswith(".gz") else body
                except (OSError, EOFError):
                    labels.malformed += 1
                    continue
                parse_label_file(body, at, labels)
        return labels
    for path in list_local_capture_files(local_path(uri)):
        modified = datetime.fromtimestamp(__import__("os").path.getmtime(path), tz=UTC)
        at = arrival(path.replace("\\", "/"), modified)
        if not math.isnan(at) and not (start - 3600 < at <= stop):
            continue
        with open(path, "rb") as fh:
            body = fh.read()
        parse_label_file(gzip.decompress(body) if path.endswith(".gz") else body, at, labels)
    return labels


@dataclass
class Joined:
    """Predictions with their labels (arrays aligned), and the join's counts."""

    ids: np.ndarray
    predictions: np.ndarray
    """The predictions that have a label (binary, regression: floats; multiclass: labels)."""
    labels: np.ndarray
    """Their labels (binary: 0/1 floats; regression: floats; multiclass: text)."""
    prediction_times: np.ndarray
    label_times: np.ndarray
    slices: dict[str, np.ndarray]
    judged: int
    """Readable predictions in the window (the denominator of label coverage)."""
    all_predictions: np.ndarray
    """Every readable prediction in the window, labelled or not (for output drift)."""
    invalid_predictions: int = 0
    invalid_labels: int = 0
    duplicate_labels: int = 0
    unmatched_labels: int = 0
    newest_label_time: float = NAN

    @property
    def labelled(self) -> int:
        return int(self.labels.size)

    @property
    def coverage_percent(self) -> float:
        return 100.0 * self.labelled / self.judged if self.judged else NAN


def _to_float(values: Sequence[Any]) -> np.ndarray:
    """Floats of captured values; anything that is not a number (or a bool) becomes NaN."""
    try:  # numpy parses a list of numeric strings and numbers in C
        arr = np.array(values, dtype=np.float64)
        if arr.ndim == 1 and not any(isinstance(v, bool) for v in values[:1]):
            return arr
    except (TypeError, ValueError):
        pass
    out = []
    for v in values:
        try:
            number = float(v) if not isinstance(v, bool) else NAN
        except (TypeError, ValueError):
            number = NAN
        out.append(number)
    return np.asarray(out, dtype=np.float64)


def join(
    predictions: Predictions,
    labels: Labels,
    *,
    problem: str,
    positive: str | None = None,
    negative: str = "0",
) -> Joined:
    """Join ``predictions`` with ``labels`` by id (see the module docstring).

    The id lookups are one C-level pass each (``dict(zip(...))``, ``map(dict.get, ...)``); the
    rest is numpy on integer positions, so 1M x 1M joins in about a second
    (benchmarks/quality_benchmark.py).
    """
    from itertools import repeat

    numeric = problem in ("binary", "regression")
    if numeric:
        pred_all = _to_float(predictions.values)
        valid = np.isfinite(pred_all)
    else:
        pred_all = np.asarray([normalise_label(v) if v is not None else "" for v in predictions.values], dtype=object)
        valid = pred_all != ""
    invalid_predictions = int((~valid).sum())
    n_labels = len(labels.ids)
    index = dict(zip(predictions.ids, range(len(predictions.ids))))
    pos = np.fromiter(map(index.get, labels.ids, repeat(-1)), dtype=np.int64, count=n_labels)
    times = np.asarray(labels.times, dtype=np.float64) if n_labels else np.empty(0)
    newest = float(np.nanmax(times)) if n_labels and not np.isnan(times).all() else NAN

    matched = np.flatnonzero(pos >= 0)
    unknown = n_labels - matched.size
    unmatched = len({labels.ids[j] for j in np.flatnonzero(pos < 0)}) if unknown else 0
    # the latest-arriving label per prediction (a correction replaces what it corrects); on a
    # tie, the later line. lexsort's last key is the primary one.
    order = matched[np.lexsort((matched, np.nan_to_num(times[matched], nan=-np.inf), pos[matched]))]
    last = np.r_[pos[order][1:] != pos[order][:-1], True] if order.size else np.empty(0, dtype=bool)
    chosen = order[last]  # label rows, one per prediction, in prediction order
    duplicate_labels = (matched.size - chosen.size) + (unknown - unmatched)
    chosen = chosen[valid[pos[chosen]]]
    if problem == "binary":
        classes = {positive or "1": 1.0, negative: 0.0}
        y = np.fromiter(map(classes.get, labels.values, repeat(NAN)), dtype=np.float64, count=n_labels)[chosen]
    elif problem == "regression":
        y = _to_float(labels.values)[chosen] if n_labels else np.empty(0)
    else:
        y = np.asarray(labels.values, dtype=object)[chosen] if n_labels else np.empty(0, dtype=object)
    ok = np.isfinite(y) if numeric else np.ones(y.size, dtype=bool)
    invalid_labels = int((~ok).sum())
    l_idx = chosen[ok]
    p_idx = pos[l_idx]
    y = y[ok]
    pred_times = np.asarray(predictions.times, dtype=np.float64)
    ids = np.asarray(predictions.ids, dtype=object) if p_idx.size else np.empty(0, dtype=object)
    return Joined(
        ids=ids[p_idx] if p_idx.size else ids,
        predictions=pred_all[p_idx],
        labels=y,
        prediction_times=pred_times[p_idx] if p_idx.size else np.empty(0),
        label_times=times[l_idx] if l_idx.size else np.empty(0),
        slices={s: np.asarray(v, dtype=object)[p_idx] if p_idx.size else np.empty(0, dtype=object) for s, v in predictions.slices.items()},
        judged=int(valid.sum()),
        all_predictions=pred_all[valid],
        invalid_predictions=invalid_predictions,
        invalid_labels=invalid_labels,
        duplicate_labels=int(duplicate_labels),
        unmatched_labels=int(unmatched),
        newest_label_time=newest,
    )
