"""What every policy shares: reading resource properties, the stack's environment, per-environment
config schemas, finding linked resources and the instance-storage facts.

Policies run in two places with the same code: inside ``pulumi preview --policy-pack policies``
(CrossGuard hands them read-only proxies of the resource properties, in which values not known
until deployment raise ``UnknownValueError`` on access) and inside ``mlstack check`` (the offline
plan, wrapped in the same proxies). Reading properties only through :func:`get` and :func:`plain`
turns an unknown value into :data:`UNKNOWN` instead of aborting the whole policy, so a rule can
decide what "not known yet" means for it: a KMS key ARN that is unknown is still *set*.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Any

from pulumi_policy.proxy import UnknownValueError, _DictProxy, _ListProxy

from ..physical_names import name_field
from ..lineage import ENVIRONMENT, MODEL, MODEL_VERSION, REQUIRED_KEYS
from ..types import Environment

__all__ = [
    "UNKNOWN",
    "ENVIRONMENTS",
    "get",
    "plain",
    "is_set",
    "tags_of",
    "environment_of",
    "stack_config",
    "config_value",
    "using_stack_config",
    "stack_environment",
    "applies",
    "for_env",
    "environments_property",
    "per_environment",
    "documents",
    "StackIndex",
    "has_local_storage",
    "glob_match",
    "memo",
    "memoising",
]

ENVIRONMENTS: tuple[str, ...] = tuple(e.value for e in Environment)
#: The environment assumed when nothing says which one a resource belongs to: the strictest.
FALLBACK_ENVIRONMENT = Environment.PROD.value


class _Unknown:
    """A value that is not known until deployment (CrossGuard during ``pulumi preview``)."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown until deployment>"

    def __bool__(self) -> bool:  # "is it set?" -> yes, something will be there
        return True


UNKNOWN: Any = _Unknown()

_MISSING = object()


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...``; ``default`` when a step is missing or of the wrong shape;
    :data:`UNKNOWN` when a step is not known until deployment."""
    current = obj
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(step, int):
                if isinstance(current, (str, bytes)) or not isinstance(current, Sequence):
                    return default
                current = current[step]
            else:
                if not isinstance(current, Mapping):
                    return default
                current = current[step]
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return default
    return default if current is None else current


_SCALARS = (str, int, float, bool, type(None))


def plain(obj: Any) -> Any:
    """A plain dict/list copy of (a part of) the properties, unknown values as :data:`UNKNOWN`.

    Memoised per properties object during one ``mlstack check`` run (see :func:`memo`)."""
    if isinstance(obj, _SCALARS):
        return obj
    return memo(obj, "plain", lambda: _plain(obj))


def _plain(obj: Any) -> Any:
    kind = type(obj)
    if kind is dict or kind is _DictProxy or isinstance(obj, Mapping):
        out = {}
        for key in obj:  # iterating keys never reads a value, so never raises
            try:
                value = obj[key]
            except UnknownValueError:
                out[key] = UNKNOWN
                continue
            out[key] = value if isinstance(value, _SCALARS) else _plain(value)
        return out
    if kind is list or kind is _ListProxy or (isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))):
        items = []
        for i in range(len(obj)):
            try:
                value = obj[i]
            except UnknownValueError:
                items.append(UNKNOWN)
                continue
            items.append(value if isinstance(value, _SCALARS) else _plain(value))
        return items
    return obj


#: Results computed from a properties object, kept for one evaluation (``mlstack check`` turns it
#: on; in CrossGuard each request is evaluated once, so nothing is kept between requests).
_MEMO: ContextVar[dict[tuple[int, str], tuple[Any, Any]] | None] = ContextVar("mlstack_policy_memo", default=None)


@contextmanager
def memoising() -> Iterator[None]:
    """Share derived views of each resource's properties between the policies of one run."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memo(obj: Any, key: str, compute: Any) -> Any:
    """``compute()``, remembered for ``obj`` during a :func:`memoising` block."""
    cache = _MEMO.get()
    if cache is None:
        return compute()
    slot = (id(obj), key)
    hit = cache.get(slot)
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = compute()
    cache[slot] = (obj, value)  # holding obj keeps its id from being reused during the run
    return value


def is_set(value: Any) -> bool:
    """Whether a property holds something: unknown counts as set, ``None``/``""``/empty does not."""
    if value is UNKNOWN:
        return True
    if value is None:
        return False
    if isinstance(value, (str, Mapping, Sequence)):
        return len(value) > 0
    return True


