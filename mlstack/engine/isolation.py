"""Plan a stack in a worker process and read the plan back as data.

The process that evaluates policies must never run the stack's program: a Python program
runs with the full power of its interpreter and could replace the policies, the checker or
the report printer there. :func:`plan_in_worker` starts ``python -I`` on
:mod:`mlstack.engine.worker` (isolated mode: no ``PYTHON*`` variables, no user site-packages,
no current directory on ``sys.path``) in a session of its own, with stdin closed and its
output captured, waits for it with a deadline, ends whatever it left running, and parses the
result file with :mod:`mlstack.engine.planfile`. Every way the worker can fail — a crash, an
error, garbage, no result, a plan of another stack, an oversized or malformed plan — raises
a :class:`~mlstack.errors.UsageError` or :class:`~mlstack.errors.ConfigError` (exit 2).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem, UsageError
from .graph import Plan
from .planfile import MAX_PLAN_BYTES, PlanFileError, loads, plan_from_json

__all__ = ["plan_in_worker", "plan_in_workers", "start_worker", "PendingPlans", "WorkerError", "PLAN_TIMEOUT_SECONDS", "OUTPUT_TAIL_BYTES"]

#: How long the stack's program may take to plan before the worker is stopped.
PLAN_TIMEOUT_SECONDS = 1800.0
#: How much of the program's own output (prints, warnings) is shown, from its end.
OUTPUT_TAIL_BYTES = 16 * 1024

# The worker leaves with os._exit once its result is written: the interpreter's shutdown (a
# second or two of collecting the SDK's objects and threads) would only delay the verdict.
# It also collects less often while it plans (mlstack.process.tune_collector).
_BOOTSTRAP = (
    "import os, sys; sys.path.insert(0, {root!r}); from mlstack.process import tune_collector; tune_collector(); "
    "from mlstack.engine.worker import main; code = main(); sys.stdout.flush(); sys.stderr.flush(); os._exit(code)"
)


class WorkerError(UsageError):
    """The worker that runs the stack's program failed to hand back a plan."""


class _Shown(str):
    """A problem value as the worker rendered it (``repr`` gives the rendering back)."""

    def __repr__(self) -> str:
        return str(self)


def _worker_command(pairs: list[tuple[Path, Path]], cwd: Path) -> list[str]:
    import mlstack

    root = str(Path(mlstack.__file__).absolute().parent.parent)
    files = [str(p) for pair in pairs for p in pair]
    return [sys.executable, "-I", "-c", _BOOTSTRAP.format(root=root), *files, "--cwd", str(cwd)]


def _environment() -> dict[str, str]:
    # -I ignores PYTHON* variables already; leaving them out keeps a child of the program from
    # picking them up either.
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def _tail(path: Path) -> str:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size > OUTPUT_TAIL_BYTES:
                fh.seek(size - OUTPUT_TAIL_BYTES)
            data = fh.read(OUTPUT_TAIL_BYTES)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return ("...\n" + text) if size > OUTPUT_TAIL_BYTES else text


