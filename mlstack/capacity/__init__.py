"""Capacity from the plan graph: the peak instances a stack needs, and its instance- and GPU-hours.

Pure computation over the resources a plan registered (``mlstack plan``) or a policy pack
receives (CrossGuard); no AWS, no Pulumi. Two views:

* **Needs** per (instance type, use): what SageMaker's per-type service quotas must allow at
  once. ``steady``: every endpoint at its autoscaling maximum (shadow variants included), every
  job at the concurrency its triggers allow. ``during_rollout``: plus the extra fleet an endpoint
  update provisions while the old fleet still runs (the rule is :func:`rollout_extra`).
* **Usage** per month (730 hours, AWS's billing month), at minimum and at maximum scale:
  always-on endpoint fleets at their autoscaling minimum / maximum, plus scheduled jobs
  (schedule frequency x the job's maximum runtime x its instances). Rollouts, event-triggered
  runs (drift-triggered retraining) and manual runs are not in the monthly figures; each
  triggered job's per-run hours are listed so a reader can add them.

Example::

    from mlstack.capacity import capacity_of_plan
    cap = capacity_of_plan(plan)
    for need in cap.needs:
        print(need.instance_type, need.use, need.steady, need.during_rollout)
    print(cap.gpu_hours("max"), cap.peak_gpus())

Uses and their SageMaker quota names (Service Quotas, service code ``sagemaker``):
``endpoint`` -> "<type> for endpoint usage", ``training`` -> "<type> for training job usage",
``spot training`` -> "<type> for spot training job usage", ``processing`` -> "<type> for
processing job usage", ``transform`` -> "<type> for transform job usage". KServe replicas
(``kubernetes``) need GPUs in the cluster, not a SageMaker quota.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

__all__ = [
    "HOURS_PER_MONTH",
    "USES",
    "QUOTA_SUFFIX",
    "Node",
    "Fleet",
    "Job",
    "Need",
    "Capacity",
    "capacity_of",
    "capacity_of_plan",
    "nodes_of_policy_resources",
    "rollout_extra",
    "runs_per_month",
    "quota_name",
]

#: Hours in a billing month as AWS prices them (365 x 24 / 12).
HOURS_PER_MONTH = 730.0
USES = ("endpoint", "training", "spot training", "processing", "transform", "kubernetes")
#: The suffix of the SageMaker service quota that bounds each use ("ml.g5.xlarge for endpoint usage").
QUOTA_SUFFIX = {
    "endpoint": "for endpoint usage",
    "training": "for training job usage",
    "spot training": "for spot training job usage",
    "processing": "for processing job usage",
    "transform": "for transform job usage",
}
Scale = Literal["min", "max"]


def quota_name(instance_type: str, use: str) -> Optional[str]:
    """The SageMaker quota name for ``instance_type`` in ``use`` (None for kubernetes)."""
    suffix = QUOTA_SUFFIX.get(use)
    return f"{instance_type} {suffix}" if suffix else None


@dataclass(frozen=True)
class Node:
    """One resource of the graph: type, name, URN, parent URN, inputs (camelCase) and dependencies."""

    type: str
    name: str
    urn: str
    parent: Optional[str]
    inputs: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fleet:
    """Always-on instances: one variant of an endpoint (or a KServe predictor)."""

    component: str
    """What runs it: ``endpoint churn-scoring variant primary``."""
    instance_type: str
    use: str
    min_instances: int
    max_instances: int
    rollout_extra: int
    """Instances an update provisions beside the running fleet (at its maximum)."""
    rollout_rule: str
    """Why: ``blue/green CANARY: a whole new fleet``."""
    devices_per_instance: int = 0
    urn: str = ""
    """The resource that declares the instances (the endpoint configuration, the InferenceService)."""


@dataclass(frozen=True)
class Job:
    """A job one pipeline step (or monitoring schedule) runs: instances for at most ``max_runtime_seconds``."""

    component: str
    """``pipeline churn-churn-xgb-training step Train``."""
    instance_type: str
    use: str
    instances: int
    max_runtime_seconds: int
    runs_per_month: float
    """Scheduled runs per month (0 when only events or people start it)."""
    concurrent_runs: int
    """Runs that may overlap: per schedule ceil(run time / interval), plus one per event trigger (at least 1)."""
    triggers: tuple[str, ...] = ()
    devices_per_instance: int = 0
    urn: str = ""
    """The resource that declares the job (the pipeline, the job definition)."""

    @property
    def hours_per_run(self) -> float:
        return self.instances * self.max_runtime_seconds / 3600


@dataclass
class Need:
    """Peak instances of one type in one use, and where they come from."""

    instance_type: str
    use: str
    steady: int = 0
    during_rollout: int = 0
    sources: list[str] = field(default_factory=list)
    devices_per_instance: int = 0

    @property
    def quota_name(self) -> Optional[str]:
        return quota_name(self.instance_type, self.use)


@dataclass
class Capacity:
    """What a stack's plan needs: fleets, jobs, the needs per (type, use), and caveats."""

    fleets: list[Fleet] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a reader should know (serverless variants: nothing to count)."""
    uncounted: list[str] = field(default_factory=list)
    """What the plan declares but could not be counted (an endpoint without its configuration, a
    pipeline definition that cannot be read, a schedule expression that cannot be read, an
    autoscaling target of no known variant): the figures are a lower bound, and a budget or cap
    judged on them fails closed."""

    @property
    def needs(self) -> list[Need]:
        """Peak instances per (instance type, use), sorted by type then use."""
        table: dict[tuple[str, str], Need] = {}
        for f in self.fleets:
            need = table.setdefault((f.instance_type, f.use), Need(f.instance_type, f.use, devices_per_instance=f.devices_per_instance))
            need.steady += f.max_instances
            need.during_rollout += f.max_instances + f.rollout_extra
            need.sources.append(f"{f.component}: {f.max_instances} at max scale, +{f.rollout_extra} during a rollout ({f.rollout_rule})")
        for j in self.jobs:
            need = table.setdefault((j.instance_type, j.use), Need(j.instance_type, j.use, devices_per_instance=j.devices_per_instance))
            peak = j.instances * j.concurrent_runs
            need.steady += peak
            need.during_rollout += peak
            need.sources.append(f"{j.component}: {j.instances} x {j.concurrent_runs} concurrent run(s)")
        return [table[k] for k in sorted(table)]

    def instance_hours(self, scale: Scale) -> float:
        """Instance-hours per month at minimum or maximum scale."""
        return sum(h for _, h, _ in self.usage(scale))

    def gpu_hours(self, scale: Scale) -> float:
        """Accelerator-device-hours per month (GPU or Neuron) at minimum or maximum scale."""
        return sum(h * d for _, h, d in self.usage(scale))

    def usage(self, scale: Scale) -> list[tuple[Any, float, int]]:
        """(fleet or job, instance-hours per month, devices per instance) at ``scale``."""
        rows: list[tuple[Any, float, int]] = []
        for f in self.fleets:
            n = f.min_instances if scale == "min" else f.max_instances
            rows.append((f, n * HOURS_PER_MONTH, f.devices_per_instance))
        for j in self.jobs:
            rows.append((j, j.runs_per_month * j.hours_per_run, j.devices_per_instance))
        return rows

    def largest(self, *, scale: Scale = "max", by: str = "gpus") -> Optional[Any]:
        """The fleet or job with the most accelerators at the peak (``by="gpus"``) or the most
        GPU-hours (``"gpu-hours"``) / instance-hours (``"hours"``) per month at ``scale``."""

        hours = {id(i): h for i, h, _ in self.usage(scale)}

        def weight(item: Any) -> float:
            if by == "gpus":
                if isinstance(item, Fleet):
                    return (item.max_instances + item.rollout_extra) * item.devices_per_instance
                return item.instances * item.concurrent_runs * item.devices_per_instance
            return hours[id(item)] * item.devices_per_instance if by == "gpu-hours" else hours[id(item)]

        items = [*self.fleets, *self.jobs]
        return max(items, key=weight) if items else None

    def peak_gpus(self, *, during_rollout: bool = True) -> int:
        """Accelerator devices in use at once at the peak (during a rollout by default): every
        fleet at its maximum (plus its rollout's extra fleet: one ``pulumi up`` may update every
        endpoint at once) and every job at its concurrency."""
        fleets = sum((f.max_instances + (f.rollout_extra if during_rollout else 0)) * f.devices_per_instance for f in self.fleets)
        return fleets + sum(j.instances * j.concurrent_runs * j.devices_per_instance for j in self.jobs)

    def render(self) -> str:
        """The needs table and the monthly hours, as ``mlstack plan`` prints them."""
        lines = []
        needs = self.needs
        if not needs:
            lines.append("capacity: no instances (no endpoints with instances, no jobs)")
        else:
            lines.append("capacity (peak instances; quota to check with `mlstack preflight`):")
            lines.append(f"  {'instance type':<22} {'use':<14} {'steady':>6} {'rollout':>8}  GPUs/instance")
            for n in needs:
                lines.append(f"  {n.instance_type:<22} {n.use:<14} {n.steady:>6} {n.during_rollout:>8}  {n.devices_per_instance}")
            lines.append(
                f"  peak accelerators: {self.peak_gpus(during_rollout=False)} steady, {self.peak_gpus()} during a rollout"
            )
            lines.append(
                f"  per month: {self.instance_hours('min'):,.0f}-{self.instance_hours('max'):,.0f} instance-hours, "
                f"{self.gpu_hours('min'):,.0f}-{self.gpu_hours('max'):,.0f} GPU-hours (min-max scale)"
            )
        lines.extend(f"  not counted: {n}" for n in self.uncounted)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


# --- adapters ---------------------------------------------------------------------------------


def capacity_of_plan(plan: Any) -> Capacity:
    """The capacity of an :class:`mlstack.engine.Plan` (or anything with resource records)."""
    return capacity_of(
        Node(r.type, r.name, r.urn, r.parent, r.inputs or {}, tuple(r.dependencies or ())) for r in plan.resources if r.custom
    )


def nodes_of_policy_resources(resources: Iterable[Any]) -> list[Node]:
    """Nodes from CrossGuard's ``PolicyResource`` objects (props as the engine hands them)."""
    nodes = []
    for r in resources:
        parent = getattr(r, "parent", None)
        deps = tuple(getattr(d, "urn", "") for d in (getattr(r, "dependencies", None) or ()))
        props = r.props if isinstance(getattr(r, "props", None), Mapping) else {}
        nodes.append(Node(r.resource_type, r.name, r.urn, getattr(parent, "urn", None), props, deps))
    return nodes


