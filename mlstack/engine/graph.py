"""The recorded resource graph of one plan, its JSON form and its readable tree."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from .records import ResourceRecord

__all__ = ["Plan", "GpuUse"]


@dataclass(frozen=True)
class GpuUse:
    """Accelerators one resource asks for."""

    urn: str
    instance_type: str
    instances: int
    devices_per_instance: int
    kind: str
    name: str

    @property
    def devices(self) -> int:
        return self.instances * self.devices_per_instance


@dataclass
class Plan:
    """Every resource a stack program registered, in registration order."""

    project: str
    stack: str
    resources: list[ResourceRecord]
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    invoke_transforms: int = 0
    """Stack invoke transforms the program registered (``register_invoke_transform``): the
    offline engine does not run them, so lookups answered offline ignore them."""
    declared_at: dict[str, str] = field(default_factory=dict)
    """The stack-file entry each component came from, by URN (``mlstack:endpoints[0]``): what the
    program told :func:`mlstack.engine.declared.declare`. A resource under a component belongs
    to the component's entry."""

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def by_type(self, type_: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_]

    def get(self, urn: str) -> ResourceRecord:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str | None) -> list[ResourceRecord]:
        return [r for r in self.resources if r.parent == urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [r.to_json() for r in self.resources],
            "invokeTransforms": self.invoke_transforms,
            "declaredAt": self.declared_at,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    def gpu_use(self) -> list[GpuUse]:
        """Accelerators asked for by any resource: SageMaker instance types in the inputs
        (with their instance counts) and Kubernetes ``nvidia.com/gpu`` limits."""
        from .. import catalog

        uses: list[GpuUse] = []
        for r in self.resources:
            if not r.custom:
                continue
            for node in _dicts(_with_pipeline_definition(r.inputs)):
                itype = node.get("instanceType") or node.get("InstanceType")
                if isinstance(itype, str) and itype.startswith("ml."):
                    try:
                        acc = catalog.accelerator(itype)
                    except catalog.InstanceTypeError:
                        acc = None  # validation reports unknown types; the summary just skips them
                    if acc is None:
                        continue
                    count = node.get("initialInstanceCount", node.get("instanceCount", node.get("InstanceCount", 1)))
                    count = int(count) if isinstance(count, (int, float)) else 1
                    uses.append(GpuUse(r.urn, itype, count, acc.count, acc.kind, acc.name))
                limits = node.get("limits")
                if isinstance(limits, dict) and "nvidia.com/gpu" in limits:
                    replicas = _replicas(r.inputs)
                    uses.append(GpuUse(r.urn, "nvidia.com/gpu", replicas, int(limits["nvidia.com/gpu"]), "GPU", "Kubernetes GPU"))
        return uses

    def render(self) -> str:
        """A readable tree: components with their children, counts per type, accelerators."""
        lines = [f"stack {self.stack} (project {self.project}): {len(self.resources)} resources"]
        kids: dict[str | None, list[ResourceRecord]] = {}
        for r in self.resources:
            kids.setdefault(r.parent, []).append(r)

        def walk(parent: str | None, prefix: str) -> None:
            items = kids.get(parent, [])
            for i, r in enumerate(items):
                last = i == len(items) - 1
                branch = "└─ " if last else "├─ "
                label = f"{r.name}  [{r.type}]"
                lines.append(f"{prefix}{branch}{label}")
                walk(r.urn, prefix + ("   " if last else "│  "))

        walk(None, "")
        counts = self.counts()
        components = sum(1 for r in self.resources if not r.custom)
        lines.append("")
        lines.append(f"resources by type ({components} components, {len(self.resources) - components} cloud resources):")
        width = max((len(t) for t in counts), default=0)
        for type_, n in sorted(counts.items()):
            lines.append(f"  {type_:<{width}}  {n:>5}")
        uses = self.gpu_use()
        lines.append("")
        if uses:
            per_kind: Counter[str] = Counter()
            per_type: Counter[str] = Counter()
            for u in uses:
                per_kind[u.kind] += u.devices
                per_type[f"{u.instance_type} ({u.name})"] += u.devices
            summary = ", ".join(f"{n} {k}" for k, n in sorted(per_kind.items()))
            lines.append(f"accelerators: {summary}")
            for t, n in sorted(per_type.items()):
                lines.append(f"  {t:<{width}}  {n:>5}")
        else:
            lines.append("accelerators: none")
        if self.warnings:
            lines.append("")
            lines.append("warnings:")
            lines.extend(f"  {w}" for w in self.warnings)
        if self.outputs:
            lines.append("")
            lines.append("outputs:")
            for key, value in sorted(self.outputs.items()):
                lines.append(f"  {key}: {json.dumps(value) if not isinstance(value, str) else value}")
        return "\n".join(lines)


def _dicts(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


def _with_pipeline_definition(inputs: dict) -> Any:
    """A SageMaker pipeline's jobs (instance types in PascalCase) live in its definition JSON."""
    definition = inputs.get("pipelineDefinition")
    if isinstance(definition, str):
        try:
            return [inputs, json.loads(definition)]
        except ValueError:
            pass
    return inputs


def _replicas(inputs: dict) -> int:
    for node in _dicts(inputs):
        for key in ("maxReplicas", "minReplicas", "replicas"):
            if isinstance(node.get(key), (int, float)):
                return int(node[key])
    return 1
