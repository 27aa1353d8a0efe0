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
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pulumi_policy.proxy import UnknownValueError, _DictProxy, _ListProxy

from ..catalog import has_local_storage  # noqa: F401 - re-exported: instance facts live in the catalog
from ..physical_names import name_field
from ..lineage import ENVIRONMENT, MODEL, MODEL_VERSION, REQUIRED_KEYS
from ..specs.base import Environment

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
    "Link",
    "LINKS",
    "link_for",
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


def _strings_in(value: Any) -> Iterator[str]:
    """Every string inside a plain value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def _scaling_resource_endpoints(value: Any) -> Iterator[str]:
    """Endpoint names in Application Auto Scaling resource ids (``endpoint/<name>/variant/<v>``)."""
    for text in _strings_in(value):
        parts = text.split("/")
        if len(parts) >= 2 and parts[0] == "endpoint" and parts[1]:
            yield parts[1]


_ALARM_RULE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"([^\"]+)\"|([^)\s]+))\s*\)")


def _alarm_rule_alarms(value: Any) -> Iterator[str]:
    """Alarm names and ARNs in a composite alarm's rule (``ALARM("a") OR ALARM(b)``)."""
    for text in _strings_in(value):
        for match in _ALARM_RULE.finditer(text):
            yield match.group(1) or match.group(2)


def _model_package_groups(value: Any) -> Iterator[str]:
    """Strings, and the group names of versioned model package ARNs among them."""
    for text in _strings_in(value):
        yield text
        parsed = model_package_version(text)
        if parsed:
            yield parsed[0]


@dataclass(frozen=True)
class Link:
    """How a resource of one type names a resource of another: the inputs that hold the
    reference, and which names a value of those inputs gives (by default its strings)."""

    inputs: tuple[str, ...]
    names: Callable[[Any], Iterator[str]] = _strings_in


_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
_ALARMS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
_ROLE = "aws:iam/role:Role"
_TOPIC = "aws:sns/topic:Topic"
_KEY = "aws:kms/key:Key"
_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"

#: (type of the resource that refers, type of the resource referred to) -> the link. A resource
#: configured by another one (a bucket by its encryption configuration, a role by its policy,
#: an endpoint by its alarms) counts as configured only through these inputs: a ``depends_on``
#: orders deployments and configures nothing.
LINKS: Mapping[tuple[str, str], Link] = MappingProxyType(
    {
        **{(user, used): Link(("bucket",)) for used in _BUCKETS for user in (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketAcl:BucketAcl",
            "aws:s3/bucketAclV2:BucketAclV2",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketVersioningV2:BucketVersioningV2",
            "aws:s3/bucketLogging:BucketLogging",
            "aws:s3/bucketLoggingV2:BucketLoggingV2",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
            "aws:s3/bucketNotification:BucketNotification",
        )},
        ("aws:kms/alias:Alias", _KEY): Link(("targetKeyId",)),
        ("aws:kms/keyPolicy:KeyPolicy", _KEY): Link(("keyId",)),
        ("aws:iam/rolePolicy:RolePolicy", _ROLE): Link(("role",)),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", _ROLE): Link(("role",)),
        ("aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", _ROLE): Link(("roleName",)),
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", _ROLE): Link(("roleName",)),
        ("aws:iam/instanceProfile:InstanceProfile", _ROLE): Link(("role",)),
        ("aws:sns/topicPolicy:TopicPolicy", _TOPIC): Link(("arn",)),
        ("aws:sns/topicSubscription:TopicSubscription", _TOPIC): Link(("topic",)),
        **{(alarm, _TOPIC): Link(("alarmActions", "okActions", "insufficientDataActions")) for alarm in _ALARMS},
        (_ENDPOINT, "aws:sagemaker/endpointConfiguration:EndpointConfiguration"): Link(("endpointConfigName",)),
        **{(_ENDPOINT, alarm): Link(("deploymentConfig",)) for alarm in _ALARMS},
        ("aws:cloudwatch/metricAlarm:MetricAlarm", _ENDPOINT): Link(("dimensions", "metricQueries")),
        ("aws:cloudwatch/compositeAlarm:CompositeAlarm", "aws:cloudwatch/metricAlarm:MetricAlarm"): Link(("alarmRule",), _alarm_rule_alarms),
        ("aws:appautoscaling/target:Target", _ENDPOINT): Link(("resourceId",), _scaling_resource_endpoints),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/model:Model"): Link(
            ("productionVariants", "shadowProductionVariants")
        ),
        **{(model, "aws:sagemaker/modelPackageGroup:ModelPackageGroup"): Link(("primaryContainer", "containers"), _model_package_groups)
           for model in ("aws:sagemaker/model:Model",)},
        ("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "aws:sagemaker/modelPackageGroup:ModelPackageGroup"): Link(
            ("modelPackageGroupName",)
        ),
        ("aws:lambda/permission:Permission", "aws:lambda/function:Function"): Link(("function",)),
        ("aws:lambda/function:Function", _ROLE): Link(("role",)),
        ("aws:cloudwatch/eventTarget:EventTarget", "aws:cloudwatch/eventRule:EventRule"): Link(("rule",)),
    }
)  # fmt: skip


