"""Reading resource properties as CrossGuard hands them, in ``pulumi preview`` and in ``mlstack check``.

Policies run in two places with the same code: inside ``pulumi preview --policy-pack policies``
(CrossGuard hands them read-only proxies of the resource properties, in which values not known
until deployment raise ``UnknownValueError`` on access) and inside ``mlstack check`` (the offline
plan, wrapped in the same proxies). Reading properties only through :func:`get` and :func:`plain`
turns an unknown value into :data:`UNKNOWN` instead of aborting the whole policy, so a rule can
decide what "not known yet" means for it: a KMS key ARN that is unknown is still *set*.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pulumi_policy.proxy import UnknownValueError, _DictProxy, _ListProxy

__all__ = ["UNKNOWN", "get", "plain", "is_set", "tags_of", "number", "memo", "memoising"]


class _Unknown:
    """A value that is not known until deployment (CrossGuard during ``pulumi preview``)."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown until deployment>"

    def __bool__(self) -> bool:  # "is it set?" -> yes, something will be there
        return True


UNKNOWN: Any = _Unknown()


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...``; ``default`` when a step is missing or of the wrong shape;
    :data:`UNKNOWN` when a step is not known until deployment."""
    current = obj
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(step, int):
                if isinstance(current, (str, bytes)) or not isinstance(current, Sequence):
                    return default
                current = current[step]
            else:
                if not isinstance(current, Mapping):
                    return default
                current = current[step]
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return default
    return default if current is None else current


_SCALARS = (str, int, float, bool, type(None))


def plain(obj: Any) -> Any:
    """A plain dict/list copy of (a part of) the properties, unknown values as :data:`UNKNOWN`.

    Memoised per properties object during one ``mlstack check`` run (see :func:`memo`)."""
    if isinstance(obj, _SCALARS):
        return obj
    return memo(obj, "plain", lambda: _plain(obj))


def _plain(obj: Any) -> Any:
    kind = type(obj)
    if kind is dict or kind is _DictProxy or isinstance(obj, Mapping):
        out = {}
        for key in obj:  # iterating keys never reads a value, so never raises
            try:
                value = obj[key]
            except UnknownValueError:
                out[key] = UNKNOWN
                continue
            out[key] = value if isinstance(value, _SCALARS) else _plain(value)
        return out
    if kind is list or kind is _ListProxy or (isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))):
        items = []
        for i in range(len(obj)):
            try:
                value = obj[i]
            except UnknownValueError:
                items.append(UNKNOWN)
                continue
            items.append(value if isinstance(value, _SCALARS) else _plain(value))
        return items
    return obj


#: Results computed from a properties object, kept for one evaluation (``mlstack check`` turns it
#: on; in CrossGuard each request is evaluated once, so nothing is kept between requests).
_MEMO: ContextVar[dict[tuple[int, str], tuple[Any, Any]] | None] = ContextVar("mlstack_policy_memo", default=None)


@contextmanager
def memoising() -> Iterator[None]:
    """Share derived views of each resource's properties between the policies of one run."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memo(obj: Any, key: str, compute: Any) -> Any:
    """``compute()``, remembered for ``obj`` during a :func:`memoising` block."""
    cache = _MEMO.get()
    if cache is None:
        return compute()
    slot = (id(obj), key)
    hit = cache.get(slot)
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = compute()
    cache[slot] = (obj, value)  # holding obj keeps its id from being reused during the run
    return value


def is_set(value: Any) -> bool:
    """Whether a property holds something: unknown counts as set, ``None``/``""``/empty does not."""
    if value is UNKNOWN:
        return True
    if value is None:
        return False
    if isinstance(value, (str, Mapping, Sequence)):
        return len(value) > 0
    return True


def tags_of(props: Mapping[str, Any]) -> dict[str, Any] | Any:
    """The ``tags`` input as a plain dict (:data:`UNKNOWN` if computed at deployment)."""
    tags = get(props, "tags", default={})
    if tags is UNKNOWN:
        return UNKNOWN
    return plain(tags) if isinstance(tags, Mapping) else {}


def number(value: Any) -> float | None:
    """A number from a property (CrossGuard sends every number as a float)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
