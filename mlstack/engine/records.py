"""One registered resource as the offline engine records it (no Pulumi import: the process that
judges a plan reads these from the plan file without loading the SDK's runtime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResourceRecord", "TRANSFORM_SOURCES"]

#: Where transforms that the offline engine recorded but could not run come from: the
#: resource's own ``transforms=`` option, an ancestor's (the engine applies a component's
#: transforms to its children), or a stack transform (``register_resource_transform``).
TRANSFORM_SOURCES = ("resource", "parent", "stack")


@dataclass
class ResourceRecord:
    """One registered resource, in the shape the policy pack receives."""

    urn: str
    type: str
    name: str
    parent: str | None
    dependencies: list[str]
    custom: bool
    inputs: dict[str, Any]
    provider: str | None = None
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The ``customTimeouts`` resource option as sent (e.g. ``{"update": "90m"}``); empty when none."""
    transforms: list[str] = field(default_factory=list)
    """Where the transforms that apply to this resource come from (:data:`TRANSFORM_SOURCES`);
    the offline engine does not run them, so ``inputs`` are what the program passed."""
    aliases: list[str] = field(default_factory=list)
    """The URNs this resource had before (its ``aliases`` option, and those inherited from
    aliased parents), as the engine computes them: a deployment that finds a resource under one
    of them updates it in place instead of replacing it."""

    def to_json(self) -> dict[str, Any]:
        data = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "custom": self.custom,
            "inputs": self.inputs,
            "transforms": self.transforms,
        }
        if self.aliases:  # only resources that moved carry the key
            data["aliases"] = self.aliases
        return data
