"""mlstack's on-disk cache: values that are a pure function of a key, kept between processes.

What is cached (each in a namespace of its own under the cache directory):

* ``definitions``: SageMaker pipeline definitions (:mod:`mlstack.components.training.definition`),
  keyed by every input of the definition *and* the versions of the SDK and of the code that
  builds it, so a warm ``mlstack plan``/``check`` never imports the sagemaker SDK;
* ``botocore``: data mlstack derives from botocore's service models (valid instance types,
  SageMaker regions), keyed by botocore's version and the data files it would load.

Where: ``$MLSTACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlstack``, else ``~/.cache/mlstack``.
``MLSTACK_CACHE=off`` turns it off (every value is computed, nothing is read or written).

Why a hit is never stale: an entry is found by the SHA-256 of its full key, and holds that
key, which is compared whole on read (a different key is a miss, never a hit); the key of
each namespace names everything the value depends on (see the callers). Why concurrent runs
are safe: an entry is written to a temporary file in its directory and renamed into place, so a
reader sees a whole entry or none; two writers of one key write the same value. An entry that
cannot be read, does not parse, or whose value does not match its recorded SHA-256 is a miss
(and is replaced by the next write). The cache never fails a command: a directory that cannot be
created or written only means every value is computed.

Whoever can write the cache directory decides what the next run reads from it, as whoever
can write the virtualenv decides what code runs. So mlstack creates it private (mode 0700) and
ignores a directory, or an entry, that another user owns or that group or others may write
(with one warning on stderr naming the directory and the fix).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CACHE_DIR_VARIABLE", "CACHE_SWITCH_VARIABLE", "cache_root", "get", "put", "enabled"]

#: Where the cache lives (default ``$XDG_CACHE_HOME/mlstack`` or ``~/.cache/mlstack``).
CACHE_DIR_VARIABLE = "MLSTACK_CACHE_DIR"
#: ``off`` (or ``0``, ``false``, ``no``): compute everything, read and write nothing.
CACHE_SWITCH_VARIABLE = "MLSTACK_CACHE"

_FORMAT = 1
_OFF = frozenset({"off", "0", "false", "no"})
_warned: set[str] = set()


def enabled() -> bool:
    return os.environ.get(CACHE_SWITCH_VARIABLE, "").strip().lower() not in _OFF


def cache_root() -> Path:
    """The cache directory (which may not exist yet)."""
    explicit = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mlstack"


def _warn(directory: Path, why: str) -> None:
    if str(directory) in _warned:
        return
    _warned.add(str(directory))
    print(
        f"mlstack: warning: not using the cache at {directory}: {why}; "
        f"make it yours and private (chmod 700), point {CACHE_DIR_VARIABLE} elsewhere, or set {CACHE_SWITCH_VARIABLE}=off",
        file=sys.stderr,
    )


def _trusted(st: os.stat_result) -> str | None:
    """Why a cache file or directory with status ``st`` must not be trusted, or None."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return "another user owns it"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "group or others may write it"
    return None


def _directory(namespace: str, *, create: bool) -> Path | None:
    """The namespace's directory when it exists (or was created) and may be trusted."""
    root = cache_root()
    directory = root / namespace
    try:
        if create:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        for path in (root, directory):
            why = _trusted(os.stat(path))
            if why is not None:
                _warn(path, why)
                return None
    except OSError:
        return None
    return directory


def _entry(directory: Path, key: str) -> Path:
    return directory / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")


def get(namespace: str, key: str) -> Any | None:
    """The value stored under exactly ``key``, or None (a miss)."""
    if not enabled():
        return None
    directory = _directory(namespace, create=False)
    if directory is None:
        return None
    path = _entry(directory, key)
    try:
        with open(path, "rb") as fh:
            if _trusted(os.fstat(fh.fileno())) is not None:
                return None
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("key") != key or "value" not in data:
        return None
    value = data["value"]
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()
    if data.get("sha256") != digest:
        return None
    return value


def put(namespace: str, key: str, value: Any) -> None:
    """Store ``value`` (JSON data) under ``key``; a failure to write is ignored (a later miss)."""
    if not enabled():
        return
    directory = _directory(namespace, create=True)
    if directory is None:
        return
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()
    text = json.dumps({"format": _FORMAT, "key": key, "sha256": digest, "value": value}, sort_keys=True)
    try:
        fd, partial = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(partial, _entry(directory, key))
    except OSError:
        try:
            os.unlink(partial)
        except OSError:
            pass
