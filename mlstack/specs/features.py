"""``mlstack:featureGroups``: SageMaker feature groups declared from a feature schema.

The same models drive the FeatureStore component and the JSON Schema that ``mlstack
validate-data`` checks samples against (:meth:`FeatureGroupSpec.record_json_schema`)::

    mlstack:featureGroups:
      - name: customers
        description: One row per subscriber, refreshed nightly
        recordIdentifier: customer_id
        eventTime: event_time
        onlineStore: {ttlDays: 30}
        features:
          - {name: customer_id, type: String, pattern: "^C[0-9]{8}$"}
          - {name: event_time, type: String}
          - {name: tenure_months, type: Integral, minimum: 0, required: true}
          - {name: monthly_charges, type: Fractional, minimum: 0}
          - {name: contract, type: String, allowed: [monthly, yearly, two-year]}
"""

from __future__ import annotations

import difflib
import re
from enum import Enum
from typing import Any, Optional, Sequence, Union

from pydantic import Field, StringConstraints, field_validator, model_validator
from typing_extensions import Annotated

from .base import Problems, Slug, Spec

__all__ = [
    "FeatureType",
    "FeatureSpec",
    "OnlineStoreSpec",
    "OfflineStoreSpec",
    "FeatureGroupSpec",
    "EVENT_TIME_PATTERN",
    "MAX_GROUP_NAME",
    "feature_group_name_problems",
]

#: Event times as SageMaker accepts them in a String feature: ISO-8601 in UTC, whole seconds or milliseconds.
EVENT_TIME_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?Z$"
#: Feature names SageMaker reserves for its own columns.
RESERVED_FEATURE_NAMES = ("is_deleted", "write_time", "api_invocation_time")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$")]


