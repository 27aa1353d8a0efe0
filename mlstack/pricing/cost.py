"""Monthly cost of a stack from its capacity and a price file: per component and per resource class.

Example::

    from mlstack.capacity import capacity_of_plan
    from mlstack.pricing.cost import estimate
    report = estimate(plan_nodes, capacity_of_plan(plan), prices)   # prices: a PriceFile or None
    print(report.render())

Without prices every line keeps its hours and counts and its dollars are None: nothing is invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..capacity import HOURS_PER_MONTH, Capacity, Job, Node
from . import PriceFile

__all__ = ["CostLine", "CostReport", "estimate", "COMPONENT_PREFIX"]

COMPONENT_PREFIX = "mlstack:index:"
_CLASS_OF_USE = {
    "endpoint": "endpoint instances",
    "training": "training runs",
    "spot training": "training runs",
    "processing": "processing runs",
    "transform": "transform runs",
    "kubernetes": "kubernetes replicas",
}
_COUNTED = {
    "aws:kms/key:Key": ("KMS keys", "kmsKey"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("alarms", "alarm"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("composite alarms", "compositeAlarm"),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboards", "dashboard"),
}
#: Resources billed by use, whose volume no stack key declares: listed, never priced.
_USAGE_BASED = {
    "aws:sagemaker/featureGroup:FeatureGroup": "feature store (reads, writes and storage)",
    "aws:s3/bucket:Bucket": "S3 storage (no size declared)",
    "aws:s3/bucketV2:BucketV2": "S3 storage (no size declared)",
    "aws:cloudwatch/logGroup:LogGroup": "log storage (no volume declared)",
}


@dataclass
class CostLine:
    """One component's spend on one resource class per month."""

    component: str
    resource_class: str
    quantity: str
    """What is counted: ``730-2,190 instance-hours of ml.g5.xlarge``, ``4 keys``."""
    usd_min: Optional[float] = None
    usd_max: Optional[float] = None
    note: str = ""
    priced: bool = True
    """False for what is listed but never priced here (usage-based charges, a cluster's nodes)."""
    item: str = ""
    """The fleet or job inside the component: ``endpoint churn-scoring variant primary``."""


@dataclass
class CostReport:
    stack: str
    lines: list[CostLine] = field(default_factory=list)
    prices: Optional[PriceFile] = None
    assumptions: list[str] = field(default_factory=list)
    capacity: Optional[Capacity] = None

    def total(self, scale: str) -> Optional[float]:
        """USD per month at ``min`` or ``max`` scale over the priced lines; None without a price file,
        or when an instance type has no price (an estimate with a hole is not a total)."""
        if self.prices is None:
            return None
        values = [line.usd_min if scale == "min" else line.usd_max for line in self.lines if line.priced]
        if any(v is None for v in values):
            return None
        return sum(v for v in values if v is not None)

    def by_component(self) -> dict[str, tuple[float, float]]:
        """USD per month (min, max) per component over its priced lines (empty without prices)."""
        out: dict[str, tuple[float, float]] = {}
        for line in self.lines:
            if line.priced and line.usd_min is not None and line.usd_max is not None:
                lo, hi = out.get(line.component, (0.0, 0.0))
                out[line.component] = (lo + line.usd_min, hi + line.usd_max)
        return dict(sorted(out.items()))

    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.usd_max is None and line.priced]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "prices": None if self.prices is None else {"region": self.prices.region, "retrieved": self.prices.retrieved, "path": self.prices.path},
            "lines": [line.__dict__ for line in self.lines],
            "totalUsd": {"min": self.total("min"), "max": self.total("max")},
            "componentsUsd": {c: {"min": lo, "max": hi} for c, (lo, hi) in self.by_component().items()} if self.prices else {},
            "assumptions": self.assumptions,
        }

    def render(self) -> str:
        out = []
        if self.prices is None:
            out.append(f"stack {self.stack}: monthly usage (no price file: hours only)")
        else:
            out.append(f"stack {self.stack}: monthly cost in USD, prices of {self.prices.region} retrieved {self.prices.retrieved} ({self.prices.path})")
        width = max((len(line.component) for line in self.lines), default=10)
        out.append(f"  {'component':<{width}}  {'resource class':<22} {'min':>11} {'max':>11}  quantity")
        for line in self.lines:
            lo = "-" if line.usd_min is None else f"{line.usd_min:,.2f}"
            hi = "-" if line.usd_max is None else f"{line.usd_max:,.2f}"
            extra = f"  ({line.note})" if line.note else ""
            item = f" [{line.item}]" if line.item else ""
            out.append(f"  {line.component:<{width}}  {line.resource_class:<22} {lo:>11} {hi:>11}  {line.quantity}{item}{extra}")
        lo, hi = self.total("min"), self.total("max")
        if self.prices is not None:
            if lo is None or hi is None:
                names = ", ".join(sorted({line.quantity.split(" of ")[-1] for line in self.unpriced()}))
                out.append(f"  total: unknown: no price for {names} in {self.prices.path}; run `mlstack prices update --region {self.prices.region}`")
            else:
                for component, (c_lo, c_hi) in self.by_component().items():
                    out.append(f"  {component:<{width}}  {'subtotal':<22} {c_lo:>11,.2f} {c_hi:>11,.2f}")
                out.append(f"  total: {lo:,.2f} USD/month at minimum scale, {hi:,.2f} USD/month at maximum scale")
        if self.capacity is not None:
            cap = self.capacity
            out.append(
                f"  hours: {cap.instance_hours('min'):,.0f}-{cap.instance_hours('max'):,.0f} instance-hours, "
                f"{cap.gpu_hours('min'):,.0f}-{cap.gpu_hours('max'):,.0f} GPU-hours per month"
            )
        out.append("assumptions:")
        out.extend(f"  - {a}" for a in self.assumptions)
        return "\n".join(out)


