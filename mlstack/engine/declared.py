"""Which stack-file entry each component came from: the YAML wiring says it, the offline plan carries it.

The program that builds a team's ``mlstack:*`` keys (:mod:`mlstack.program` and the ``*_from_spec``
functions it calls) calls :func:`declare` once for every component it creates from an entry::

    declare(endpoint, "mlstack:endpoints[0]")

Nothing is written to the component — no tag, no resource option, no input — so URNs and AWS
resources are the same whether anyone listens or not. Under ``pulumi up`` nobody does and
:func:`declare` returns at once. The offline engine (:func:`mlstack.engine.runner.run_program`)
listens (:func:`recording`), and the plan carries what it heard as data: ``Plan.declared_at``,
``declaredAt`` in the plan JSON (component URN -> key path), read back strictly by
:mod:`mlstack.engine.planfile`. ``mlstack check`` finds the entry of a violated resource with
:func:`declaring_entry` (a resource under a component inherits the component's entry) and the
line with the stack file's line map (:func:`key_parts`).

No Pulumi import: the process that judges a plan reads these without loading the SDK's runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["KEY_PATH", "MAX_KEY_PATH", "declare", "recording", "is_key_path", "key_parts", "declaring_entry"]

#: A key path as config errors name it: ``mlstack:endpoints[0]``, ``mlstack:models[1].training``.
KEY_PATH = re.compile(r"mlstack:[A-Za-z][A-Za-z0-9]*(?:\[\d{1,6}\]|\.[A-Za-z][A-Za-z0-9]*)*")
#: The longest key path a plan may carry.
MAX_KEY_PATH = 200
_PART = re.compile(r"\[(\d+)\]|\.([A-Za-z][A-Za-z0-9]*)")

#: Component URN -> key path, while the offline engine runs a program; None under ``pulumi up``.
_DECLARED: ContextVar[dict[str, str] | None] = ContextVar("mlstack_declared_at", default=None)


def is_key_path(value: Any) -> bool:
    """Whether ``value`` is a key path of :data:`KEY_PATH` of at most :data:`MAX_KEY_PATH` characters."""
    return isinstance(value, str) and len(value) <= MAX_KEY_PATH and KEY_PATH.fullmatch(value) is not None


@contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect, for the program run inside the block, the entries :func:`declare` is told
    (component URN -> key path); the dict fills as the components' URNs resolve."""
    found: dict[str, str] = {}
    token = _DECLARED.set(found)
    try:
        yield found
    finally:
        _DECLARED.reset(token)


def declare(component: Any, key_path: str) -> None:
    """Say that ``component`` (a Pulumi resource) was built from the stack-file entry ``key_path``.

    A no-op unless the offline engine is recording; the first entry said for a component wins.
    """
    found = _DECLARED.get()
    if found is None:
        return
    if not is_key_path(key_path):
        raise ValueError(f"not a stack-file key path: {key_path!r} (expected e.g. 'mlstack:endpoints[0]')")
    component.urn.apply(lambda urn: found.setdefault(urn, key_path) if isinstance(urn, str) and urn else None)


def key_parts(key_path: str) -> tuple[str | int, ...]:
    """``mlstack:models[1].training`` as the path the stack file's line map uses under ``config``:
    ``("mlstack:models", 1, "training")``."""
    if not is_key_path(key_path):
        raise ValueError(f"not a stack-file key path: {key_path!r}")
    head = re.match(r"mlstack:[A-Za-z][A-Za-z0-9]*", key_path)
    assert head is not None
    parts: list[str | int] = [head.group(0)]
    for index, name in _PART.findall(key_path[head.end():]):
        parts.append(int(index) if index else name)
    return tuple(parts)


def declaring_entry(urn: str, declared_at: Mapping[str, str], parent_of: Mapping[str, str | None]) -> tuple[str, str] | None:
    """(URN, key path) of the nearest of ``urn`` and its ancestors (``parent_of``: URN -> parent
    URN) that a stack-file entry declared; None when none was."""
    seen: set[str] = set()
    current: str | None = urn
    while current is not None and current not in seen:
        if current in declared_at:
            return current, declared_at[current]
        seen.add(current)
        current = parent_of.get(current)
    return None
