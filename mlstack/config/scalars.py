"""Config values as the Pulumi CLI reads them and the engine hands them to the program.

The CLI reads a stack file with gopkg.in/yaml.v3, so an unquoted scalar may reach the program
as different text from what is written (``0123`` as ``83``, ``1.40`` as ``1.4``):
:func:`cli_reading` says how. The engine passes objects as JSON text: :func:`decode`.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from .yamlfile import MAX_YAML_DEPTH

NULL_READING = object()
_CLI_BOOLS = {"true": "true", "True": "true", "TRUE": "true", "false": "false", "False": "false", "FALSE": "false"}
_CLI_NULLS = {"", "~", "null", "Null", "NULL"}
_CLI_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_CLI_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$")


def cli_reading(text: str) -> tuple[str, Any] | None:
    """What the Pulumi CLI's YAML reader (gopkg.in/yaml.v3, ``resolve``) makes of an unquoted
    scalar that is not plain text, and the text the program then gets: ``("a number", "83")``
    for ``0123``; None when it reads text."""
    if text in _CLI_BOOLS:
        return "a boolean", _CLI_BOOLS[text]
    if text in _CLI_NULLS:
        return "null", NULL_READING
    lowered = text.lstrip("+-").lower()
    if lowered in (".inf", ".nan"):
        return "a number that is not finite", "(refused by the CLI)"
    if not text or text[0] not in "0123456789+-.":
        return None
    if text[0] in "0123456789" and _CLI_TIMESTAMP.match(text):
        date = text[:10] if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", text) else None
        return "a timestamp", f"{date} 00:00:00 +0000 UTC" if date else "a rendered timestamp"
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return "a number", str(number)
    if _CLI_FLOAT.match(plain):
        rendered = go_float(float(plain))
        return "a number", rendered if rendered is not None else "(refused by the CLI)"
    return None


def _go_int(plain: str) -> int | None:
    """``strconv.ParseInt(plain, 0, 64)`` (or ParseUint): 0x, 0o, 0b and 0-prefixed octal."""
    sign = -1 if plain.startswith("-") else 1
    body = plain[1:] if plain[:1] in "+-" else plain
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[prefix], body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, digits = 8, body[1:]
    else:
        base, digits = 10, body
    if not digits or not digits.isalnum():
        return None
    try:
        number = sign * int(digits, base)
    except ValueError:
        return None
    return number if -(2**63) <= number < 2**64 else None


def go_float(value: float) -> str | None:
    """A float as Go's encoding/json writes it (shortest digits, no trailing .0), which is
    how the engine hands a number inside an object to the program."""
    if not math.isfinite(value):
        return None
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-6 or magnitude >= 1e21):
        return re.sub(r"e([+-])0(\d)$", r"e\1\2", repr(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def decode(value: Any) -> Any:
    """A config value the engine passes as JSON text, decoded; text that is not JSON, or nests
    deeper than :data:`MAX_YAML_DEPTH`, stays as it is."""
    return decode_json(value)[0]


def decode_json(value: Any) -> tuple[Any, bool]:
    """A config value the engine passes as JSON text, decoded; and whether it was left as text
    because it nests deeper than :data:`MAX_YAML_DEPTH`."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            decoded = json.loads(value)
        except ValueError:
            return value, False
        except RecursionError:
            return value, True
        if _deeper_than(decoded, MAX_YAML_DEPTH):
            return value, True
        return decoded, False
    return value, False


def _deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            pending += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return False