# --- the computation ----------------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, str):  # the provider converts "6" to 6; so must the count
        try:
            value = float(value.strip())
        except ValueError:
            return default
    if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
        return int(math.ceil(value))
    return default


def _devices(instance_type: str) -> int:
    from .. import catalog

    try:
        return catalog.accelerator_count(instance_type)
    except (catalog.InstanceTypeError, ValueError):
        return 0


def rollout_extra(deployment_config: Any, fleet: int) -> tuple[int, str]:
    """Instances an endpoint update provisions beside a running fleet of ``fleet`` instances.

    SageMaker's documentation (Deployment guardrails; API_RollingUpdatePolicy, API_CapacitySize):

    * no deployment config, or blue/green (ALL_AT_ONCE, CANARY, LINEAR): SageMaker provisions the
      whole new (green) fleet, then shifts traffic to it by the traffic routing, and terminates
      the old (blue) fleet after the termination wait. Canary and linear sizes only say how much
      *traffic* moves per step; the green fleet is whole from the start. Extra: ``fleet``.
    * ROLLING: each step provisions ``MaximumBatchSize`` new instances (an instance count, or a
      percentage of the variant's instances, rounded up) and then terminates as many old ones.
      A rollback brings back the old fleet in ``RollbackMaximumBatchSize`` batches, by default
      100% of it at once. Extra: the larger of the two batches.

    The fleet an update meets can be anything up to the autoscaling maximum: ``fleet`` is that.
    """
    dc = deployment_config if isinstance(deployment_config, Mapping) else {}
    rolling = dc.get("rollingUpdatePolicy")
    if isinstance(rolling, Mapping):

        def batch(size: Any, default: int) -> int:
            if not isinstance(size, Mapping):
                return default
            value = _int(size.get("value"), 0)
            if size.get("type") == "INSTANCE_COUNT":
                return min(max(value, 1), fleet)
            return min(max(math.ceil(fleet * value / 100), 1), fleet) if value else default

        forward = batch(rolling.get("maximumBatchSize"), fleet)
        back = batch(rolling.get("rollbackMaximumBatchSize"), fleet)
        how = "set" if isinstance(rolling.get("rollbackMaximumBatchSize"), Mapping) else "default 100%"
        return max(forward, back), f"rolling: batch of {forward}, rollback batch of {back} ({how})"
    blue_green = dc.get("blueGreenUpdatePolicy")
    kind = None
    if isinstance(blue_green, Mapping):
        routing = blue_green.get("trafficRoutingConfiguration")
        kind = routing.get("type") if isinstance(routing, Mapping) else None
    return fleet, f"blue/green {kind or 'ALL_AT_ONCE'}: a whole new fleet beside the old one"


