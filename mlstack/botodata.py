"""Data mlstack derives from botocore's models, cached on disk between processes.

Validating a stack reads a few facts from botocore: the instance types each SageMaker use
accepts and the limits of some fields (its SageMaker service model, a 2 MB JSON document),
the regions with a SageMaker endpoint and each region's partition and DNS suffix (its
endpoint data). Loading those documents costs about half a second in every fresh process;
the facts themselves are a few kilobytes. :func:`derived` computes a fact once and keeps it in
the on-disk cache (:mod:`mlstack.cache`, namespace ``botocore``).

The key of every fact (:func:`botocore_fingerprint`) is botocore's version and location and
every data file botocore would read *before* its own (``AWS_DATA_PATH``, ``~/.aws/models``),
with their sizes and modification times: a botocore upgrade, or a customised model dropped in
``~/.aws/models``, is another key, so the fact is computed again from what botocore now reads.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Callable

__all__ = ["derived", "botocore_fingerprint", "CACHE_NAMESPACE"]

CACHE_NAMESPACE = "botocore"
# More files than that in the directories botocore searches first: do not cache at all.
_MAX_OVERRIDE_FILES = 2000


def _overrides() -> list[Path]:
    """The directories botocore's loader searches before its own data (botocore.loaders)."""
    paths = [Path(p).expanduser() for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep) if p]
    return [*paths, Path("~/.aws/models").expanduser()]


@functools.lru_cache(maxsize=1)
def botocore_fingerprint() -> str | None:
    """What the facts depend on (see the module docstring), or None when it cannot be told."""
    import botocore

    listing: list[list[Any]] = []
    for directory in _overrides():
        if not directory.is_dir():
            listing.append([str(directory), None])
            continue
        for base, _, files in os.walk(directory):
            for name in files:
                path = os.path.join(base, name)
                try:
                    st = os.stat(path)
                except OSError:
                    return None
                listing.append([path, st.st_size, st.st_mtime_ns])
                if len(listing) > _MAX_OVERRIDE_FILES:
                    return None
    return json.dumps({"botocore": [botocore.__version__, os.path.dirname(botocore.__file__)], "overrides": listing}, sort_keys=True)


def derived(name: str, compute: Callable[[], Any]) -> Any:
    """The fact ``name`` (JSON data) from the on-disk cache, or ``compute()`` stored there."""
    from . import cache

    fingerprint = botocore_fingerprint()
    if fingerprint is None:
        return compute()
    key = json.dumps({"botocore": fingerprint, "fact": name}, sort_keys=True)
    value = cache.get(CACHE_NAMESPACE, key)
    if value is None:
        value = compute()
        cache.put(CACHE_NAMESPACE, key, value)
    return value