class FeatureType(str, Enum):
    """The value types SageMaker Feature Store supports."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


_TYPE_HINTS = {
    "bool": "store booleans as Integral 0/1",
    "boolean": "store booleans as Integral 0/1",
    "timestamp": "store timestamps as String (ISO-8601, e.g. 2026-11-01T08:00:00Z) or Fractional epoch seconds",
    "datetime": "store timestamps as String (ISO-8601, e.g. 2026-11-01T08:00:00Z) or Fractional epoch seconds",
    "date": "store dates as String (ISO-8601)",
    "int": "use Integral",
    "integer": "use Integral",
    "long": "use Integral",
    "float": "use Fractional",
    "double": "use Fractional",
    "number": "use Fractional",
    "decimal": "use Fractional",
    "str": "use String",
    "text": "use String",
    "category": "use String with allowed values",
}


class FeatureSpec(Spec):
    """One feature (column) of a feature group, with the constraints data samples are checked against."""

    name: FeatureName
    """Column name (letters, digits, - and _; not is_deleted, write_time or api_invocation_time)."""
    type: FeatureType
    """Integral (64-bit integer), Fractional (floating point) or String: the types SageMaker Feature Store supports."""
    description: Optional[str] = Field(default=None, max_length=256)
    """What the feature means, for people and the data catalog."""
    required: bool = False
    """Every record must carry a value (the record identifier and event time always must)."""
    minimum: Optional[float] = None
    """Smallest valid value (Integral and Fractional features)."""
    maximum: Optional[float] = None
    """Largest valid value (Integral and Fractional features)."""
    allowed: Optional[list[Union[int, float, str]]] = Field(default=None, min_length=1)
    """The only valid values, e.g. [monthly, yearly]."""
    pattern: Optional[str] = None
    """Regular expression a String value must match (searched, so anchor it with ^ and $)."""
    max_length: Optional[int] = Field(default=None, ge=1)
    """Longest valid String value, in characters."""

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        valid = [t.value for t in FeatureType]
        if isinstance(value, FeatureType) or value in valid:
            return value
        text = str(value)
        canonical = {v.lower(): v for v in valid}
        if text.lower() in canonical:
            raise ValueError(f"feature type {text!r} is spelt {canonical[text.lower()]!r}")
        hint = _TYPE_HINTS.get(text.lower())
        if hint is None:
            close = difflib.get_close_matches(text.lower(), list(canonical), n=1)
            hint = f"did you mean {canonical[close[0]]}?" if close else "use one of them"
        raise ValueError(
            f"feature type {text!r} is not supported by SageMaker Feature Store, which knows Integral, Fractional and String; {hint}"
        )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _constraints_fit_type(self) -> "FeatureSpec":
        problems = []
        numeric = self.type in (FeatureType.INTEGRAL, FeatureType.FRACTIONAL)
        if self.name in RESERVED_FEATURE_NAMES:
            problems.append(f"feature name {self.name!r} is reserved by SageMaker; rename the feature")
        if not numeric and (self.minimum is not None or self.maximum is not None):
            problems.append(f"feature {self.name!r}: minimum and maximum apply to Integral and Fractional features, not {self.type.value}")
        if numeric and (self.pattern is not None or self.max_length is not None):
            problems.append(f"feature {self.name!r}: pattern and maxLength apply to String features, not {self.type.value}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            problems.append(f"feature {self.name!r}: minimum {self.minimum:g} is above maximum {self.maximum:g}")
        for value in self.allowed or ():
            if not _fits(value, self.type):
                problems.append(f"feature {self.name!r}: allowed value {value!r} is not a {self.type.value} value")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def json_schema(self, *, nullable: bool) -> dict[str, Any]:
        """The JSON Schema of one value of this feature."""
        kind = {FeatureType.INTEGRAL: "integer", FeatureType.FRACTIONAL: "number", FeatureType.STRING: "string"}[self.type]
        schema: dict[str, Any] = {"type": [kind, "null"] if nullable else kind}
        if self.description:
            schema["description"] = self.description
        if self.type is FeatureType.INTEGRAL:
            schema["minimum"] = max(INT64_MIN, _int_bound(self.minimum, up=True)) if self.minimum is not None else INT64_MIN
            schema["maximum"] = min(INT64_MAX, _int_bound(self.maximum, up=False)) if self.maximum is not None else INT64_MAX
        elif self.type is FeatureType.FRACTIONAL:
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
        else:
            if self.pattern is not None:
                schema["pattern"] = self.pattern
            if self.max_length is not None:
                schema["maxLength"] = self.max_length
        if self.allowed is not None:
            schema["enum"] = [*self.allowed, None] if nullable else list(self.allowed)
        return schema


def _fits(value: Any, kind: FeatureType) -> bool:
    if kind is FeatureType.STRING:
        return isinstance(value, str)
    if kind is FeatureType.INTEGRAL:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_bound(value: float, *, up: bool) -> int:
    import math

    return int(math.ceil(value)) if up else int(math.floor(value))


class OnlineStoreSpec(Spec):
    """The low-latency store serving the latest record per identifier."""

    enabled: bool = True
    """Create the online store (default on)."""
    ttl_days: Optional[int] = Field(default=None, ge=1, le=3650)
    """Expire records this many days after their event time (default: keep them)."""
    storage_type: Optional[str] = Field(default=None, pattern=r"^(Standard|InMemory)$")
    """Standard (default) or InMemory for the lowest latency."""


class OfflineStoreSpec(Spec):
    """The historical store: every record in an Iceberg table on S3, catalogued in Glue."""

    enabled: bool = True
    """Create the offline store (default on); training reads from it."""


#: A declared sample: a path or glob pattern (``*``, ``?``, ``[...]``, ``**``) relative to the project root.
SamplePattern = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\x00-\x1f]+$")]


class FeatureGroupSpec(Spec):
    """A SageMaker feature group: its features, record identifier, event time and stores."""

    name: Slug
    """Name of the group in the stack; the SageMaker feature group is <team>-<name>."""
    description: Optional[str] = Field(default=None, max_length=128)
    """What one record describes."""
    record_identifier: FeatureName
    """The feature that identifies a record, e.g. customer_id."""
    event_time: FeatureName
    """The feature holding when the record was observed: a String (ISO-8601 UTC) or Fractional (epoch seconds)."""
    features: list[FeatureSpec] = Field(min_length=1, max_length=2500)
    """Every feature of the group, the record identifier and event time included."""
    online_store: OnlineStoreSpec = Field(default_factory=OnlineStoreSpec)
    """Online store settings (KMS-encrypted; optional TTL)."""
    offline_store: OfflineStoreSpec = Field(default_factory=OfflineStoreSpec)
    """Offline store settings (Iceberg on a private, versioned, KMS-encrypted bucket; Glue catalog)."""
    samples: list[SamplePattern] = Field(default_factory=list, max_length=50)
    """Data samples CI checks against this group's schema (`mlstack validate-data STACK --samples`): paths or glob patterns relative to the project root, e.g. data/customers/*.csv; each must match at least one file."""

    @field_validator("samples")
    @classmethod
    def _samples_stay_in_the_project(cls, value: list[str]) -> list[str]:
        for pattern in value:
            parts = pattern.replace("\\", "/").split("/")
            if pattern.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", pattern) or ".." in parts:
                raise ValueError(
                    f"sample {pattern!r} must be a path or glob pattern inside the project, relative to its root "
                    "(no absolute path, no ~, no ..), e.g. data/customers/*.csv"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "FeatureGroupSpec":
        problems = []
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"feature names must be unique; {', '.join(map(repr, dupes))} appear more than once")
        by_name = {f.name: f for f in self.features}
        for role, key in (("recordIdentifier", self.record_identifier), ("eventTime", self.event_time)):
            if key not in by_name:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"add a feature named {key!r}"
                problems.append(f"{role} {key!r} is not one of the features; {hint}")
        event = by_name.get(self.event_time)
        if event is not None and event.type is FeatureType.INTEGRAL:
            problems.append(
                f"eventTime feature {self.event_time!r} is Integral; SageMaker needs String (ISO-8601) or Fractional (epoch seconds)"
            )
        if not self.online_store.enabled and not self.offline_store.enabled:
            problems.append("a feature group needs an online or an offline store; enable at least one")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def feature(self, name: str) -> FeatureSpec:
        """The feature called ``name``."""
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def required_features(self) -> list[str]:
        """Features every record must carry: the identifier, the event time and those marked required."""
        keys = {self.record_identifier, self.event_time}
        return [f.name for f in self.features if f.required or f.name in keys]

    def record_json_schema(self, *, title: Optional[str] = None) -> dict[str, Any]:
        """The JSON Schema (2020-12) of one record of this group, used by ``mlstack validate-data``.

        Unknown columns are rejected (SageMaker refuses records with undeclared features);
        optional features may be null or absent; the event time must be ISO-8601 UTC as
        SageMaker accepts it, or non-negative epoch seconds.
        """
        required = self.required_features()
        properties = {}
        for feature in self.features:
            schema = feature.json_schema(nullable=feature.name not in required)
            if feature.name == self.event_time:
                if feature.type is FeatureType.STRING and "pattern" not in schema:
                    schema["pattern"] = EVENT_TIME_PATTERN
                if feature.type is FeatureType.FRACTIONAL and "minimum" not in schema:
                    schema["minimum"] = 0
            properties[feature.name] = schema
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": title or self.name,
            "description": self.description or f"A record of feature group {self.name}",
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }


#: SageMaker's limit on a feature group's name.
MAX_GROUP_NAME = 64


def feature_group_name_problems(prefix: str, groups: Sequence[FeatureGroupSpec]) -> Problems:
    """Problems with the names of ``groups`` created as ``<prefix>-<name>``: a name given twice,
    or a full name SageMaker refuses. Paths are below the list: ``((1, "name"), message)``."""
    problems: Problems = []
    names = [g.name for g in groups]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append(((i, "name"), f"feature group {name!r} is declared more than once; give each group its own name"))
        full = f"{prefix}-{name}"
        if len(full) > MAX_GROUP_NAME:
            problems.append(((i, "name"), f"feature group name {full!r} is over {MAX_GROUP_NAME} characters; SageMaker allows {MAX_GROUP_NAME}: shorten it"))
    return problems
