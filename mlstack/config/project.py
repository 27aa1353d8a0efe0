"""The Pulumi project (``Pulumi.yaml``) and finding a stack's file in it."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem, UsageError
from ..files import read_text, stat_input
from .yamlfile import load_yaml, source_map

PROJECT_FILE = "Pulumi.yaml"


@dataclass(frozen=True)
class Project:
    """The Pulumi project a stack file belongs to (``Pulumi.yaml``)."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    @classmethod
    def load(cls, root: Path) -> "Project":
        """Read ``root/Pulumi.yaml``; raises ConfigError when it is not a project file the
        Pulumi CLI would accept (``sdk/go/common/workspace/project.json``: ``name`` a
        non-empty string, ``main`` and ``stackConfigDir`` strings)."""
        path = root / PROJECT_FILE
        display = display_path(path)
        title = "invalid Pulumi project file"
        data, node = load_yaml(read_text(path, what="the Pulumi project file"), file=display, title=title)
        lines = source_map(node)[0]
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                [Problem("", f"a Pulumi project file is a mapping of keys (name:, runtime:, main:), not {_kind(data)}", file=display, line=1)],
                title=title,
            )
        problems = []
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(
                Problem("name", "a Pulumi project file needs a 'name': a non-empty string", value=name, file=display, line=lines.get(("name",)), hint="e.g. name: mlstack")
            )
        for key in ("main", "stackConfigDir"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(
                    Problem(key, f"is a path relative to {PROJECT_FILE}, a string, not {_kind(value)}", value=value, file=display, line=lines.get((key,)), hint=f"e.g. {key}: stacks/")
                )
        if problems:
            raise ConfigError(problems, title=title)
        main = root / (data.get("main") or ".")
        config_dir = root / (data.get("stackConfigDir") or ".")
        return cls(root=root, name=str(name), main=main, stack_config_dir=config_dir)

    def program_files(self) -> list[Path]:
        """The files of the program `pulumi up` runs that mlstack reads: ``main`` itself, or
        its ``__main__.py``."""
        return [self.main / "__main__.py"] if self.main.is_dir() else [self.main]

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def find_project(start: Path | None = None) -> Project | None:
    """The nearest ``Pulumi.yaml`` at or above ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if stat_input(directory / PROJECT_FILE, what="the Pulumi project file") is not None:
            return Project.load(directory)
    return None


def resolve_stack_file(stack: str, *, cwd: Path | None = None) -> tuple[Path, Project | None]:
    """Map ``churn-prod`` or a path to the stack file and its project."""
    looks_like_path = stack.endswith((".yaml", ".yml")) or os.sep in stack or "/" in stack
    if looks_like_path:
        path = Path(stack)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        if stat_input(path, what="the stack file") is None:
            raise UsageError(f"stack file {stack!r} does not exist; pass a stack name such as churn-prod or a path to a Pulumi.<stack>.yaml file")
        return path.resolve(), find_project(path.parent)
    project = find_project(cwd)
    if project is None:
        raise UsageError(
            f"no Pulumi.yaml in {Path(cwd or Path.cwd()).resolve()} or above, so stack {stack!r} cannot be found; "
            "run from the project directory or pass the path of the stack file"
        )
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    if stat_input(path, what="the stack file") is None:
        known = project.stack_names()
        close = difflib.get_close_matches(stack, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"no stack {stack!r}: {path} does not exist; {hint}stacks here: {', '.join(known) or 'none'}"
        )
    return path, project


def stack_inputs(stack: str | os.PathLike[str], *, cwd: Path | None = None) -> list[tuple[Path, str]]:
    """The files a command on ``stack`` reads — the stack file, its Pulumi.yaml and the
    program's entry point — as (path, what): outputs must never overwrite them."""
    path, project = resolve_stack_file(os.fspath(stack), cwd=cwd)
    inputs = [(path, "the stack file")]
    if project is not None:
        inputs.append((project.root / PROJECT_FILE, "the Pulumi project file"))
        inputs += [(program, "the stack's Pulumi program") for program in project.program_files()]
    return inputs


def display_path(path: Path) -> str:
    """``path`` as messages show it: relative to the current directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"