def link_for(user_type: str, used_type: str) -> Link | None:
    """The inputs through which a ``user_type`` resource names a ``used_type`` one, if the pack knows them."""
    return LINKS.get((user_type, used_type))


_EXTRACTORS: dict[str, tuple[Callable[[Any], Iterator[str]], ...]] = {}
for (_user, _used), _link in LINKS.items():
    if _link.names is not _strings_in and _link.names not in _EXTRACTORS.get(_user, ()):
        _EXTRACTORS[_user] = (*_EXTRACTORS.get(_user, ()), _link.names)


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False


class StackIndex:
    """Resources of one stack by type and URN, with the links between them.

    ``linked(a, b)``: ``a`` refers to ``b`` — an input of ``a`` names ``b`` (``b``'s physical
    name, ARN or id is its value, compared as AWS would), or, where the value is not known yet
    (CrossGuard during a preview) or ``b``'s name is not, the input was computed from ``b``'s
    outputs (its property dependencies). For the pairs of :data:`LINKS` only the inputs listed
    there count (a bucket's encryption configuration configures the bucket its ``bucket`` input
    names, whatever else it was computed from); for other pairs, any input. A ``depends_on``
    (the resource's ``dependencies`` without a property behind them) never links: it orders
    the deployment and configures nothing.
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
        """URNs ``resource``'s inputs were computed from (its property dependencies). Its
        ``depends_on`` resources are left out: they say nothing about what it configures."""
        deps = self._deps.get(resource.urn)
        if deps is None:
            deps = set()
            for items in (resource.property_dependencies or {}).values():
                deps.update(d.urn for d in items)
            self._deps[resource.urn] = deps
        return deps

    def strings(self, resource: Any) -> set[str]:
        """Every known string value in ``resource``'s properties but its tags and labels, and the
        names the pack's links read out of them (an endpoint in a scaling target's resource id)."""
        found = self._strings.get(resource.urn)
        if found is None:
            props = plain(resource.props)
            if isinstance(props, dict):
                # Tags and labels repeat model and team names on every resource: not a link.
                props = {k: v for k, v in props.items() if k not in ("tags", "tagsAll")}
                if isinstance(props.get("metadata"), dict):
                    props["metadata"] = {k: v for k, v in props["metadata"].items() if k not in ("labels", "annotations")}
            found = set(_strings_in(props))
            for extract in _EXTRACTORS.get(resource.resource_type, ()):
                found.update(extract(props))
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

    def _refers(self, user: Any, used: Any, link: Link) -> bool:
        names = self.names(used)
        for prop in link.inputs:
            value = get(user.props, prop)
            if value is None:
                continue
            value = plain(value)
            if names and not names.isdisjoint(link.names(value)):
                return True
            if names and not _has_unknown(value):
                continue  # the value is known and names something else, whatever it was computed from
            if any(d.urn == used.urn for d in (user.property_dependencies or {}).get(prop, ())):
                return True
        return False

    def linked(self, user: Any, used: Any) -> bool:
        link = link_for(user.resource_type, used.resource_type)
        if link is not None:
            return self._refers(user, used, link)
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
        candidates = {u for u in self._dependents().get(used.urn, ()) if self.by_urn[u].resource_type in types}
        for name in self.names(used):
            for t in types:
                candidates.update(r.urn for r in self._by_string(t).get(name, ()))
        return self._ordered({u for u in candidates if self.linked(self.by_urn[u], used)})

    def used_by(self, user: Any, *types: str) -> list[Any]:
        """Resources of ``types`` that ``user`` is linked to (as in :meth:`linked`)."""
        candidates = {u for u in self.dependencies(user) if u in self.by_urn and self.by_urn[u].resource_type in types}
        strings = self.strings(user)
        for t in types:
            index = self._by_name(t)
            if len(index) < len(strings):
                candidates.update(r.urn for name, rs in index.items() if name in strings for r in rs)
            else:
                candidates.update(r.urn for s in strings for r in index.get(s, ()))
        return self._ordered({u for u in candidates if self.linked(user, self.by_urn[u])})



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
