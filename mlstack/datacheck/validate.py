"""Check a data sample (CSV or JSON lines) against a feature group's JSON Schema.

The JSON Schema (:meth:`FeatureGroupSpec.record_json_schema`) is the only source of rules, and
every message comes from the ``jsonschema`` package. To check a million rows in seconds the
work is done per column on *distinct* values, not per row:

1. the record-level rules (``required``, ``additionalProperties``) are checked once per
   distinct set of columns (the CSV header, or each distinct key set of JSON lines);
2. each column's distinct values are checked against that column's sub-schema. Values that
   a fast pre-check proves valid are skipped; every other value goes to ``jsonschema``,
   whose errors are the report. The pre-check reads the same sub-schema and understands only
   ``type``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``enum``,
   ``pattern``, ``minLength`` and ``maxLength`` (a sub-schema with any other rule goes
   entirely to ``jsonschema``); it may pass a value on to ``jsonschema`` needlessly, never
   let an invalid one through. It works on whole columns (comprehensions, and for CSV
   Arrow's vectorised parsing), not value by value;
3. the rows holding a bad value are then listed with their line, row and column.

CSV cells are text: an empty cell is a missing value (null); integer columns take whole
numbers written as digits, number columns JSON numbers (``1.5``, ``-2e3``); anything else is
kept as text, so ``jsonschema`` reports it with its type error.

What a record is, whatever the file's quirks (the same for both paths, and what a plain
row-by-row check with ``csv`` / ``json`` and ``jsonschema`` sees):

* both formats: UTF-8, with or without a byte-order mark; a file that is not UTF-8 is one
  problem at line 1. Blank lines (nothing but line breaks; in JSON lines also spaces and tabs)
  are not records: rows count records, lines count the file's physical lines.
* CSV: as Python's ``csv`` module reads it (RFC 4180 quoting: separators and line breaks
  inside quotes are data; CRLF, LF or CR line ends; NUL bytes are data), with no limit on a
  field's size (the module's default of 128 KiB is lifted while a file is read, as Arrow has
  none). The header is the first record.
* JSON lines: a record ends at ``\n`` only. U+2028, U+2029, U+0085, form feeds and other
  characters ``str.splitlines`` would split on are data inside a JSON string (and invalid JSON
  outside one); ``\r`` before the ``\n`` is whitespace. A line nested too deeply for Python's
  JSON reader is reported as invalid JSON at its line.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

__all__ = ["BadValue", "Report", "validate_file", "validate_records", "detect_format", "split_json_lines", "read_json_line", "FORMATS"]

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_FAST_KEYWORDS = frozenset(
    {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "pattern", "minLength", "maxLength", "description", "title"}
)
_MISSING = object()


@dataclass(frozen=True)
class BadValue:
    """One problem: where (line in the file, 1-based data row, column) and what jsonschema said."""

    line: int
    row: Optional[int]
    column: Optional[str]
    message: str

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}:"
        if self.row is not None:
            where += f" row {self.row}:"
        if self.column is not None:
            where += f" column {self.column!r}:"
        return f"{where} {self.message}"


@dataclass
class Report:
    """The outcome of checking one file."""

    path: str
    format: str
    rows: int = 0
    problems: list[BadValue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems if p.row is not None})

    @property
    def bad_columns(self) -> list[str]:
        return sorted({p.column for p in self.problems if p.column is not None})

    def sorted_problems(self) -> list[BadValue]:
        return sorted(self.problems, key=lambda p: (p.line, p.column or ""))


def detect_format(path: Path, given: Optional[str] = None) -> Optional[str]:
    """``csv`` or ``jsonl`` from ``given`` or the file's extension (None if unknown)."""
    if given:
        return given
    return _EXTENSIONS.get(path.suffix.lower())


def validate_file(path: Path, schema: dict[str, Any], fmt: str) -> Report:
    """Check every record of ``path`` (``fmt`` ``csv`` or ``jsonl``) against ``schema``.
    Raises OSError if the file cannot be read."""
    report = Report(path=str(path), format=fmt)
    checker = _Checker(schema)
    if fmt == "csv":
        _check_csv(Path(path), checker, report)
    else:
        _check_jsonl(Path(path), checker, report)
    return report


