"""Preparing the ``mlstack:*`` values of a config map for validation: secure leaves stand in as
``[secret]`` where their field accepts secrets (or are refused), YAML scalars in text fields
become the text ``pulumi up`` would give the program (or are refused with a hint to quote them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic.alias_generators import to_camel

from ..errors import Problem, format_path
from ..specs.stack import NAMESPACE
from .scalars import NULL_READING, cli_reading, go_float
from .schema import schema_options, stack_schema
from .secrets import SECRET, SECRET_OK, is_secure, secret_fields
from .yamlfile import config_line

class ValueReader:
    """Prepares the mlstack values of a config map for validation: secure leaves stand in as
    ``[secret]`` (or are refused), YAML scalars in text fields become the text ``pulumi up``
    would give the program (or are refused)."""

    def __init__(self, *, file: str | None, lines: Mapping[tuple, int], texts: Mapping[tuple, str]) -> None:
        self.file = file
        self.lines = lines
        self.texts = texts
        self.problems: list[Problem] = []
        self.refused: set[str] = set()
        """Key paths already reported, whose validation errors would repeat the problem."""
        self._secrets: dict[str, int] = {}

    def read(self, key: str, loc: tuple, value: Any) -> Any:
        if is_secure(value):
            return self._secret(key, loc, value["secure"])
        if isinstance(value, dict):
            return {k: self.read(key, loc + (str(k),), v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.read(key, loc + (i,), v) for i, v in enumerate(value)]
        return self._scalar(key, loc, value)

    def _problem(self, key: str, loc: tuple, message: str, hint: str, **value: Any) -> None:
        path = format_path(loc, namespace=NAMESPACE)
        self.refused.add(path)
        self.problems.append(Problem(path, message, hint=hint, file=self.file, line=config_line(self.lines, key, loc[1:]), **value))

    def _scalar(self, key: str, loc: tuple, value: Any) -> Any:
        text = self.texts.get(("config", key, *loc[1:]))
        reading = cli_reading(text) if text is not None else None
        if value is None or (isinstance(value, str) and reading is None):
            return value
        field = _field_at(loc)
        if field is None or field.types() != {"string"}:
            return value
        if text is None:
            # As the engine hands it to the program: JSON, already how the CLI read it.
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, int):
                return str(value)
            if isinstance(value, float):
                return go_float(value) or value
            return value
        if reading is None:
            return text  # e.g. yes/on: text for the CLI, a boolean only for YAML 1.1 readers
        what, seen = reading
        if seen is NULL_READING or seen == text:
            return value if seen is NULL_READING else text
        self._problem(
            key,
            loc,
            f"the Pulumi CLI reads the unquoted {text} as {what} and hands the program {seen!r}",
            f'quote it ("{text}") to keep it as written',
        )
        return value

    def _secret(self, key: str, loc: tuple, ciphertext: str) -> Any:
        field = _field_at(loc)
        if field is None:
            return SECRET  # not a key of the schema: validation reports it
        types = field.types()
        if types == {"string"} and field.secret_ok:
            placeholder = self._placeholder(ciphertext, field)
            if placeholder is not None:
                return placeholder
            self._problem(key, loc, "is a secret, and its form cannot be checked without decrypting it", "write it in plain text")
            return SECRET
        plain = "write it in plain text (pulumi config set --path, without --secret)"
        if types <= {"integer", "number"}:
            message = "is a secret where a number is required; mlstack cannot decrypt it to check it, and a number here is not sensitive"
        elif types == {"boolean"}:
            message = "is a secret where true or false is required; mlstack cannot decrypt it to check it"
        elif types == {"enum"}:
            allowed = [str(v) for o in field.options for v in o.get("enum", [o.get("const")]) if v is not None]
            message = f"is a secret where one of {', '.join(allowed)} is required; mlstack cannot decrypt it to check it"
        elif types & {"array", "object"}:
            message = "is a secret as a whole; mlstack needs its structure to plan the stack"
            plain = "make only the text values inside it secret, e.g. pulumi config set --secret --path 'mlstack:monitors[0].notifications.https[0]' <url>"
        elif types == {"string"}:
            message = (
                "is a secret, but mlstack passes this value to AWS and the Pulumi state in plain text (names, tags, "
                "ARNs, descriptions and container settings are readable by anyone who can describe the resource), "
                "so it would not stay secret"
            )
            plain = f"write it in plain text, or keep the secret in AWS Secrets Manager; secrets are accepted in {', '.join(secret_fields())}"
        else:
            message = "is a secret, but mlstack must read this value to plan the stack and cannot decrypt it"
        self._problem(key, loc, message, plain)
        return SECRET

    def _placeholder(self, ciphertext: str, field: _Field) -> str | None:
        """``[secret]``, or a stand-in of the form the field requires; distinct secrets get
        distinct stand-ins so that duplicate checks do not mistake them for one value."""
        number = self._secrets.setdefault(ciphertext, len(self._secrets) + 1)
        token = SECRET if number == 1 else f"[secret-{number}]"
        for candidate in (token, f"https://{token}", f"{token}@{token}.invalid"):
            if all(_fits(candidate, option) for option in field.options if option.get("type") == "string"):
                return candidate
        return None


def _fits(text: str, node: dict) -> bool:
    pattern = node.get("pattern")
    return (
        (pattern is None or re.search(pattern, text) is not None)
        and len(text) >= node.get("minLength", 0)
        and len(text) <= node.get("maxLength", len(text))
    )


@dataclass(frozen=True)
class _Field:
    options: list[dict]
    secret_ok: bool

    def types(self) -> set[str]:
        types: set[str] = set()
        for option in self.options:
            kind = option.get("type")
            if "enum" in option or "const" in option:
                types.add("enum")
            elif isinstance(kind, list):
                types.update(kind)
            else:
                types.add(kind or "any")
        types.discard("null")
        return types


def _field_at(loc: tuple) -> _Field | None:
    """The schema of the value at ``loc`` (``("monitors", 0, "notifications", "https", 0)``),
    and whether a field on the way accepts secrets; None where the schema has no such key."""
    schema = stack_schema()
    defs = schema.get("$defs", {})
    options = schema_options(schema, defs)
    secret_ok = False
    for part in loc:
        found: list[dict] = []
        for option in options:
            if isinstance(part, int):
                child = option.get("items") if option.get("type") == "array" else None
            else:
                properties = option.get("properties", {})
                child = properties.get(part) or properties.get(to_camel(part))
                if child is None and isinstance(option.get("additionalProperties"), dict):
                    child = option["additionalProperties"]
            if isinstance(child, dict):
                secret_ok = secret_ok or bool(child.get(SECRET_OK))
                found += schema_options(child, defs)
        if not found:
            return None
        options = found
    return _Field(options, secret_ok)
