"""Versioned model package ARNs: which model package group and version a reference names."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["model_package_version"]


_ARN_VERSION = re.compile(r":model-package/(?P<group>[^/]+)/(?P<version>\d+)$")


def model_package_version(arn: Any) -> tuple[str, str] | None:
    """(group, version) of a versioned model package ARN, else None."""
    if not isinstance(arn, str):
        return None
    match = _ARN_VERSION.search(arn)
    return (match.group("group"), match.group("version")) if match else None
