"""How an mlstack command process runs: collector thresholds for a short run, and a fast exit.

An ``mlstack`` command (and the plan worker of ``mlstack check``) is a short process that
imports large packages (pulumi, pulumi_aws, pydantic models) and registers thousands of
objects that live until it ends. Two fixed costs follow, both measured with
``benchmarks/cold_start.py``:

* **The cyclic garbage collector** runs a young-generation pass every 700 allocations by
  default and keeps promoting the imported modules' objects into older generations, which it
  then traverses again: about a quarter of the CPU time of ``mlstack plan churn-prod``.
  :func:`tune_collector` raises the young threshold to 50,000 — the collector still runs, just
  less often, so memory stays bounded (a few MB more at peak for churn-prod), which is why this
  is safe also for plans of thousands of resources, unlike turning it off.
* **Interpreter shutdown** tears down every module and collects the whole heap — up to a second
  after the output is complete. :func:`exit_now` flushes stdout and stderr and leaves with
  ``os._exit``. Safe because by then the command has finished: every file it writes is complete
  and renamed into place (:mod:`mlstack.files`), the plan worker has been waited for, and
  nothing mlstack starts needs a finaliser; ``logging`` handlers are flushed first. Only the
  process entry points (``mlstack``, ``python -m mlstack``, the plan worker) call it — never
  :func:`mlstack.cli.main`, which tests and embedding programs call.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn

__all__ = ["tune_collector", "exit_now", "YOUNG_THRESHOLD"]

#: Allocations between young-generation collections for a command process (CPython's default: 700).
YOUNG_THRESHOLD = 50_000


def tune_collector() -> None:
    """Collect less often during a short command run (see the module docstring)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, max(middle, 20), max(old, 100))


def exit_now(code: int) -> NoReturn:
    """Flush the output and end the process with ``code``, skipping interpreter shutdown."""
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            # The reader left (`mlstack ... | head`) or the stream is closed: nothing more to say.
            if stream is sys.stdout and code == 0:
                code = 141
    os._exit(code)
