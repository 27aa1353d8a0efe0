"""The stack being checked: its environment and its config, as CrossGuard or ``mlstack check`` give them."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ...lineage import ENVIRONMENT
from ...specs.base import Environment
from .values import tags_of

__all__ = [
    "ENVIRONMENTS",
    "FALLBACK_ENVIRONMENT",
    "stack_config",
    "config_value",
    "using_stack_config",
    "environment_of",
    "stack_environment",
]

ENVIRONMENTS: tuple[str, ...] = tuple(e.value for e in Environment)
#: The environment assumed when nothing says which one a resource belongs to: the strictest.
FALLBACK_ENVIRONMENT = Environment.PROD.value


def _known_environment(value: Any) -> str | None:
    return value if isinstance(value, str) and value in ENVIRONMENTS else None


#: The stack config of the stack being checked, set by ``mlstack check`` for one evaluation.
_STACK_CONFIG: ContextVar[Mapping[str, Any] | None] = ContextVar("mlstack_policy_stack_config", default=None)


@contextmanager
def using_stack_config(config: Mapping[str, Any]) -> Iterator[None]:
    """Let the policies read ``config`` as the stack's config (what ``mlstack check`` does)."""
    token = _STACK_CONFIG.set(dict(config))
    try:
        yield
    finally:
        _STACK_CONFIG.reset(token)


def stack_config() -> Mapping[str, Any]:
    """The config of the stack being checked, keyed ``namespace:key`` with string values (objects
    as JSON), as the Pulumi CLI hands it to a policy pack (``PULUMI_CONFIG``), or as
    ``mlstack check`` sets it from the stack file. Empty when neither says."""
    config = _STACK_CONFIG.get()
    if config is not None:
        return config
    raw = os.environ.get("PULUMI_CONFIG")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def config_value(key: str) -> Any:
    """One stack config value, objects and lists decoded (None if absent or unreadable)."""
    value = stack_config().get(key)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _config_environment() -> str | None:
    """``mlstack:environment`` of the stack config (see :func:`stack_config`)."""
    return _known_environment(config_value(ENVIRONMENT))


def _stack_level_environment(stack_tags: Mapping[str, str] | None) -> str | None:
    return _known_environment((stack_tags or {}).get(ENVIRONMENT)) or _config_environment()


def environment_of(props: Mapping[str, Any], stack_tags: Mapping[str, str] | None = None) -> str:
    """The environment a resource belongs to: the stack's (stack tag ``mlstack:environment``,
    else ``mlstack:environment`` of the stack config), else the resource's own lineage tag, else
    prod — an unlabelled resource gets the strictest rules."""
    found = _stack_level_environment(stack_tags)
    if found:
        return found
    tags = tags_of(props)
    if isinstance(tags, dict):
        found = _known_environment(tags.get(ENVIRONMENT))
    return found or FALLBACK_ENVIRONMENT


def stack_environment(resources: Iterable[Any], stack_tags: Mapping[str, str] | None = None) -> str:
    """The environment of a whole stack: its stack tag or config, else the lineage tag most of
    its resources carry, else prod."""
    found = _stack_level_environment(stack_tags)
    if found:
        return found
    votes: Counter[str] = Counter()
    for resource in resources:
        tags = tags_of(resource.props)
        if isinstance(tags, dict) and _known_environment(tags.get(ENVIRONMENT)):
            votes[tags[ENVIRONMENT]] += 1
    return votes.most_common(1)[0][0] if votes else FALLBACK_ENVIRONMENT
