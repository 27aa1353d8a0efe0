"""The stack as an index: resources by type and URN, and the links between them (which resource
names, and so configures, which other one)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...physical_names import name_field
from .models import model_package_version
from .resource_types import KSERVE_TYPE
from .values import UNKNOWN, get, plain

__all__ = ["StackIndex", "Link", "LINKS", "link_for", "physical_name"]


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
            "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
            "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
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
