"""The policy pack's configuration: enforcement levels and per-policy properties, reconciled the
way the Pulumi CLI does it for ``pulumi preview --policy-pack-config FILE``.

The file is the CLI's JSON format::

    {
      "all": "advisory",                                        # every policy's level
      "mlstack-sagemaker-runs-in-vpc": "mandatory",             # one policy's level
      "mlstack-instance-types-within-limits": {                 # level and properties
        "enforcementLevel": "mandatory",
        "maxGpusPerEndpoint": {"dev": 2, "staging": 8, "prod": 32}
      }
    }

Reconciling, as the CLI does: start from each policy's enforcement level and the ``default`` of
each property of its config schema; apply ``all``; then each policy's level and properties (a
property given replaces the default whole); then validate every policy's properties against its
schema. ``mlstack check`` is stricter than the CLI in three ways, so a file it accepts is one the
CLI accepts too: it rejects unknown policy names and properties (a typo would otherwise be a
silently ignored setting), and the level ``remediate`` (these policies validate, they do not
rewrite resources).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError, Problem

__all__ = ["LEVELS", "PolicySettings", "reconcile", "load_config_file", "config_schema"]

LEVELS = ("advisory", "mandatory", "disabled")
TITLE = "invalid policy pack configuration"


@dataclass(frozen=True)
class PolicySettings:
    """One policy's reconciled enforcement level and properties."""

    level: str
    properties: dict[str, Any] = field(default_factory=dict)


def _level(policy: Any) -> str:
    level = getattr(policy, "enforcement_level", None)
    return level.value if level is not None else "advisory"


def _properties(policy: Any) -> dict[str, Any]:
    schema = getattr(policy, "config_schema", None)
    return dict(schema.properties) if schema is not None else {}


def policy_schema(policy: Any) -> dict[str, Any]:
    """The JSON Schema of one policy's properties, as the CLI builds it (plus no extra keys)."""
    schema = getattr(policy, "config_schema", None)
    out: dict[str, Any] = {"type": "object", "properties": _properties(policy), "additionalProperties": False}
    if schema is not None and schema.required:
        out["required"] = list(schema.required)
    return out


def config_schema(policies: Sequence[Any]) -> dict[str, Any]:
    """JSON Schema of a whole policy pack config file (for editors and CI)."""
    level = {"type": "string", "enum": list(LEVELS)}
    properties: dict[str, Any] = {"all": {"oneOf": [level, {"type": "object", "properties": {"enforcementLevel": level}, "additionalProperties": False}]}}
    for policy in policies:
        schema = policy_schema(policy)
        with_level = dict(schema, properties={"enforcementLevel": level, **schema["properties"]})
        properties[policy.name] = {"description": policy.description, "oneOf": [level, with_level]}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "mlstack policy pack configuration",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a policy pack config file (JSON, the CLI's format)."""
    from ...files import read_text

    path = Path(path)
    text = read_text(path, what="the policy pack config")
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [Problem(path="", message=f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno, hint="the file uses the JSON format of `pulumi preview --policy-pack-config`")],
            title=TITLE,
        ) from None
    except RecursionError:
        raise ConfigError([Problem(path="", message="not valid JSON for a policy config: arrays or objects nest too deeply", file=str(path))], title=TITLE) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(path="", message="must be a JSON object keyed by policy name", value=data, file=str(path))], title=TITLE)
    return data


def _closest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    close = close or [k for k in known if k.lower().startswith(name.lower())][:1]
    return f"did you mean {close[0]!r}? " if close else ""


def _split(value: Any, where: str, file: str | None, problems: list[Problem]) -> tuple[str | None, dict[str, Any]]:
    """(level, properties) of one entry: a level string or an object with enforcementLevel."""
    if isinstance(value, str):
        value = {"enforcementLevel": value}
    if not isinstance(value, dict):
        problems.append(Problem(path=where, message="must be an enforcement level or an object", value=value, file=file, hint=f"use one of {', '.join(LEVELS)} or {{\"enforcementLevel\": ..., <properties>}}"))
        return None, {}
    props = dict(value)
    level = props.pop("enforcementLevel", None)
    if level is not None and level not in LEVELS:
        hint = "these policies only validate; use mandatory" if level == "remediate" else f"use one of {', '.join(LEVELS)}"
        problems.append(Problem(path=f"{where}.enforcementLevel", message="is not an enforcement level", value=level, file=file, hint=hint))
        level = None
    return level, props


def _path(prefix: str, parts: Sequence[Any]) -> str:
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def reconcile(policies: Sequence[Any], config: Mapping[str, Any] | None = None, *, file: str | None = None) -> dict[str, PolicySettings]:
    """Every policy's level and properties: defaults, then ``config`` applied and validated.

    Raises :class:`ConfigError` listing every problem (unknown policy or property, bad level,
    a value the policy's schema rejects).
    """
    import jsonschema

    problems: list[Problem] = []
    names = [p.name for p in policies]
    settings = {p.name: [_level(p), {k: copy.deepcopy(v["default"]) for k, v in _properties(p).items() if "default" in v}] for p in policies}
    config = dict(config or {})

    if "all" in config:
        level, props = _split(config.pop("all"), "all", file, problems)
        if props:
            problems.append(Problem(path="all", message="only sets enforcementLevel", value=sorted(props), file=file, hint="give properties under each policy's own name"))
        if level:
            for entry in settings.values():
                entry[0] = level
    for name, value in config.items():
        if name not in settings:
            problems.append(Problem(path=name, message="is not a policy of this pack", file=file, hint=f"{_closest(name, names)}policies: {', '.join(names)}"))
            continue
        level, props = _split(value, name, file, problems)
        if level:
            settings[name][0] = level
        settings[name][1].update(copy.deepcopy(props))

    for policy in policies:
        schema = policy_schema(policy)
        validator = jsonschema.Draft7Validator(schema)
        known = list(schema["properties"])
        for error in sorted(validator.iter_errors(settings[policy.name][1]), key=lambda e: list(e.absolute_path)):
            where = _path(policy.name, list(error.absolute_path))
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                for key in extra:
                    hint_keys = known if not error.absolute_path else list(error.schema.get("properties", {}))
                    problems.append(Problem(path=f"{where}.{key}", message="is not a setting of this policy", file=file, hint=f"{_closest(key, hint_keys)}settings: {', '.join(hint_keys) or 'none'}"))
                continue
            hint = error.schema.get("description") if isinstance(error.schema, dict) else None
            problems.append(Problem(path=where, message=error.message, file=file, hint=hint))
    if problems:
        raise ConfigError(problems, title=TITLE)
    return {name: PolicySettings(level=level, properties=props) for name, (level, props) in settings.items()}
