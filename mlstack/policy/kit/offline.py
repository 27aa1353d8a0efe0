"""What an offline plan recorded but could not run, handed by ``mlstack check`` to the policies.

Pulumi's mock runtime records a resource's new-style transforms but never runs them (there is no
engine to call them back), so ``mlstack check`` judges the inputs the program wrote. It tells the
policies which resources had transforms for one evaluation (:func:`evaluating_offline`); under
CrossGuard, which sees resources after the engine transformed them, nothing is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["OfflineTransforms", "evaluating_offline", "unevaluated_transforms"]


@dataclass(frozen=True)
class OfflineTransforms:
    """What an offline plan recorded but could not run: transforms per resource URN (where they
    come from: ``resource``, ``parent``, ``stack``) and the number of stack invoke transforms."""

    by_urn: Mapping[str, Sequence[str]] = field(default_factory=dict)
    invoke_transforms: int = 0


_OFFLINE: ContextVar[OfflineTransforms | None] = ContextVar("mlstack_offline_transforms", default=None)


@contextmanager
def evaluating_offline(transforms: OfflineTransforms) -> Iterator[None]:
    """Tell the policy, for one ``mlstack check`` evaluation, which transforms were not run."""
    token = _OFFLINE.set(transforms)
    try:
        yield
    finally:
        _OFFLINE.reset(token)


def unevaluated_transforms() -> OfflineTransforms:
    """The transforms of the plan being checked that were not run (none under CrossGuard)."""
    return _OFFLINE.get() or OfflineTransforms()