def validate_records(records: Iterable[dict[str, Any]], schema: dict[str, Any]) -> Report:
    """Check in-memory records (row n at line n) — for tests and Python callers."""
    report = Report(path="<records>", format="records")
    checker = _Checker(schema)
    rows = list(records)
    report.rows = len(rows)
    numbers = list(range(1, len(rows) + 1))
    _check_objects(rows, numbers, numbers, checker, report)
    return report


class _Checker:
    """The schema, split into the record-level part and one validator (and pre-check) per column."""

    def __init__(self, schema: dict[str, Any]) -> None:
        from jsonschema.validators import validator_for

        cls = validator_for(schema)
        cls.check_schema(schema)
        self.schema = schema
        self.properties: dict[str, Any] = dict(schema.get("properties") or {})
        self.required: list[str] = list(schema.get("required") or [])
        record = {k: v for k, v in schema.items() if k not in ("properties", "$defs", "definitions")}
        record["properties"] = {name: True for name in self.properties}
        self.record = cls(record)
        self.columns = {name: cls(sub) for name, sub in self.properties.items()}
        self.rules = {name: _Rules.of(sub) for name, sub in self.properties.items()}
        self.kinds = {name: _kinds(sub) for name, sub in self.properties.items()}

    def record_errors(self, keys: Iterable[str]) -> list[tuple[Optional[str], str]]:
        """(column, message) for the record-level rules, given the columns a record has."""
        keys = list(keys)
        present = set(keys)
        out: list[tuple[Optional[str], str]] = []
        for error in self.record.iter_errors({k: None for k in keys}):
            column: Optional[str] = None
            if error.validator == "required":
                column = next((r for r in self.required if r not in present and error.message.startswith(repr(r))), None)
            elif error.validator == "additionalProperties":
                extras = sorted(present - set(self.properties))
                column = ", ".join(extras) if extras else None
            out.append((column, error.message))
        return out

    def errors(self, column: str, value: Any) -> list[str]:
        """jsonschema's messages for one value of ``column`` (empty: valid)."""
        return [e.message for e in self.columns[column].iter_errors(value)]

    def bad_values(self, column: str, values: Iterable[Any]) -> dict[Any, list[str]]:
        """The distinct ``values`` (all of one Python type) that ``column`` rejects, with messages."""
        rules = self.rules[column]
        values = list(values)
        suspects = values if rules is None else rules.suspects(values)
        bad = {}
        for value in suspects:
            errors = self.errors(column, value)
            if errors:
                bad[value] = errors
        return bad


def _kinds(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind or [])