def capacity_of(nodes: Iterable[Node]) -> Capacity:
    """The capacity a stack's resources need (see the module docstring for the rules)."""
    nodes = list(nodes)
    cap = Capacity()
    _endpoints(nodes, cap)
    _kserve(nodes, cap)
    _pipelines(nodes, cap)
    _monitoring_schedules(nodes, cap)
    return cap


def _endpoints(nodes: list[Node], cap: Capacity) -> None:
    configs = [n for n in nodes if n.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"]
    endpoints = [n for n in nodes if n.type == "aws:sagemaker/endpoint:Endpoint"]
    targets: dict[str, Mapping[str, Any]] = {}
    for n in nodes:
        if (
            n.type == "aws:appautoscaling/target:Target"
            and n.inputs.get("serviceNamespace") == "sagemaker"
            and n.inputs.get("scalableDimension", "sagemaker:variant:DesiredInstanceCount") == "sagemaker:variant:DesiredInstanceCount"
        ):
            rid = n.inputs.get("resourceId")
            if isinstance(rid, str):
                targets[rid] = n.inputs
    by_name = {c.inputs.get("name"): c for c in configs if isinstance(c.inputs.get("name"), str)}
    by_urn = {c.urn: c for c in configs}
    by_parent: dict[Optional[str], list[Node]] = {}
    for c in configs:
        by_parent.setdefault(c.parent, []).append(c)
    matched: set[str] = set()
    for ep in endpoints:
        config = _config_of(ep, by_name, by_urn, by_parent)
        if config is None:
            cap.uncounted.append(f"endpoint {ep.name!r}: its endpoint configuration is not in the plan; its instances are not counted")
            continue
        _variants(str(ep.inputs.get("name") or ep.name), config, ep.inputs.get("deploymentConfig"), targets, cap, matched)
    for rid in sorted(set(targets) - matched):
        if rid.startswith("endpoint/"):
            cap.uncounted.append(f"autoscaling target {rid} scales no endpoint variant of the plan; its instances are not counted")


def _config_of(
    ep: Node, by_name: Mapping[Any, Node], by_urn: Mapping[str, Node], by_parent: Mapping[Optional[str], list[Node]]
) -> Optional[Node]:
    """The configuration an endpoint runs: by name, else the one it depends on, else its only sibling."""
    wanted = ep.inputs.get("endpointConfigName")
    if isinstance(wanted, str) and wanted in by_name:
        return by_name[wanted]
    for dep in ep.dependencies:
        if dep in by_urn:
            return by_urn[dep]
    siblings = by_parent.get(ep.parent) or []
    return siblings[0] if len(siblings) == 1 else None


def _variants(
    endpoint: str, config: Node, deployment: Any, targets: Mapping[str, Mapping[str, Any]], cap: Capacity, matched: set[str]
) -> None:
    for key, kind in (("productionVariants", "variant"), ("shadowProductionVariants", "shadow variant")):
        for v in config.inputs.get(key) or ():
            if not isinstance(v, Mapping):
                continue
            itype = v.get("instanceType")
            name = str(v.get("variantName") or "?")
            if not isinstance(itype, str):
                if v.get("serverlessConfig"):
                    cap.notes.append(f"endpoint {endpoint} {kind} {name}: serverless, no instances to count or quota to check")
                continue
            count = max(_int(v.get("initialInstanceCount"), 1), 1)
            rid = f"endpoint/{endpoint}/variant/{name}"
            matched.add(rid)
            target = targets.get(rid) or {}
            lo = _int(target.get("minCapacity"), count) if target else count
            hi = max(_int(target.get("maxCapacity"), count), lo) if target else count
            extra, rule = rollout_extra(deployment, hi)
            cap.fleets.append(Fleet(f"endpoint {endpoint} {kind} {name}", itype, "endpoint", lo, hi, extra, rule, _devices(itype), config.urn))


def _kserve(nodes: list[Node], cap: Capacity) -> None:
    for n in nodes:
        if not n.type.endswith(":InferenceService"):
            continue
        spec = n.inputs.get("spec")
        predictor = spec.get("predictor") if isinstance(spec, Mapping) else None
        if not isinstance(predictor, Mapping):
            continue
        gpus = 0
        for node in _dicts(predictor):
            limits = node.get("limits")
            if isinstance(limits, Mapping) and "nvidia.com/gpu" in limits:
                gpus = max(gpus, _int(_number(limits["nvidia.com/gpu"]), 0))
        lo = _int(predictor.get("minReplicas"), 1)
        hi = max(_int(predictor.get("maxReplicas"), lo), lo)
        canary = predictor.get("canaryTrafficPercent") is not None
        name = n.inputs.get("metadata", {}).get("name") if isinstance(n.inputs.get("metadata"), Mapping) else None
        label = f"InferenceService {name or n.name}"
        rule = "canary revision beside the current one" if canary else "new revision beside the current one"
        selector = predictor.get("nodeSelector") if isinstance(predictor.get("nodeSelector"), Mapping) else {}
        node_type = selector.get("node.kubernetes.io/instance-type") or selector.get("beta.kubernetes.io/instance-type")
        kind = str(node_type) if isinstance(node_type, str) and node_type else ("nvidia.com/gpu" if gpus else "pod")
        cap.fleets.append(Fleet(label, kind, "kubernetes", lo, hi, hi, rule, gpus, n.urn))


def _number(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _dicts(value: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


_STEP_RESOURCES = {
    "Training": ("ResourceConfig", "training"),
    "Processing": ("ProcessingResources", "processing"),
    "Transform": ("TransformResources", "transform"),
}


STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


def pipelines_started_by(definition: object) -> list[str]:
    """The pipeline ARNs (or names) a Step Functions definition (JSON text) starts with the
    ``startPipelineExecution`` SDK integration, in any state, nested branches included."""
    try:
        document = json.loads(definition) if isinstance(definition, str) else None
    except ValueError:
        return []
    found: list[str] = []
    for state in _dicts(document):
        resource = state.get("Resource")
        if isinstance(resource, str) and resource.lower().endswith(":startpipelineexecution"):
            for arguments in (state.get("Arguments"), state.get("Parameters")):
                name = arguments.get("PipelineName") if isinstance(arguments, Mapping) else None
                if isinstance(name, str):
                    found.append(name)
    return found


def _pipelines(nodes: list[Node], cap: Capacity) -> None:
    # Triggers by the pipeline name their target ARN ends with (arn:...:pipeline/<name>).
    schedules: dict[str, list[Node]] = {}
    event_targets: dict[str, list[Node]] = {}
    for n in nodes:
        if n.type == "aws:scheduler/schedule:Schedule":
            target = n.inputs.get("target")
            arn = target.get("arn") if isinstance(target, Mapping) else None
            table = schedules
        elif n.type == "aws:cloudwatch/eventTarget:EventTarget":
            arn = n.inputs.get("arn")
            table = event_targets
        elif n.type == STATE_MACHINE:
            # A monitor's retraining goes through its cooldown state machine, which starts the
            # pipeline: each such machine is one more run that may overlap the scheduled ones.
            for started in pipelines_started_by(n.inputs.get("definition")):
                if ":pipeline/" in started:
                    event_targets.setdefault(started.rsplit(":pipeline/", 1)[1], []).append(n)
            continue
        else:
            continue
        if isinstance(arn, str) and ":pipeline/" in arn:
            table.setdefault(arn.rsplit(":pipeline/", 1)[1], []).append(n)
    for n in nodes:
        if n.type != "aws:sagemaker/pipeline:Pipeline":
            continue
        name = str(n.inputs.get("pipelineName") or n.name)
        raw = n.inputs.get("pipelineDefinition")
        try:
            definition = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            definition = None
        if not isinstance(definition, Mapping):
            cap.uncounted.append(f"pipeline {name}: no readable definition (pipelineDefinition) in the plan; its jobs are not counted")
            continue
        params = _parameters(definition)
        jobs = []
        wall = 0
        for step in _steps(definition.get("Steps")):
            try:
                found = _step_jobs(step, params)
            except ValueError as exc:
                cap.uncounted.append(f"pipeline {name} step {step.get('Name') or '?'}: {exc}; not counted")
                continue
            for job in found:
                jobs.append((str(step.get("Name") or "?"), *job[:4]))
            wall += max((job[4] for job in found), default=0)  # worst case: the steps run one after another
        if not jobs:
            continue

        runs, concurrent, triggers = 0.0, 0, []
        for s in schedules.get(name, ()):
            expression = str(s.inputs.get("scheduleExpression") or "")
            try:
                per_month, interval_hours = runs_per_month(expression)
            except ValueError as exc:
                cap.uncounted.append(f"pipeline {name}: {exc}; its runs are not in the monthly hours")
                per_month, interval_hours = 0.0, None
            runs += per_month
            concurrent += max(1, math.ceil(wall / 3600 / interval_hours)) if interval_hours else 1
            triggers.append(f"schedule {expression}")
        for t in event_targets.get(name, ()):
            concurrent += 1
            triggers.append(f"event rule {t.inputs.get('rule') or t.name}")
        if not triggers:
            triggers.append("started by hand")
        concurrent = max(concurrent, 1)
        for step, itype, use, count, runtime in jobs:
            cap.jobs.append(
                Job(f"pipeline {name} step {step}", itype, use, count, runtime, runs, concurrent, tuple(triggers), _devices(itype), n.urn)
            )


def _steps(steps: Any) -> Iterable[Mapping[str, Any]]:
    """Every step, those nested in a Condition step's branches included (either branch may run)."""
    for step in steps if isinstance(steps, list) else ():
        if not isinstance(step, Mapping):
            continue
        yield step
        args = step.get("Arguments") if isinstance(step.get("Arguments"), Mapping) else {}
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(args.get(branch))


def _parameters(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline's parameters and their default values (what a scheduled run uses)."""
    out: dict[str, Any] = {}
    for p in definition.get("Parameters") or ():
        if isinstance(p, Mapping) and isinstance(p.get("Name"), str):
            out[p["Name"]] = p.get("DefaultValue")
    return out


def _resolve(value: Any, params: Mapping[str, Any], what: str) -> Any:
    """A literal, or a ``{"Get": "Parameters.X"}`` reference resolved to X's default; anything
    else (a step property, a join) cannot be counted offline and raises ValueError."""
    if isinstance(value, Mapping):
        ref = value.get("Get")
        if isinstance(ref, str) and ref.startswith("Parameters.") and len(value) == 1:
            name = ref[len("Parameters."):]
            if params.get(name) is not None:
                return params[name]
            raise ValueError(f"{what} is parameter {name!r}, which has no default value")
        raise ValueError(f"{what} is computed at run time ({json.dumps(value)[:80]})")
    return value


def _step_jobs(step: Mapping[str, Any], params: Mapping[str, Any]) -> list[tuple[str, str, int, int, int]]:
    """(instance type, use, instances, max billed seconds, max wall-clock seconds) of each
    instance group a pipeline step runs (a spot training job may wait for capacity up to
    MaxWaitTimeInSeconds); empty for steps that run no instances."""
    kind = step.get("Type")
    if kind not in _STEP_RESOURCES:
        return []
    args = step.get("Arguments") if isinstance(step.get("Arguments"), Mapping) else {}
    key, use = _STEP_RESOURCES[kind]
    resources = args.get(key) if isinstance(args.get(key), Mapping) else {}
    if kind == "Processing":
        resources = resources.get("ClusterConfig") if isinstance(resources.get("ClusterConfig"), Mapping) else {}
    # A heterogeneous training cluster declares InstanceGroups instead of one type and count.
    groups = resources.get("InstanceGroups") if isinstance(resources.get("InstanceGroups"), list) else [resources]
    stopping = args.get("StoppingCondition") if isinstance(args.get("StoppingCondition"), Mapping) else {}
    # SageMaker's defaults when no stopping condition is given: 1 day for training (API_StoppingCondition),
    # 1 day for processing; transform jobs have none, a day is assumed.
    runtime = _int(_resolve(stopping.get("MaxRuntimeInSeconds"), params, "MaxRuntimeInSeconds"), 86400) or 86400
    wall = runtime
    if kind == "Training" and _resolve(args.get("EnableManagedSpotTraining"), params, "EnableManagedSpotTraining") in (True, "true", "True"):
        use = "spot training"
        wall = max(runtime, _int(_resolve(stopping.get("MaxWaitTimeInSeconds"), params, "MaxWaitTimeInSeconds"), runtime))
    jobs = []
    for group in groups:
        if not isinstance(group, Mapping):
            raise ValueError(f"an instance group is not an object ({group!r:.60})")
        itype = _resolve(group.get("InstanceType"), params, "InstanceType")
        if not isinstance(itype, str) or not itype:
            raise ValueError(f"{key} has no instance type")
        count = max(_int(_resolve(group.get("InstanceCount"), params, "InstanceCount"), 1), 1)
        jobs.append((itype, use, count, runtime, wall))
    return jobs


def _monitoring_schedules(nodes: list[Node], cap: Capacity) -> None:
    definitions = {
        n.inputs.get("name"): n
        for n in nodes
        if n.type.startswith("aws:sagemaker/") and n.type.endswith("JobDefinition")
    }
    for n in nodes:
        if n.type != "aws:sagemaker/monitoringSchedule:MonitoringSchedule":
            continue
        config = n.inputs.get("monitoringScheduleConfig") if isinstance(n.inputs.get("monitoringScheduleConfig"), Mapping) else {}
        jobdef = definitions.get(config.get("monitoringJobDefinitionName"))
        if jobdef is None:
            siblings = [d for d in definitions.values() if d.parent == n.parent]
            jobdef = siblings[0] if len(siblings) == 1 else None
        if jobdef is None:
            cap.uncounted.append(f"monitoring schedule {n.name!r}: its job definition is not in the plan; not counted")
            continue
        cluster = next((d.get("clusterConfig") for d in _dicts(jobdef.inputs) if isinstance(d.get("clusterConfig"), Mapping)), None)
        if not cluster or not isinstance(cluster.get("instanceType"), str):
            continue
        stopping = next((d.get("stoppingCondition") for d in _dicts(jobdef.inputs) if isinstance(d.get("stoppingCondition"), Mapping)), {})
        runtime = _int(stopping.get("maxRuntimeInSeconds"), 3600) or 3600  # Model Monitor's default and maximum for hourly schedules
        schedule = config.get("scheduleConfig") if isinstance(config.get("scheduleConfig"), Mapping) else {}
        expression = str(schedule.get("scheduleExpression") or "")
        try:
            per_month, interval = runs_per_month(expression)
        except ValueError as exc:
            cap.uncounted.append(f"monitoring schedule {n.name!r}: {exc}; its runs are not in the monthly hours")
            per_month, interval = 0.0, None
        concurrent = max(1, math.ceil(runtime / 3600 / interval)) if interval else 1
        itype = cluster["instanceType"]
        cap.jobs.append(
            Job(
                f"monitoring schedule {config.get('monitoringJobDefinitionName') or n.name}",
                itype, "processing", max(_int(cluster.get("instanceCount"), 1), 1), runtime, per_month, concurrent,
                (f"schedule {expression}",), _devices(itype), jobdef.urn,
            )
        )


# --- schedules ----------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$", re.I)
_UNIT_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}
_DAYS_PER_MONTH = 365 / 12
_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_WEEKDAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}


def runs_per_month(expression: str) -> tuple[float, Optional[float]]:
    """(runs per 730-hour month, average hours between runs) of an EventBridge Scheduler or
    SageMaker schedule expression: ``rate(1 hour)``, ``cron(0 3 ? * MON *)`` (six fields:
    minutes hours day-of-month month day-of-week year), ``at(...)`` (once: 0 per month).
    An expression it cannot read raises ValueError."""
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        n = int(match.group(1))
        unit = match.group(2).lower().rstrip("s")
        if n < 1:
            raise ValueError(f"schedule {expression!r}: a rate must be at least 1")
        interval = n * _UNIT_HOURS[unit]
        return HOURS_PER_MONTH / interval, interval
    if text.startswith("at(") or not text:
        return 0.0, None
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"schedule {expression!r}: cron needs 6 fields (minutes hours day-of-month month day-of-week year)")
        minutes, hours, dom, month, dow, _year = fields
        per_day = _count(minutes, 0, 59) * _count(hours, 0, 23)
        months = _count(month, 1, 12, _MONTHS) / 12
        if dom == "?" or (dom == "*" and dow not in ("*", "?")):
            if "#" in dow or dow.endswith("L"):
                days = float(len(dow.split(",")))  # the n-th / last weekday: once a month each
            else:
                days = _count(dow, 1, 7, _WEEKDAYS) * _DAYS_PER_MONTH / 7
        elif dom in ("L", "LW") or dom.endswith("W"):
            days = 1.0
        else:
            days = min(_count(dom, 1, 31), _DAYS_PER_MONTH) if dom != "*" else _DAYS_PER_MONTH
        runs = per_day * days * months
        return runs, (HOURS_PER_MONTH / runs if runs else None)
    raise ValueError(f"schedule {expression!r} is neither rate(...), cron(...) nor at(...)")


def _count(field: str, lo: int, hi: int, names: Optional[Mapping[str, int]] = None) -> int:
    """How many values a cron field selects between lo and hi."""
    if field in ("*", "?"):
        return hi - lo + 1
    values: set[int] = set()

    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ValueError(f"cron field {field!r}: {token!r} is not a value")
        return int(token)

    for part in field.split(","):
        step = 1
        has_step = "/" in part
        if has_step:
            part, raw_step = part.split("/", 1)
            step = int(raw_step) if raw_step.isdigit() and int(raw_step) > 0 else 0
            if not step:
                raise ValueError(f"cron field {field!r}: the step must be a positive number")
        if part in ("*", "?"):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = value(a), value(b)
        else:
            start = value(part)
            end = hi if has_step else start
        if end < start:  # a range that wraps (FRI-MON)
            values.update(range(start, hi + 1, step))
            values.update(range(lo, end + 1, step))
        else:
            values.update(range(start, end + 1, step))
    return len([v for v in values if lo <= v <= hi]) or 1
