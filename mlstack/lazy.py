"""Package attributes imported on first use (PEP 562).

A package ``__init__`` that re-exports names from its submodules without importing them up front
declares where each name lives and hands the table to :func:`lazy_exports`::

    _LAZY = {"load_stack": ".stackfile", "has_local_storage": "mlstack.catalog"}
    __getattr__ = lazy_exports(__name__, _LAZY, namespace=globals())

Stdlib only: the policy pack vendors it with the packages that use it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping, MutableMapping, Optional

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], *, namespace: Optional[MutableMapping[str, Any]] = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is read from its module in ``table``
    (absolute, or relative to ``package`` with a leading dot), imported then; with ``namespace``
    (the package's ``globals()``) the value is kept there, so the next lookup is a plain one."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        if namespace is not None:
            namespace[name] = value
        return value

    return __getattr__
