"""The plan worker: runs a stack's program offline and writes its plan as data.

``mlstack check`` starts it as ``python -I ... STACK_FILE RESULT_FILE --cwd DIR`` (see
:mod:`mlstack.engine.isolation`), so the interpreter that runs the stack's program is never
the one that evaluates the policies. The result file holds exactly one of::

    {"plan": <Plan.to_json()>}
    {"error": {"kind": "config", "title": ..., "problems": [{"path", "message", "value"?, "hint", "file", "line"}]}}
    {"error": {"kind": "usage" | "program", "message": ...}}

Exit code 0 with a plan, 2 with an error.
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


def _write(path: Path, payload: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(dumps(payload), encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlstack.engine.worker", description="Plan a stack offline and write the plan as JSON.")
    parser.add_argument("stack", help="the stack file")
    parser.add_argument("result", help="where to write the result")
    parser.add_argument("--cwd", default=".", help="the directory the stack name is resolved from")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    result = Path(args.result).resolve()
    write = _write  # taken before the program runs, as is the encoder it uses
    payload, code = run(Path(args.stack), Path(args.cwd))
    write(result, payload)
    return code


if __name__ == "__main__":  # pragma: no cover - run as a process by mlstack.engine.isolation
    sys.exit(main())
