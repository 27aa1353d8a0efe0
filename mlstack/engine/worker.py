"""The plan worker: runs a stack's program offline and writes its plan as data.

``mlstack check`` starts it as ``python -I ... STACK_FILE RESULT_FILE [STACK_FILE RESULT_FILE ...]
--cwd DIR`` (see :mod:`mlstack.engine.isolation`), so the interpreter that runs the stack's
program is never the one that evaluates the policies. Several stacks in one worker (``mlstack
check STACK...``) are planned one after the other, and only stacks that run the same program
share a worker. Each result file holds exactly one of::

    {"plan": <Plan.to_json()>}
    {"error": {"kind": "config", "title": ..., "problems": [{"path", "message", "value"?, "hint", "file", "line"}]}}
    {"error": {"kind": "usage" | "program", "message": ...}}

Exit code 0 when every result is a plan, 2 when one is an error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from .planfile import dumps

__all__ = ["main", "describe_program_error"]


def describe_program_error(exc: BaseException, root: Path | None) -> str:
    """``ValueError: boom (at stacks/__main__.py:12)``: the error and the innermost line of the
    program (under ``root``) that was running."""
    text = str(exc).strip() or "(no message)"
    if isinstance(exc, SystemExit):
        text = f"the program called sys.exit({exc.code!r}) before it finished"
    else:
        text = f"{type(exc).__name__}: {text}"
    where = ""
    if root is not None:
        resolved = root.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            try:
                Path(frame.filename).resolve().relative_to(resolved)
            except (ValueError, OSError):
                continue
            where = f" (at {frame.filename}:{frame.lineno})"
            break
    return text + where


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message}}


def _config_error(exc: Any) -> dict[str, Any]:
    from ..errors import _MISSING

    problems = []
    for p in exc.problems:
        item: dict[str, Any] = {"path": p.path, "message": p.message, "hint": p.hint, "file": p.file, "line": p.line}
        if p.value is not _MISSING:
            item["value"] = repr(p.value)
        problems.append(item)
    return {"error": {"kind": "config", "title": exc.title, "problems": problems}}


def run(stack: Path, cwd: Path) -> tuple[dict[str, Any], int]:
    """(result, exit code) of planning ``stack`` offline."""
    import pulumi

    from ..config import load_stack
    from ..errors import ConfigError, UsageError
    from . import plan_stack_file
    from .cloud import UnansweredInvoke
    from .planfile import non_finite_path

    root: Path | None = None
    try:
        # The judging process loaded this file already and printed its warnings; say them once.
        with contextlib.redirect_stderr(io.StringIO()):
            stack_file = load_stack(stack, cwd=cwd)
        root = stack_file.project.root if stack_file.project else stack_file.path.parent
        # The check judges every declared endpoint, also those a new registry would defer.
        plan = plan_stack_file(stack_file, judge_deferred=True)
    except ConfigError as exc:
        return _config_error(exc), 2
    except (UsageError, UnansweredInvoke, pulumi.RunError) as exc:
        return _error("usage", str(exc)), 2
    except BaseException as exc:  # noqa: BLE001 - whatever the program raised, or sys.exit
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _error("program", describe_program_error(exc, root)), 2
    for record in plan.resources:
        bad = non_finite_path(record.inputs)
        if bad:
            return _error(
                "usage",
                f"resource {record.name!r} ({record.type}) input {bad} is not a finite number (NaN or infinity): "
                "no AWS API accepts it; pass a real number",
            ), 2
    data = plan.to_json()
    return {"plan": data}, 0


def _program_modules(stack: Path, cwd: Path) -> tuple[Path, set[str]] | None:
    """The program's directory and the modules loaded now, to forget afterwards the modules the
    program imports from its own directory (see :func:`main`)."""
    try:
        from ..config import resolve_stack_file

        path, project = resolve_stack_file(str(stack), cwd=cwd)
        program = Path(project.main if project is not None else path.parent).resolve()
    except BaseException:  # noqa: BLE001 - run() reports a bad stack; nothing to forget then
        return None
    return (program if program.is_dir() else program.parent), set(sys.modules)


def _forget_program_modules(seen: tuple[Path, set[str]] | None) -> None:
    if seen is None:
        return
    directory, before = seen
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and Path(file).resolve().is_relative_to(directory):
            del sys.modules[name]


def _write(path: Path, payload: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(dumps(payload), encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlstack.engine.worker", description="Plan a stack offline and write the plan as JSON.")
    parser.add_argument("pairs", nargs="+", metavar="STACK_FILE RESULT_FILE", help="each stack file and where to write its result")
    parser.add_argument("--cwd", default=".", help="the directory the stack name is resolved from")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if len(args.pairs) % 2:
        parser.error("expected pairs of a stack file and a result file")
    pairs = [(Path(args.pairs[i]), Path(args.pairs[i + 1]).resolve()) for i in range(0, len(args.pairs), 2)]
    write = _write  # taken before the program runs, as is the encoder it uses
    worst = 0
    for stack, result in pairs:
        # Modules the program imports from its own directory are forgotten after each stack, so
        # the next stack runs them afresh, as a process of its own would.
        seen = _program_modules(stack, Path(args.cwd)) if len(pairs) > 1 else None
        payload, code = run(stack, Path(args.cwd))
        write(result, payload)
        _forget_program_modules(seen)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":  # pragma: no cover - run as a process by mlstack.engine.isolation
    sys.exit(main())
