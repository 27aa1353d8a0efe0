"""Progress on stderr for long work, drawn by tqdm, only where someone is watching.

Shown only when stderr is a terminal (nothing when it is piped or captured, so logs and
``--format json`` stay clean), not with ``--quiet``, ``MLSTACK_PROGRESS=0`` or ``TERM=dumb``,
and only for work that lasts longer than half a second. It is never coloured (``NO_COLOR`` is
honoured by never colouring), and the line is erased when the work ends::

    with progress("evaluating policies", total=len(records), unit="resource") as bar:
        for record in records:
            ...
            bar.update()

    with activity(f"planning {stack}"):        # no count: the elapsed time, refreshed
        plan = plan_in_worker(stack_file)

A multi-stack run can show one bar over the stacks with ``progress(..., total=len(stacks))``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress", "activity", "enabled", "set_quiet", "ENV", "COUNTS"]

ENV = "MLSTACK_PROGRESS"
#: Counters long work updates and progress lines read (``registered``: resources the offline
#: plan of this process registered so far). Plain integers: the drawing thread imports nothing.
COUNTS: dict[str, int] = {"registered": 0}
_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no progress for the rest of the command."""
    _state["quiet"] = bool(quiet)


def enabled(stream: Any = None) -> bool:
    """Whether progress is drawn on ``stream`` (default stderr)."""
    stream = sys.stderr if stream is None else stream
    if _state["quiet"] or os.environ.get(ENV, "") in ("0", "false", "no", "off") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _Silent:
    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        return None


@contextmanager
def progress(
    description: str, *, total: int | None = None, unit: str = "it", delay: float = 0.5, bar_format: str | None = None
) -> Iterator[Any]:
    """A bar on stderr (a counter when ``total`` is None); a silent stand-in when not :func:`enabled`."""
    if not enabled():
        yield _Silent()
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
        delay=delay,
        colour=None,
        bar_format=bar_format,
    )
    try:
        yield bar
    finally:
        bar.close()


@contextmanager
def activity(description: str, *, detail: Callable[[], str | None] | None = None, delay: float = 0.5, interval: float = 0.25) -> Iterator[None]:
    """The elapsed time of work that cannot be counted (a plan in its worker, AWS calls), with
    ``detail()`` (such as the AWS call in flight) refreshed beside it."""
    if not enabled():
        yield
        return
    stop = threading.Event()
    with progress(description, total=None, delay=delay, bar_format="{desc}: {elapsed}{postfix}") as bar:

        def tick() -> None:
            while not stop.wait(interval):
                try:
                    text = detail() if detail is not None else None
                except Exception:  # noqa: BLE001 - a progress line must never break the work
                    text = None
                bar.set_postfix_str(text or "", refresh=False)
                bar.update(0)  # draws once the delay has passed, and marks the line as drawn so close() erases it

        thread = threading.Thread(target=tick, name="mlstack-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=1)