@dataclass(frozen=True)
class _Rules:
    """The part of a column's sub-schema the pre-check understands, read from the sub-schema."""

    kinds: frozenset[str]
    minimum: Optional[float]
    maximum: Optional[float]
    exclusive_minimum: Optional[float]
    exclusive_maximum: Optional[float]
    enum: Optional[tuple]
    pattern: Optional[re.Pattern]
    min_length: Optional[int]
    max_length: Optional[int]

    @classmethod
    def of(cls, schema: Any) -> Optional["_Rules"]:
        """None when the sub-schema uses a rule the pre-check does not know (jsonschema alone then)."""
        if not isinstance(schema, dict) or not set(schema) <= _FAST_KEYWORDS:
            return None
        kinds = frozenset(_kinds(schema))
        if not kinds or not kinds <= {"string", "integer", "number", "null"}:
            return None
        bounds = [schema.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, (int, float))) for b in bounds):
            return None
        enum = schema.get("enum")
        if enum is not None and not all(v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool)) for v in enum):
            return None
        return cls(
            kinds=kinds,
            minimum=bounds[0],
            maximum=bounds[1],
            exclusive_minimum=bounds[2],
            exclusive_maximum=bounds[3],
            enum=tuple(enum) if enum is not None else None,
            pattern=re.compile(schema["pattern"]) if "pattern" in schema else None,
            min_length=schema.get("minLength"),
            max_length=schema.get("maxLength"),
        )

    def suspects(self, values: list[Any]) -> list[Any]:
        """The ``values`` (distinct, all of one Python type) not certainly valid."""
        if not values:
            return []
        kind = type(values[0])
        if any(type(v) is not kind for v in values):
            return values
        if kind is type(None):
            return [] if "null" in self.kinds and (self.enum is None or None in self.enum) else values
        if kind is str:
            return self._strings(values)
        if kind is int or kind is float:
            return self._numbers(values, kind)
        return values

    def _strings(self, values: list[str]) -> list[str]:
        if "string" not in self.kinds:
            return values
        failing: set[str] = set()
        if self.pattern is not None:
            search = self.pattern.search
            failing.update(v for v in values if not search(v))
        if self.min_length is not None:
            failing.update(v for v in values if len(v) < self.min_length)
        if self.max_length is not None:
            failing.update(v for v in values if len(v) > self.max_length)
        if self.enum is not None:
            allowed = {v for v in self.enum if isinstance(v, str)}
            failing.update(v for v in values if v not in allowed)
        return list(failing)

    def _numbers(self, values: list[Any], kind: type) -> list[Any]:
        # An integral float in an integer column is jsonschema's call (it accepts 1.0).
        if not ("number" in self.kinds or ("integer" in self.kinds and kind is int)):
            return values
        failing: set[Any] = set()
        if kind is float:
            failing.update(v for v in values if not math.isfinite(v))
        if self.minimum is not None:
            failing.update(v for v in values if v < self.minimum)
        if self.maximum is not None:
            failing.update(v for v in values if v > self.maximum)
        if self.exclusive_minimum is not None:
            failing.update(v for v in values if v <= self.exclusive_minimum)
        if self.exclusive_maximum is not None:
            failing.update(v for v in values if v >= self.exclusive_maximum)
        if self.enum is not None:
            allowed = {v for v in self.enum if isinstance(v, (int, float))}
            failing.update(v for v in values if v not in allowed)
        return list(failing)


def _coerce(text: str, kinds: set[str]) -> Any:
    """How a CSV cell becomes a JSON value for a column of these types."""
    if text == "":
        return None
    if "integer" in kinds and _INTEGER.fullmatch(text):
        return int(text)
    if "number" in kinds and _NUMBER.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    return text


def _csv_bad_cells(checker: _Checker, name: str, distinct: list[str]) -> dict[str, list[str]]:
    """The distinct CSV texts of column ``name`` it rejects, with jsonschema's messages."""
    kinds = checker.kinds[name]
    if not kinds & {"integer", "number"}:
        # Text columns: the cell is the value, an empty cell a null.
        bad = checker.bad_values(name, [t for t in distinct if t != ""])
        if "" in distinct:
            bad.update({"": errors for errors in checker.bad_values(name, [None]).values()})
        return bad
    groups: dict[type, dict[Any, list[str]]] = defaultdict(lambda: defaultdict(list))
    for text in distinct:
        value = _coerce(text, kinds)
        groups[type(value)][value].append(text)  # "7" and "07" are both 7
    bad: dict[str, list[str]] = {}
    for by_value in groups.values():
        for value, errors in checker.bad_values(name, by_value).items():
            for text in by_value[value]:
                bad[text] = errors
    return bad