def _end_session(process: subprocess.Popen[bytes]) -> None:
    """Stop the worker and anything it started in its session."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if process.poll() is None:
        process.kill()
    process.wait()


def _raise_error(error: Any, source: str) -> None:
    if not isinstance(error, dict) or not isinstance(error.get("kind"), str):
        raise WorkerError(f"{source} is not a plan: its error is not an object with a kind")
    kind = error["kind"]
    if kind == "config":
        problems = error.get("problems")
        if not isinstance(problems, list) or not all(isinstance(p, dict) for p in problems):
            raise WorkerError(f"{source} is not a plan: its configuration error has no list of problems")
        out = []
        for p in problems:
            fields: dict[str, Any] = {"path": str(p.get("path") or ""), "message": str(p.get("message") or "")}
            if isinstance(p.get("value"), str):
                fields["value"] = _Shown(p["value"])
            for key in ("hint", "file"):
                if isinstance(p.get(key), str):
                    fields[key] = p[key]
            if type(p.get("line")) is int:
                fields["line"] = p["line"]
            out.append(Problem(**fields))
        raise ConfigError(out, title=str(error.get("title") or "invalid mlstack configuration"))
    message = error.get("message")
    if not isinstance(message, str):
        raise WorkerError(f"{source} is not a plan: its error has no message")
    if kind == "usage":
        raise UsageError(message)
    if kind == "program":
        raise UsageError(f"the stack's program failed: {message}")
    raise WorkerError(f"{source} is not a plan: unknown error kind {kind!r}")


def plan_in_worker(stack_file: Any, *, cwd: Path | None = None, timeout: float | None = None) -> Plan:
    """The offline plan of ``stack_file`` (a loaded, validated :class:`~mlstack.config.StackFile`),
    computed by a worker process and read back as data.

    The program's own output (prints, warnings; its last :data:`OUTPUT_TAIL_BYTES` bytes) is
    passed on to stderr, so that stdout stays the command's (``--format json``).
    """
    [outcome] = _run_worker([stack_file], cwd=cwd, timeout=timeout)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def plan_in_workers(stack_files: list[Any], *, cwd: Path | None = None, timeout: float | None = None) -> list[Plan | Exception]:
    """The plans of several stack files planned by *one* worker, one after the other, in order:
    each a :class:`Plan` or the error (:class:`~mlstack.errors.UsageError`,
    :class:`~mlstack.errors.ConfigError`) that stack's planning ended with.

    Callers hand one worker only stacks that run the same program (see
    :func:`mlstack.policy.multi.check_stacks`): a program that could tamper with another
    stack's plan in a shared worker could produce any plan for that stack anyway, as the stack
    runs it. ``timeout`` bounds the whole worker (default: :data:`PLAN_TIMEOUT_SECONDS` per stack).
    """
    return _run_worker(stack_files, cwd=cwd, timeout=timeout)


def _run_worker(stack_files: list[Any], *, cwd: Path | None, timeout: float | None) -> list[Plan | Exception]:
    pending = start_worker([Path(f.path) for f in stack_files], cwd=cwd, timeout=timeout)
    try:
        return pending.collect(stack_files)
    finally:
        pending.cancel()


class PendingPlans:
    """A plan worker already started on some stack files (:func:`start_worker`): the caller
    validates meanwhile, then :meth:`collect` s the plans or :meth:`cancel` s the worker."""

    def __init__(self, paths: list[Path], cwd: Path, deadline: float) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="mlstack-plan-")
        scratch = Path(self._scratch.name)
        self._deadline = deadline
        self._results = [scratch / (f"plan-{i}.json" if len(paths) > 1 else "plan.json") for i in range(len(paths))]
        self._stdout, self._stderr = scratch / "stdout", scratch / "stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._paths = paths
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            try:
                self._process = subprocess.Popen(
                    _worker_command([(p.resolve(), r) for p, r in zip(paths, self._results)], cwd.resolve()),
                    cwd=cwd,
                    env=_environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as exc:
                self._scratch.cleanup()
                raise WorkerError(f"cannot start the plan worker ({sys.executable}): {exc.strerror or exc}") from None

    def cancel(self) -> None:
        """Stop the worker (and anything it started) if it still runs; forget its files."""
        if self._process is not None:
            _end_session(self._process)
            self._process = None
        self._scratch.cleanup()

    def collect(self, stack_files: list[Any]) -> list[Plan | Exception]:
        """Wait for the worker and read back each plan (or its error), in order: the stack files,
        loaded and validated, of the paths the worker was started on."""
        process = self._process
        assert process is not None and len(stack_files) == len(self._results), "collect once, with the files started"
        if [Path(f.path).resolve() for f in stack_files] != [p.resolve() for p in self._paths]:
            raise WorkerError("the plan worker was started on other stack files than the ones checked")
        try:
            code = process.wait(timeout=self._deadline)
        except subprocess.TimeoutExpired:
            raise WorkerError(
                f"the stack's program did not finish planning within {self._deadline:g} s and was stopped; "
                "look for a loop or a wait on something that never comes"
            ) from None
        finally:
            _end_session(process)  # anything the program left running in the worker's session
            self._process = None
        output = (_tail(self._stdout) + _tail(self._stderr)).strip()
        if output:
            print(output, file=sys.stderr)
        read: list[Any] = []
        for stack_file, result in zip(stack_files, self._results):
            try:
                read.append(_read(result, stack_file, code))
            except (UsageError, ConfigError) as exc:
                read.append(exc)
        # A worker of several stacks exits 2 when one of them ended with an error (in its result
        # file); any other exit after writing plans, or 2 with no error reported, voids them all.
        reported = any(isinstance(r, (UsageError, ConfigError)) for r in read)
        if code != 0 and not (len(stack_files) > 1 and code == 2 and reported):
            void = WorkerError(f"the plan worker exited with code {code} after writing a plan; the plan is not used")
            read = [void if isinstance(r, Plan) else r for r in read]
        return read


def start_worker(paths: list[Path], *, cwd: Path | None = None, timeout: float | None = None) -> PendingPlans:
    """Start a plan worker on the stack files ``paths`` now, before the caller has validated them
    (the worker validates each itself before its program runs), so that planning overlaps the
    caller's own validation; ``timeout`` bounds the worker from its start (default:
    :data:`PLAN_TIMEOUT_SECONDS` per stack)."""
    deadline = PLAN_TIMEOUT_SECONDS * len(paths) if timeout is None else timeout
    return PendingPlans(list(paths), Path.cwd() if cwd is None else Path(cwd), deadline)


def _read(result: Path, stack_file: Any, code: int) -> Plan:
    source = "the plan the worker wrote"
    try:
        size = result.stat().st_size
    except OSError:
        size = None
    if size is None or size == 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise WorkerError(f"the plan worker (which runs the stack's program) {how} and wrote no plan")
    if size > MAX_PLAN_BYTES:
        raise PlanFileError(f"{source} is {size} bytes, more than the {MAX_PLAN_BYTES} a plan may take")
    data = loads(result.read_bytes(), source=source)
    if not isinstance(data, dict) or len(data) != 1 or not ({"plan", "error"} & set(data)):
        raise PlanFileError(f"{source} is not a plan: it must be an object with one key, plan or error")
    if "error" in data:
        _raise_error(data["error"], source)
    return plan_from_json(data["plan"], source=source, stack=stack_file.stack, project=stack_file.project_name)