def tags_of(props: Mapping[str, Any]) -> dict[str, Any] | Any:
    """The ``tags`` input as a plain dict (:data:`UNKNOWN` if computed at deployment)."""
    tags = get(props, "tags", default={})
    if tags is UNKNOWN:
        return UNKNOWN
    return plain(tags) if isinstance(tags, Mapping) else {}


def number(value: Any) -> float | None:
    """A number from a property (CrossGuard sends every number as a float)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# --- the environment --------------------------------------------------------------------------


def _known_environment(value: Any) -> str | None:
    return value if isinstance(value, str) and value in ENVIRONMENTS else None


#: The stack config of the stack being checked, set by ``mlstack check`` for one evaluation.
_STACK_CONFIG: ContextVar[Mapping[str, Any] | None] = ContextVar("mlstack_policy_stack_config", default=None)


@contextmanager
def using_stack_config(config: Mapping[str, Any]) -> Iterator[None]:
    """Let the policies read ``config`` as the stack's config (what ``mlstack check`` does)."""
    token = _STACK_CONFIG.set(dict(config))
    try:
        yield
    finally:
        _STACK_CONFIG.reset(token)


def stack_config() -> Mapping[str, Any]:
    """The config of the stack being checked, keyed ``namespace:key`` with string values (objects
    as JSON), as the Pulumi CLI hands it to a policy pack (``PULUMI_CONFIG``), or as
    ``mlstack check`` sets it from the stack file. Empty when neither says."""
    config = _STACK_CONFIG.get()
    if config is not None:
        return config
    raw = os.environ.get("PULUMI_CONFIG")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def config_value(key: str) -> Any:
    """One stack config value, objects and lists decoded (None if absent or unreadable)."""
    value = stack_config().get(key)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _config_environment() -> str | None:
    """``mlstack:environment`` of the stack config (see :func:`stack_config`)."""
    return _known_environment(config_value(ENVIRONMENT))


def _stack_level_environment(stack_tags: Mapping[str, str] | None) -> str | None:
    return _known_environment((stack_tags or {}).get(ENVIRONMENT)) or _config_environment()


def environment_of(props: Mapping[str, Any], stack_tags: Mapping[str, str] | None = None) -> str:
    """The environment a resource belongs to: the stack's (stack tag ``mlstack:environment``,
    else ``mlstack:environment`` of the stack config), else the resource's own lineage tag, else
    prod — an unlabelled resource gets the strictest rules."""
    found = _stack_level_environment(stack_tags)
    if found:
        return found
    tags = tags_of(props)
    if isinstance(tags, dict):
        found = _known_environment(tags.get(ENVIRONMENT))
    return found or FALLBACK_ENVIRONMENT


def stack_environment(resources: Iterable[Any], stack_tags: Mapping[str, str] | None = None) -> str:
    """The environment of a whole stack: its stack tag or config, else the lineage tag most of
    its resources carry, else prod."""
    found = _stack_level_environment(stack_tags)
    if found:
        return found
    votes: Counter[str] = Counter()
    for resource in resources:
        tags = tags_of(resource.props)
        if isinstance(tags, dict) and _known_environment(tags.get(ENVIRONMENT)):
            votes[tags[ENVIRONMENT]] += 1
    return votes.most_common(1)[0][0] if votes else FALLBACK_ENVIRONMENT


# --- config --------------------------------------------------------------------------------------


def environments_property(default: Sequence[str], what: str) -> dict[str, Any]:
    """The ``environments`` property every policy has: where it applies."""
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(ENVIRONMENTS)},
        "uniqueItems": True,
        "default": list(default),
        "description": f"Environments (the stack's mlstack:environment) in which {what}.",
    }


def per_environment(item: Mapping[str, Any], default: Mapping[str, Any], description: str) -> dict[str, Any]:
    """A property with one value per environment; all three must be given, so a partial
    override cannot silently drop an environment's limit."""
    return {
        "type": "object",
        "properties": {env: dict(item) for env in ENVIRONMENTS},
        "required": list(ENVIRONMENTS),
        "additionalProperties": False,
        "default": dict(default),
        "description": description,
    }


def applies(config: Mapping[str, Any], env: str) -> bool:
    """Whether a policy's ``environments`` setting covers ``env``."""
    return env in (config.get("environments") or ())


def for_env(config: Mapping[str, Any], key: str, env: str) -> Any:
    """The value of a per-environment property for ``env``."""
    return (config.get(key) or {}).get(env)


