"""CSV tables as the drift job reads them: a baseline file (:mod:`mlstack.drift.stats`) and the
CSV payloads of captured requests (:mod:`mlstack.drift.capture`) are parsed alike, here.

Standard library only. Both modules import it, so neither needs the other for it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

__all__ = ["parse_csv_table", "fit_rows"]


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
    rows, _ = fit_rows(rows, width, filler="")
    if not rows:
        return names, [() for _ in names]
    return names, list(zip(*rows))


def fit_rows(rows: list[Sequence[Any]], width: int, filler: Any) -> tuple[list[Sequence[Any]], int]:
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
