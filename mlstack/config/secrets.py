"""Secret config values: ``{secure: <ciphertext>}`` leaves, which keys hold them, and the
fields that may.

mlstack never decrypts a secret: offline it stands in as :data:`SECRET`. The engine marks a
whole top-level key secret when any leaf below it is (``Map.SecureKeys`` in pulumi/pulumi
``sdk/go/common/resource/config/map.go``).
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Mapping

from ..specs.stack import NAMESPACE
from .scalars import decode
from .schema import schema_options, stack_schema

SECRET = "[secret]"
"""How a secret config value shows offline: mlstack never decrypts it."""
SECRET_OK = "x-mlstack-secret"
"""JSON Schema key (``Field(json_schema_extra={SECRET_OK: True})``) on the fields whose values
may be secrets because their component passes them on as Pulumi secrets."""


def is_secure(value: Any) -> bool:
    """A ``{secure: <ciphertext>}`` leaf, as ``pulumi config set --secret`` writes it: a mapping
    with the single key ``secure`` holding a string (``isSecureValue`` in pulumi/pulumi
    ``sdk/go/common/resource/config/object.go``)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def holds_secure(value: Any) -> bool:
    """Whether a secure leaf sits anywhere inside ``value``."""
    pending = [value]  # iterative: a JSON string value may nest deeper than Python recurses
    while pending:
        item = pending.pop()
        if is_secure(item):
            return True
        if isinstance(item, dict):
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return False


def secure_keys(config: Mapping[str, Any]) -> list[str]:
    """The keys of ``config`` (YAML values or the JSON strings a program gets) with a secure
    leaf anywhere inside: what the Pulumi engine passes as the program's secret keys."""
    return sorted(key for key, value in config.items() if holds_secure(decode(value)))


def runtime_secret_keys(config: Mapping[str, Any]) -> set[str]:
    """The keys of ``config`` the running Pulumi program was told are secret (none outside one)."""
    runtime = sys.modules.get("pulumi.runtime.config")
    if runtime is None:
        return set()
    return {key for key in config if runtime.is_config_secret(key)}


@functools.cache
def secret_fields() -> tuple[str, ...]:
    """The key paths whose values may be secrets, as a user writes them
    (``mlstack:monitors[].notifications.https``)."""
    schema = stack_schema()
    defs = schema.get("$defs", {})
    found: list[str] = []

    def walk(node: dict, path: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return
            seen = seen | {name}
        for option in schema_options(node, defs):
            if option.get("type") == "array" and isinstance(option.get("items"), dict):
                walk(option["items"], f"{path}[]", seen)
            for key, child in option.get("properties", {}).items():
                where = f"{NAMESPACE}:{key}" if not path else f"{path}.{key}"
                if child.get(SECRET_OK):
                    found.append(where)
                else:
                    walk(child, where, seen)

    walk(schema, "", frozenset())
    return tuple(sorted(set(found)))
