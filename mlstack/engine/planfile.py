"""The plan as data: what the process that runs a stack's program hands the process that judges it.

``mlstack check`` never runs a stack's program in the interpreter that evaluates the policies
(a Python program could replace the policies there). The program runs in a worker process
(:mod:`mlstack.engine.worker`), which writes the plan as JSON; the judging process reads it
here as untrusted data: strictly typed, bounded in size and depth, each resource in the plan
graph shape of :meth:`Plan.to_json`, and what the program said each component was declared by
(``declaredAt``: URNs of the plan to key paths of :mod:`mlstack.engine.declared`). Anything else
is an error (exit 2), never a plan.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from .declared import MAX_KEY_PATH, is_key_path
from .graph import Plan
from .records import TRANSFORM_SOURCES, ResourceRecord

__all__ = ["PlanFileError", "MAX_PLAN_BYTES", "MAX_RESOURCES", "MAX_DEPTH", "dumps", "loads", "plan_from_json", "non_finite_path"]

#: The largest plan file read (a stack of 50,000 resources writes about 60 MB).
MAX_PLAN_BYTES = 512 * 1024 * 1024
#: The most resources a plan may hold.
MAX_RESOURCES = 250_000
#: The deepest nesting of objects and arrays in a plan file (resource inputs are far shallower).
MAX_DEPTH = 64

_RECORD_KEYS: dict[str, tuple[type, ...]] = {
    "urn": (str,),
    "type": (str,),
    "name": (str,),
    "parent": (str, type(None)),
    "dependencies": (list,),
    "custom": (bool,),
    "inputs": (dict,),
}
_OPTIONAL_RECORD_KEYS: dict[str, tuple[type, ...]] = {"propertyDependencies": (dict,), "transforms": (list,), "aliases": (list,)}
_PLAN_KEYS = {"stack", "project", "resources"}
#: A URN as the engine writes one (stack, project, qualified type, name; at most 4 KiB, one line).
_URN = re.compile(r"urn:pulumi:[^:\s]+::[^:\s]+::[^\s]*?::[^\n\r]+", re.ASCII)
_MAX_URN = 4096
_OPTIONAL_PLAN_KEYS = {"invokeTransforms", "declaredAt"}


class PlanFileError(UsageError):
    """A plan file that is not a plan: malformed, oversized or of another stack."""


def non_finite_path(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinite number in ``value`` (JSON cannot hold them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(the value)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = non_finite_path(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = non_finite_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


# Bound when the worker imports this module, before the stack's program runs: a program (or a
# library it loads) that patches json.dumps does not change how the plan is written.
_ENCODE = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


def dumps(data: Any) -> str:
    """Strict JSON (no NaN or Infinity: a reader that accepts them is not reading JSON)."""
    return _ENCODE(data)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def loads(data: bytes | str, *, source: str) -> Any:
    """Parse strict JSON of at most :data:`MAX_PLAN_BYTES` and :data:`MAX_DEPTH` levels."""
    if len(data) > MAX_PLAN_BYTES:
        raise PlanFileError(f"{source} is {len(data)} bytes, more than the {MAX_PLAN_BYTES} a plan may take")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        parsed = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise PlanFileError(f"{source} nests deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PlanFileError(f"{source} is not valid JSON: {_short(str(exc))}") from None
    _check_depth(parsed, source)
    return parsed


def _check_depth(value: Any, source: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PlanFileError(f"{source} nests deeper than {MAX_DEPTH} levels")
        if type(node) is dict:
            stack.extend((v, depth + 1) for v in node.values() if type(v) in (dict, list))
        elif type(node) is list:
            stack.extend((v, depth + 1) for v in node if type(v) in (dict, list))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def plan_from_json(data: Any, *, source: str, stack: str, project: str) -> Plan:
    """Rebuild a :class:`Plan` from its JSON form, checking every field's type and that the plan
    is of ``project``/``stack``. Raises :class:`PlanFileError` naming the first bad field."""

    def bad(where: str, what: str, value: Any = None) -> PlanFileError:
        got = f" (got {_kind(value)}: {_short(repr(value), 80)})" if value is not None or what.endswith("null") else ""
        return PlanFileError(f"{source} is not a plan: {where} {what}{got}")

    if not isinstance(data, dict):
        raise bad("the document", "must be an object", data)
    missing = sorted(_PLAN_KEYS - set(data))
    extra = sorted(set(data) - _PLAN_KEYS - _OPTIONAL_PLAN_KEYS)
    if missing or extra:
        raise bad("the document", f"must have the keys {sorted(_PLAN_KEYS)} (missing {missing}, unexpected {extra})")
    if data["stack"] != stack or data["project"] != project:
        raise bad("the document", f"must be the plan of stack {stack!r} of project {project!r}", f"{data['project']}/{data['stack']}")
    invoke_transforms = data.get("invokeTransforms", 0)
    if type(invoke_transforms) is not int or invoke_transforms < 0:
        raise bad("invokeTransforms", "must be a count", invoke_transforms)
    resources = data["resources"]
    if not isinstance(resources, list):
        raise bad("resources", "must be an array", resources)
    if len(resources) > MAX_RESOURCES:
        raise PlanFileError(f"{source} holds {len(resources)} resources, more than the {MAX_RESOURCES} a plan may hold")
    prefix = f"urn:pulumi:{stack}::{project}::"
    records: list[ResourceRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(resources):
        at = f"resources[{i}]"
        if not isinstance(item, dict):
            raise bad(at, "must be an object", item)
        missing = sorted(set(_RECORD_KEYS) - set(item))
        extra = sorted(set(item) - set(_RECORD_KEYS) - set(_OPTIONAL_RECORD_KEYS))
        if missing or extra:
            raise bad(at, f"must have the keys {sorted(_RECORD_KEYS)} (missing {missing}, unexpected {extra})")
        for key, types in {**_RECORD_KEYS, **_OPTIONAL_RECORD_KEYS}.items():
            if key in item and type(item[key]) not in types:
                raise bad(f"{at}.{key}", f"must be {' or '.join(_TYPE_NAMES[t] for t in types)}", item[key])
        urn, type_, name = item["urn"], item["type"], item["name"]
        if not type_ or not name:
            raise bad(at, "must have a non-empty type and name")
        qualified = urn[len(prefix):].rsplit("::", 1)[0] if urn.startswith(prefix) else ""
        if not urn.startswith(prefix) or not urn.endswith(f"::{name}") or qualified.rsplit("$", 1)[-1] != type_:
            raise bad(f"{at}.urn", f"must be {prefix}<type>::{name} for a {type_}", urn)
        if urn in seen:
            raise bad(f"{at}.urn", "appears twice", urn)
        seen.add(urn)
        dependencies = item["dependencies"]
        if not all(isinstance(d, str) for d in dependencies):
            raise bad(f"{at}.dependencies", "must be an array of URNs", dependencies)
        property_dependencies = item.get("propertyDependencies", {})
        for key, urns in property_dependencies.items():
            if not isinstance(urns, list) or not all(isinstance(d, str) for d in urns):
                raise bad(f"{at}.propertyDependencies.{key}", "must be an array of URNs", urns)
        transforms = item.get("transforms", [])
        if not all(t in TRANSFORM_SOURCES for t in transforms):
            raise bad(f"{at}.transforms", f"must list some of {list(TRANSFORM_SOURCES)}", transforms)
        aliases = item.get("aliases", [])
        for alias in aliases:
            # A URN the resource had before (another parent, name, type, even stack or project:
            # all are valid Pulumi aliases), never its own.
            if not (isinstance(alias, str) and len(alias) <= _MAX_URN and _URN.fullmatch(alias)) or alias == urn:
                raise bad(f"{at}.aliases", "must be an array of earlier URNs (urn:pulumi:<stack>::<project>::<type>::<name>) of this resource", alias)
        records.append(
            ResourceRecord(
                urn=urn,
                type=type_,
                name=name,
                parent=item["parent"],
                dependencies=list(dependencies),
                custom=item["custom"],
                inputs=item["inputs"],
                property_dependencies={k: list(v) for k, v in property_dependencies.items()},
                transforms=list(transforms),
                aliases=list(aliases),
            )
        )
    for i, record in enumerate(records):
        if record.parent is not None and record.parent not in seen:
            raise bad(f"resources[{i}].parent", "must be the URN of a resource of the plan", record.parent)
    declared_at = data.get("declaredAt", {})
    if not isinstance(declared_at, dict):
        raise bad("declaredAt", "must be an object", declared_at)
    for urn, key_path in declared_at.items():
        if urn not in seen:
            raise bad("declaredAt", "must be keyed by URNs of resources of the plan", urn)
        if not is_key_path(key_path):
            raise bad(
                f"declaredAt[{_short(repr(urn), 120)}]",
                f"must be a stack-file key path such as mlstack:endpoints[0] (at most {MAX_KEY_PATH} characters)",
                key_path,
            )
    return Plan(project=project, stack=stack, resources=records, invoke_transforms=invoke_transforms, declared_at=dict(declared_at))
