"""Physical names that must fit an AWS limit: cut, with a hash of the whole name so two cut
names stay apart.

Two forms exist because resources already deployed carry them (changing a name replaces the
resource): TrainingPipeline's names (:func:`bounded`: 8 hex digits) and Monitor's
(:func:`short_name`: 6 hex digits, no trailing hyphen before them).
"""

from __future__ import annotations

import hashlib

__all__ = ["bounded", "short_name"]


def bounded(name: str, limit: int) -> str:
    """``name`` within ``limit`` characters: ``<first limit-9 characters>-<8 hex digits>``."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def short_name(prefix: str, suffix: str, limit: int) -> str:
    """``<prefix>-<suffix>`` within ``limit`` characters (a hash keeps cut names unique)."""
    name = f"{prefix}-{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"