def _owner(node: Node, by_urn: Mapping[str, Node]) -> str:
    """The outermost mlstack component above ``node``: ``Endpoint scoring``."""
    found = None
    current: Optional[Node] = node
    seen = set()
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        if current.type.startswith(COMPONENT_PREFIX) and current is not node:
            found = current
        current = by_urn.get(current.parent) if current.parent else None
    if found is None:
        return "(stack)"
    return f"{found.type[len(COMPONENT_PREFIX):]} {found.name}"


def _owner_of(urn: str, by_urn: Mapping[str, Node], fallback: str) -> str:
    node = by_urn.get(urn)
    owner = _owner(node, by_urn) if node is not None else "(stack)"
    return fallback if owner == "(stack)" else owner


def estimate(nodes: Iterable[Node], capacity: Capacity, prices: Optional[PriceFile], *, stack: str = "", region: str = "REGION") -> CostReport:
    """The monthly cost report of a stack: ``nodes`` (every resource, components included)."""
    nodes = list(nodes)
    by_urn = {n.urn: n for n in nodes}
    report = CostReport(stack, prices=prices, capacity=capacity)

    def priced(hours_min: float, hours_max: float, itype: str, use: str) -> tuple[Optional[float], Optional[float]]:
        rate = prices.hourly(itype, use) if prices is not None else None
        if rate is None:
            return None, None
        return hours_min * rate, hours_max * rate

    for f in capacity.fleets:
        lo, hi = f.min_instances * HOURS_PER_MONTH, f.max_instances * HOURS_PER_MONTH
        owner = _owner_of(f.urn, by_urn, f.component)
        if f.use == "kubernetes":
            each = f" ({f.devices_per_instance} GPU each)" if f.devices_per_instance else ""
            line = CostLine(owner, _CLASS_OF_USE[f.use], f"{lo:,.0f}-{hi:,.0f} replica-hours{each} on {f.instance_type}", item=f.component)
            line.note, line.priced = "not priced: the cluster's nodes carry this cost", False
        else:
            line = CostLine(owner, _CLASS_OF_USE[f.use], f"{lo:,.0f}-{hi:,.0f} instance-hours of {f.instance_type}", item=f.component)
            line.usd_min, line.usd_max = priced(lo, hi, f.instance_type, f.use)
        report.lines.append(line)
    triggered: list[Job] = []
    for j in capacity.jobs:
        hours = j.runs_per_month * j.hours_per_run
        line = CostLine(
            _owner_of(j.urn, by_urn, j.component), _CLASS_OF_USE[j.use],
            f"{hours:,.0f} instance-hours ({j.runs_per_month:,.1f} runs) of {j.instance_type}", item=j.component,
        )
        line.usd_min, line.usd_max = priced(hours, hours, j.instance_type, j.use)
        report.lines.append(line)
        if any(not t.startswith("schedule") for t in j.triggers):
            triggered.append(j)
    counts: dict[tuple[str, str, str], int] = {}
    usage: dict[tuple[str, str], int] = {}
    for n in nodes:
        if n.type in _COUNTED:
            label, key = _COUNTED[n.type]
            counts[(_owner(n, by_urn), label, key)] = counts.get((_owner(n, by_urn), label, key), 0) + 1
        elif n.type in _USAGE_BASED:
            usage[(_owner(n, by_urn), _USAGE_BASED[n.type])] = usage.get((_owner(n, by_urn), _USAGE_BASED[n.type]), 0) + 1
    for (owner, label, key), count in sorted(counts.items()):
        line = CostLine(owner, label, f"{count} x {label[:-1] if label.endswith('s') else label}")
        if prices is not None and key in prices.monthly:
            line.usd_min = line.usd_max = count * prices.monthly[key]
        elif prices is not None:
            line.note = f"no {key} price in the price file"
        report.lines.append(line)
    for (owner, label), count in sorted(usage.items()):
        kind, _, why = label.partition(" (")
        report.lines.append(CostLine(owner, kind, f"{count} resource(s)", note="usage-based: " + why.rstrip(")"), priced=False))


    report.lines.sort(key=lambda line: (line.component, not line.priced))  # stable: each component's lines in order

    report.assumptions = [
        f"a month is {HOURS_PER_MONTH:g} hours; endpoints run all month at their autoscaling minimum (min) or maximum (max)",
        "scheduled jobs run at every schedule firing for their full maximum runtime (MaxRuntimeInSeconds), on every instance",
        "on-demand prices; spot training is priced at the on-demand rate (an upper bound); no savings plans or free tiers",
        "rollouts (a second fleet for the rollout's duration), data transfer and request charges are not included",
    ]
    if triggered:
        per_run = "; ".join(f"{j.component}: {j.hours_per_run:,.1f} instance-hours per run" for j in triggered)
        report.assumptions.append(f"runs started by events or by hand are not included ({per_run})")
    if prices is None:
        report.assumptions.append(
            f"no price file: dollars would come from `mlstack prices update --region {region}` (AWS Price List Query API), "
            f"which writes prices/{region}.json to commit"
        )
    return report