def glob_match(value: str, patterns: Iterable[str]) -> str | None:
    """The first shell-style pattern (``ml.p5*``) that ``value`` matches, or None."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(value, pattern):
            return pattern
    return None


# --- JSON documents inside properties ----------------------------------------------------------


def documents(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """JSON objects held as strings anywhere in the properties (a SageMaker pipeline definition,
    a scheduler target's input, a state machine definition), with the property path."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, str):
            text = value.lstrip()
            if text.startswith("{") and len(text) > 2:
                try:
                    yield path, json.loads(text)
                except ValueError:
                    return
        elif isinstance(value, Mapping):
            for key, item in value.items():
                yield from walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, f"{path}[{i}]")

    yield from memo(props, "documents", lambda: list(walk(plain(props), "")))


def nodes(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict inside ``value`` (plain data, e.g. from :func:`plain` or JSON) with its path, depth first."""
    kind = type(value)
    if kind is dict:
        yield path, value
        for key, item in value.items():
            if type(item) in (dict, list):
                yield from nodes(item, f"{path}.{key}" if path else str(key))
    elif kind is list:
        for i, item in enumerate(value):
            if type(item) in (dict, list):
                yield from nodes(item, f"{path}[{i}]")


def pipeline_parameters(document: Any) -> dict[str, Any]:
    """Default values of a SageMaker pipeline definition's parameters, by name."""
    params = {}
    for p in (document.get("Parameters") or []) if isinstance(document, Mapping) else []:
        if isinstance(p, Mapping) and "Name" in p:
            params[p["Name"]] = p.get("DefaultValue")
    return params


def resolve(value: Any, params: Mapping[str, Any]) -> Any:
    """A pipeline value with ``{"Get": "Parameters.X"}`` replaced by X's default (None if none)."""
    if isinstance(value, Mapping) and set(value) == {"Get"} and isinstance(value["Get"], str):
        ref = value["Get"]
        if ref.startswith("Parameters."):
            return params.get(ref.removeprefix("Parameters."))
        return UNKNOWN  # a step property: known only when the pipeline runs
    if isinstance(value, Mapping) and any(k.startswith("Std:") for k in value):
        return UNKNOWN  # an expression (Join, JsonGet) evaluated when the pipeline runs
    return value


# --- linking resources -------------------------------------------------------------------------

KSERVE_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def physical_name(resource: Any) -> Any:
    """The cloud name of a resource if its properties say it (None if autonamed and not known)."""
    if resource.resource_type == KSERVE_TYPE:
        return get(resource.props, "metadata", "name")
    return get(resource.props, name_field(resource.resource_type))


class StackIndex:
    """Resources of one stack by type and URN, with the links between them.

    ``linked(a, b)``: ``a`` uses ``b`` — one of ``a``'s inputs came from ``b`` (a dependency, as
    both CrossGuard and the offline engine record it) or names ``b`` (``b``'s physical name or
    ARN appears among ``a``'s string properties).
    """

    def __init__(self, resources: Sequence[Any]) -> None:
        self.resources = list(resources)
        self.by_type: dict[str, list[Any]] = defaultdict(list)
        self.by_urn: dict[str, Any] = {}
        for r in self.resources:
            self.by_type[r.resource_type].append(r)
            self.by_urn[r.urn] = r
        self._deps: dict[str, set[str]] = {}
        self._strings: dict[str, set[str]] = {}
        self._names: dict[str, set[str]] = {}
        self._reverse: dict[str, set[str]] | None = None
        self._string_index: dict[str, dict[str, list[Any]]] = {}
        self._name_index: dict[str, dict[str, list[Any]]] = {}

    def of_type(self, *types: str) -> list[Any]:
        out: list[Any] = []
        for t in types:
            out.extend(self.by_type.get(t, ()))
        return out

    def dependencies(self, resource: Any) -> set[str]:
        """URNs ``resource`` depends on, directly, through any property."""
        deps = self._deps.get(resource.urn)
        if deps is None:
            deps = {d.urn for d in (resource.dependencies or ())}
            for items in (resource.property_dependencies or {}).values():
                deps.update(d.urn for d in items)
            self._deps[resource.urn] = deps
        return deps

    def strings(self, resource: Any) -> set[str]:
        """Every known string value in ``resource``'s properties (and split ARN tails)."""
        found = self._strings.get(resource.urn)
        if found is None:
            found = set()

            def walk(value: Any) -> None:
                if isinstance(value, str):
                    found.add(value)
                elif isinstance(value, Mapping):
                    for item in value.values():
                        walk(item)
                elif isinstance(value, list):
                    for item in value:
                        walk(item)

            props = plain(resource.props)
            if isinstance(props, dict):
                # Tags and labels repeat model and team names on every resource: not a link.
                props = {k: v for k, v in props.items() if k not in ("tags", "tagsAll")}
                if isinstance(props.get("metadata"), dict):
                    props["metadata"] = {k: v for k, v in props["metadata"].items() if k not in ("labels", "annotations")}
            walk(props)
            self._strings[resource.urn] = found
        return found

    def names(self, resource: Any) -> set[str]:
        """Physical name and ARN of ``resource``, where known."""
        out = self._names.get(resource.urn)
        if out is None:
            out = set()
            for value in (physical_name(resource), get(resource.props, "arn"), get(resource.props, "id")):
                if isinstance(value, str) and value:
                    out.add(value)
            self._names[resource.urn] = out
        return out

    def linked(self, user: Any, used: Any) -> bool:
        if used.urn in self.dependencies(user):
            return True
        names = self.names(used)
        return bool(names) and not names.isdisjoint(self.strings(user))

    def _dependents(self) -> dict[str, set[str]]:
        if self._reverse is None:
            self._reverse = defaultdict(set)
            for r in self.resources:
                for urn in self.dependencies(r):
                    self._reverse[urn].add(r.urn)
        return self._reverse

    def _by_string(self, type_: str) -> dict[str, list[Any]]:
        """Resources of ``type_`` by each string among their properties."""
        found = self._string_index.get(type_)
        if found is None:
            found = defaultdict(list)
            for r in self.of_type(type_):
                for s in self.strings(r):
                    found[s].append(r)
            self._string_index[type_] = found
        return found

    def _by_name(self, type_: str) -> dict[str, list[Any]]:
        """Resources of ``type_`` by physical name and ARN."""
        found = self._name_index.get(type_)
        if found is None:
            found = defaultdict(list)
            for r in self.of_type(type_):
                for n in self.names(r):
                    found[n].append(r)
            self._name_index[type_] = found
        return found

    def _ordered(self, urns: set[str]) -> list[Any]:
        return [r for r in self.resources if r.urn in urns] if len(urns) > 1 else [self.by_urn[u] for u in urns]

    def users(self, used: Any, *types: str) -> list[Any]:
        """Resources of ``types`` linked to ``used`` (as in :meth:`linked`)."""
        urns = {u for u in self._dependents().get(used.urn, ()) if self.by_urn[u].resource_type in types}
        for name in self.names(used):
            for t in types:
                urns.update(r.urn for r in self._by_string(t).get(name, ()))
        return self._ordered(urns)

    def used_by(self, user: Any, *types: str) -> list[Any]:
        """Resources of ``types`` that ``user`` is linked to (as in :meth:`linked`)."""
        urns = {u for u in self.dependencies(user) if u in self.by_urn and self.by_urn[u].resource_type in types}
        strings = self.strings(user)
        for t in types:
            index = self._by_name(t)
            if len(index) < len(strings):
                urns.update(r.urn for name, rs in index.items() if name in strings for r in rs)
            else:
                urns.update(r.urn for s in strings for r in index.get(s, ()))
        return self._ordered(urns)


# --- instance facts ----------------------------------------------------------------------------


@functools.cache
def _local_storage() -> frozenset[str]:
    text = resources.files(__package__).joinpath("instance_storage.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text)["local_storage"])


def has_local_storage(instance_type: str) -> bool:
    """Whether a SageMaker instance type's volumes are local NVMe instance store: encrypted by
    the hardware, and SageMaker rejects a customer KMS key for them (CreateEndpointConfig fails
    with KmsKeyId set; jobs reject VolumeKmsKeyId). Facts: ``instance_storage.json``."""
    name = instance_type.strip().lower()
    return (name if name.startswith("ml.") else f"ml.{name}") in _local_storage()


def model_tags(props: Mapping[str, Any]) -> tuple[Any, Any]:
    """(``mlstack:model``, ``mlstack:model-version``) lineage tags of a resource."""
    tags = tags_of(props)
    if not isinstance(tags, dict):
        return UNKNOWN, UNKNOWN
    return tags.get(MODEL), tags.get(MODEL_VERSION)


REQUIRED_TAGS = REQUIRED_KEYS
_ARN_VERSION = re.compile(r":model-package/(?P<group>[^/]+)/(?P<version>\d+)$")


def model_package_version(arn: Any) -> tuple[str, str] | None:
    """(group, version) of a versioned model package ARN, else None."""
    if not isinstance(arn, str):
        return None
    match = _ARN_VERSION.search(arn)
    return (match.group("group"), match.group("version")) if match else None
