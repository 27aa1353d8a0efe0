"""Errors that carry every problem with a user's input at once.

A user error is never a traceback: the CLI prints each :class:`Problem` on its own line and
exits 2. Components raise the same error for input they are given directly in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["Problem", "ConfigError", "UsageError", "SpecProblems", "format_path"]

_MISSING = object()


def format_path(parts: Iterable[Any], *, namespace: str | None = None) -> str:
    """Render a key path as written in a stack file: ``mlstack:models[0].name``."""
    out = ""
    for i, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 0 and namespace:
            out = f"{namespace}:{part}"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what was given, what is wrong, how to fix it."""

    path: str
    message: str
    value: Any = _MISSING
    hint: str | None = None
    file: str | None = None
    line: int | None = None

    def render(self) -> str:
        where = self.file or ""
        if where and self.line:
            where += f":{self.line}"
        head = f"{where}: " if where else ""
        key = f"{self.path}: " if self.path else ""
        text = f"{head}{key}{self.message}"
        if self.value is not _MISSING:
            text += f" (got {_short(self.value)})"
        if self.hint:
            text += f"; {self.hint}"
        return text


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class ConfigError(Exception):
    """Invalid input: a list of problems, reported together."""

    problems: list[Problem] = field(default_factory=list)
    title: str = "invalid mlstack configuration"

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.problems)
        lines = [f"{self.title}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  - {p.render()}" for p in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class UsageError(Exception):
    """A command was called wrongly (missing file, bad option). Exit code 2."""


class SpecProblems(ValueError):
    """Several problems one pydantic model validator found, each at a key path below the model.

    Raise it from a ``@model_validator``: Python callers see one ``ValidationError`` whose
    message lists every problem; the config loader reports each problem at its own key and
    line (``mlstack:endpoints[0].rollout.size``) instead of once at the model's path::

        raise SpecProblems([(("rollout", "size"), "a canary needs at least 2 instances (got 1)")])

    Paths use the keys as written in stack files (camelCase). Messages quote the bad values
    themselves, so the loader does not append the model's whole input.
    """

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, path))}: {msg}" if path else msg for path, msg in self.problems))
