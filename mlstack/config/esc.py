"""Pulumi ESC ``environment:`` imports of a stack file, which cannot be opened offline."""

from __future__ import annotations

import sys
from typing import Any

def esc_imports(environment: Any) -> tuple[str, ...]:
    """The ESC environments a stack file's ``environment:`` imports: a list of names, or an
    inline definition with ``imports`` (names, or ``{name: {merge: ...}}``) and ``values``
    (pulumi/pulumi ``sdk/go/common/workspace/project.go``, ``Environment``)."""
    if environment is None:
        return ()
    if isinstance(environment, list):
        return tuple(str(name) for item in environment for name in (item if isinstance(item, dict) else [item]))
    if isinstance(environment, dict):
        names = [name for item in environment.get("imports") or [] for name in (item if isinstance(item, dict) else [item])]
        if environment.get("values"):
            names.append(_INLINE)
        return tuple(str(n) for n in names)
    return (str(environment),)


_INLINE = "(inline values)"


def esc_uses(environments: tuple[str, ...]) -> str:
    """``imports the Pulumi ESC environment a/b and defines ESC values inline``."""
    names = [e for e in environments if e != _INLINE]
    several = "s" if len(names) > 1 else ""
    uses = f"imports the Pulumi ESC environment{several} {', '.join(names)}" if names else ""
    if _INLINE in environments:
        uses += (" and " if uses else "") + "defines ESC values inline"
    return uses


def esc_warning(display: str, environments: tuple[str, ...]) -> str:
    return (
        f"{display}: {esc_uses(environments)}; mlstack cannot open "
        "ESC environments offline (that takes the Pulumi CLI), so config they set (pulumiConfig) is not read: "
        "mlstack keys, or fields of them, that only the environment sets are missing here, and `pulumi up` "
        "may deploy more than this shows"
    )


_WARNED: set[str] = set()


def warn(message: str) -> None:
    # A command may load the same file twice (check plans after validating); say it once.
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"mlstack: warning: {message}", file=sys.stderr)
