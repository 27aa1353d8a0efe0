"""What every policy's config schema shares: where it applies, values per environment, patterns."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .stack import ENVIRONMENTS

__all__ = ["environments_property", "per_environment", "applies", "for_env", "glob_match"]


def environments_property(default: Sequence[str], what: str) -> dict[str, Any]:
    """The ``environments`` property every policy has: where it applies."""
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(ENVIRONMENTS)},
        "uniqueItems": True,
        "default": list(default),
        "description": f"Environments (the stack's mlstack:environment) in which {what}.",
    }


def per_environment(item: Mapping[str, Any], default: Mapping[str, Any], description: str) -> dict[str, Any]:
    """A property with one value per environment; all three must be given, so a partial
    override cannot silently drop an environment's limit."""
    return {
        "type": "object",
        "properties": {env: dict(item) for env in ENVIRONMENTS},
        "required": list(ENVIRONMENTS),
        "additionalProperties": False,
        "default": dict(default),
        "description": description,
    }


def applies(config: Mapping[str, Any], env: str) -> bool:
    """Whether a policy's ``environments`` setting covers ``env``."""
    return env in (config.get("environments") or ())


def for_env(config: Mapping[str, Any], key: str, env: str) -> Any:
    """The value of a per-environment property for ``env``."""
    return (config.get(key) or {}).get(env)


def glob_match(value: str, patterns: Iterable[str]) -> str | None:
    """The first shell-style pattern (``ml.p5*``) that ``value`` matches, or None."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(value, pattern):
            return pattern
    return None