_ARROW_NUMBERS = (
    # Whole numbers that surely fit 64 bits, and JSON numbers: what _coerce turns into int and float.
    ("integer", r"^[+-]?[0-9]{1,18}$", "int64"),
    ("number", r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$", "float64"),
)


def _arrow_bad_cells(checker: _Checker, name: str, distinct: Any) -> dict[str, list[str]]:
    """Like _csv_bad_cells for an Arrow array of distinct texts: numeric cells are parsed by
    Arrow (vectorised) instead of one by one; the rest goes through _csv_bad_cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = checker.kinds[name]
    bad: dict[str, list[str]] = {}
    rest = distinct
    for kind, pattern, arrow_type in _ARROW_NUMBERS:
        if kind not in kinds or len(rest) == 0:
            continue
        mask = pc.match_substring_regex(rest, pattern)
        matched = pc.filter(rest, mask)
        try:
            numbers = pc.cast(matched, getattr(pa, arrow_type)()).to_pylist()
        except pa.ArrowException:
            continue  # leave them to the one-by-one path
        texts = matched.to_pylist()
        failing = checker.bad_values(name, numbers)
        if failing:
            bad.update({text: failing[value] for text, value in zip(texts, numbers) if value in failing})
        rest = pc.filter(rest, pc.invert(mask))
    bad.update(_csv_bad_cells(checker, name, rest.to_pylist()))
    return bad


_FIELD_LIMIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """Lift the csv module's process-wide field size limit while a file is read."""
    with _FIELD_LIMIT_LOCK:
        previous = csv.field_size_limit()
        csv.field_size_limit(sys.maxsize)
        try:
            yield
        finally:
            csv.field_size_limit(previous)


def _check_csv(path: Path, checker: _Checker, report: Report) -> None:
    with _any_field_size():
        _check_csv_unlocked(path, checker, report)


def _check_csv_unlocked(path: Path, checker: _Checker, report: Report) -> None:
    """CSV through Arrow's parser and vectorised unique/lookup; the pure-Python reader reports
    what Arrow refuses (ragged rows, bad encoding, blank lines, duplicate or odd headers)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return _check_csv_python(path, checker, report)
    with open(path, "rb") as handle:
        if handle.read(3) == b"\xef\xbb\xbf":
            return _check_csv_python(path, checker, report)
    with open(path, encoding="utf-8", newline="") as handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            header_lines = reader.line_num
        except (csv.Error, UnicodeDecodeError):
            header = None
    # Arrow skips physical lines, not records: a header on more than one line (or after a blank
    # line) goes to the reader that knows records.
    if not header or header_lines != 1 or len(set(header)) != len(header):
        return _check_csv_python(path, checker, report)
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, OSError):
        return _check_csv_python(path, checker, report)
    report.rows = table.num_rows
    for column, message in checker.record_errors(header):
        report.problems.append(BadValue(1, None, column, f"header: {message}"))
    if table.num_rows == 0:
        report.problems.append(BadValue(1, None, None, "the file has a header but no records"))
        return
    # One physical line per record (after the header) unless a quoted field spans lines or blank
    # lines sit between records: then find each record's line.
    lines = None if _physical_lines(path) == table.num_rows + 1 else _csv_lines(str(path))
    for name in header:
        if name not in checker.columns:
            continue
        column = table.column(name)
        bad = _arrow_bad_cells(checker, name, pc.unique(column))
        if not bad:
            continue
        texts = column.to_pylist() if len(bad) > 1000 else None
        positions = pc.indices_nonzero(pc.is_in(column, value_set=pa.array(list(bad), pa.string()))).to_pylist()
        for position in positions:
            text = texts[position] if texts is not None else column[position].as_py()
            row = position + 1
            line = lines[position] if lines is not None else row + 1
            for message in bad[text]:
                report.problems.append(BadValue(line, row, name, message))


def _check_csv_python(path: Path, checker: _Checker, report: Report) -> None:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        try:
            _check_csv_reader(handle, checker, report)
        except UnicodeDecodeError as exc:
            report.problems.append(BadValue(1, None, None, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"))


def _records(reader) -> Iterable[tuple[int, list[str]]]:
    """(first line, fields) of every record a csv.reader yields; blank lines are no records."""
    previous = reader.line_num
    for row in reader:
        if row:
            yield previous + 1, row
        previous = reader.line_num


def _check_csv_reader(handle, checker: _Checker, report: Report) -> None:
    reader = csv.reader(handle)
    records = _records(reader)
    try:
        header_line, header = next(records)
    except StopIteration:
        report.problems.append(BadValue(1, None, None, "the file is empty; a CSV sample starts with a header row of column names"))
        return
    except csv.Error as exc:
        report.problems.append(BadValue(reader.line_num, None, None, f"not valid CSV: {exc}"))
        return
    try:
        numbered = list(records)
    except csv.Error as exc:
        report.problems.append(BadValue(reader.line_num, None, None, f"not valid CSV: {exc}"))
        return
    rows = [row for _, row in numbered]
    starts = [line for line, _ in numbered]
    report.rows = len(rows)

    def line_of(row: int) -> int:
        return starts[row - 1]

    dupes = sorted({c for c in header if header.count(c) > 1})
    for column in dupes:
        report.problems.append(BadValue(header_line, None, column, f"column {column!r} appears more than once in the header"))
    for column, message in checker.record_errors(header):
        report.problems.append(BadValue(header_line, None, column, f"header: {message}"))
    width = len(header)
    good_rows: list[int] = []
    good: list[list[str]] = []
    for index, row in enumerate(rows, start=1):
        if len(row) != width:
            report.problems.append(BadValue(line_of(index), index, None, f"has {len(row)} fields, the header has {width}"))
        else:
            good_rows.append(index)
            good.append(row)
    if not good:
        if not rows:
            report.problems.append(BadValue(header_line, None, None, "the file has a header but no records"))
        return
    columns = list(zip(*good))
    for position, name in enumerate(header):
        if name not in checker.columns or name in dupes:
            continue
        cells = columns[position]
        bad = _csv_bad_cells(checker, name, list(set(cells)))
        if bad:
            for offset in [i for i, text in enumerate(cells) if text in bad]:
                row = good_rows[offset]
                for message in bad[cells[offset]]:
                    report.problems.append(BadValue(line_of(row), row, name, message))


def _csv_lines(path: str) -> list[int]:
    """The line each CSV record after the header starts on (records may span lines inside
    quotes; blank lines are no records)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        records = _records(csv.reader(handle))
        next(records, None)
        return [line for line, _ in records]


def _physical_lines(path: Path) -> int:
    """Lines of a file as the csv module counts them (CRLF, LF and CR each end one)."""
    data = Path(path).read_bytes()
    ends = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return ends + (1 if data and not data.endswith((b"\n", b"\r")) else 0)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


_JSON_BLANK = " \t\r"
"""JSON whitespace a line may hold beside its record (\n ends the line)."""


def _json_error(line: str) -> str:
    """Why ``line`` is not one JSON value, in the json module's words."""
    try:
        _DECODER.decode(line)
    except RecursionError:
        return "not valid JSON: nested too deeply to read (no feature value nests like that)"
    except ValueError as exc:
        return f"not valid JSON: {exc}"
    return "not valid JSON"  # pragma: no cover - only called for lines the reader refused


def split_json_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of every record of JSON-lines ``text``: records end at ``\n``
    only (never at U+2028, U+2029, U+0085 or the other breaks ``str.splitlines`` knows, which
    are data inside JSON strings); lines of nothing but spaces, tabs and ``\r`` are skipped."""
    return [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip(_JSON_BLANK)]


def read_json_line(line: str) -> Any:
    """The JSON value of one record line (surrounding spaces, tabs and ``\r`` allowed).
    Raises ValueError (with the json module's message) for anything else, RecursionError
    for values nested beyond Python's reader."""
    start = len(line) - len(line.lstrip(_JSON_BLANK))
    value, end = _DECODER.raw_decode(line, start)
    if line[end:].strip(_JSON_BLANK):
        raise ValueError(f"Extra data: line 1 column {end + 1} (char {end})")
    return value


def _check_jsonl(path: Path, checker: _Checker, report: Report) -> None:
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.problems.append(BadValue(1, None, None, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    numbered = split_json_lines(text)
    if not numbered:
        report.problems.append(BadValue(1, None, None, "the file holds no records"))
        return
    report.rows = len(numbered)
    # One C-level parse per line, each checked to end where its line ends: joining lines into
    # one array would be faster but lets two broken lines pass as one value.
    values: list[Any] = []
    read = read_json_line
    for row, (n, line) in enumerate(numbered, start=1):
        try:
            values.append(read(line))
        except (ValueError, RecursionError):
            values.append(_MISSING)
            report.problems.append(BadValue(n, row, None, _json_error(line)))
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    rows: list[int] = []
    for row, ((n, _), value) in enumerate(zip(numbered, values), start=1):
        if value is _MISSING:
            continue
        if not isinstance(value, dict):
            report.problems.append(BadValue(n, row, None, f"{_short(value)} is not a JSON object of column values"))
            continue
        objects.append(value)
        lines.append(n)
        rows.append(row)
    _check_objects(objects, lines, rows, checker, report)


def _check_objects(objects: list[dict[str, Any]], lines: list[int], rows: list[int], checker: _Checker, report: Report) -> None:
    by_keys: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, obj in enumerate(objects):
        by_keys[tuple(obj)].append(index)
    checked: dict[frozenset, list] = {}
    for keys, members in by_keys.items():
        key_set = frozenset(keys)
        if key_set not in checked:
            checked[key_set] = checker.record_errors(sorted(keys))
        for index in members:
            for column, message in checked[key_set]:
                report.problems.append(BadValue(lines[index], rows[index], column, message))
    for name in checker.columns:
        values = [obj.get(name, _MISSING) for obj in objects]
        kinds = set(map(type, values)) - {type(_MISSING)}
        bad_at: list[tuple[int, list[str]]] = []
        if kinds and not kinds & {dict, list} and len(kinds - {type(None)}) <= 1:
            # One JSON type (plus nulls): plain values are their own distinct keys.
            distinct = set(values)
            distinct.discard(_MISSING)
            groups: dict[type, list] = defaultdict(list)
            for value in distinct:
                groups[type(value)].append(value)
            bad: dict[Any, list[str]] = {}
            for group in groups.values():
                bad.update(checker.bad_values(name, group))
            if bad:
                bad_at = [(i, bad[v]) for i, v in enumerate(values) if v is not _MISSING and v in bad]
        else:
            # Mixed types (1, 1.0 and True are equal in Python): key on the type as well.
            typed: dict[type, set] = defaultdict(set)
            for value in values:
                if value is not _MISSING and not isinstance(value, (dict, list)):
                    typed[type(value)].add(value)
            bad_typed: dict[tuple[type, Any], list[str]] = {}
            for kind, group in typed.items():
                for value, errors in checker.bad_values(name, group).items():
                    bad_typed[(kind, value)] = errors
            for i, value in enumerate(values):
                if value is _MISSING:
                    continue
                if isinstance(value, (dict, list)):
                    errors = checker.errors(name, value)
                else:
                    errors = bad_typed.get((type(value), value), [])
                if errors:
                    bad_at.append((i, errors))
        for index, errors in bad_at:
            for message in errors:
                report.problems.append(BadValue(lines[index], rows[index], name, message))


def _short(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):  # nested as deep as the reader allows
        return f"a JSON {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def write_report(report: Report, *, schema_title: str, max_problems: int = 0, out=sys.stdout) -> None:
    """Print every problem (or the first ``max_problems``), then a one-line summary."""
    problems = report.sorted_problems()
    shown = problems if max_problems <= 0 else problems[:max_problems]
    for problem in shown:
        print(problem.render(report.path), file=out)
    if len(shown) < len(problems):
        print(f"... {len(problems) - len(shown)} more problems not shown (--max-errors {max_problems})", file=out)
    if report.ok:
        print(f"{report.path}: all {report.rows} rows match feature group {schema_title}", file=out)
    else:
        columns = ", ".join(report.bad_columns) or "none"
        print(
            f"{report.path}: {len(problems)} problems in {report.bad_rows} of {report.rows} rows "
            f"(columns: {columns}) against feature group {schema_title}",
            file=out,
        )
