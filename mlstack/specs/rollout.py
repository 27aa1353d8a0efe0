"""``mlstack:endpoints[].rollout``: how a new model version takes over an endpoint's traffic, when
it is rolled back, and how long a SageMaker rollout may take.

SageMaker: a blue/green deployment (ALL_AT_ONCE, CANARY, LINEAR) or a rolling update, with
automatic rollback on alarms. KServe: CANARY sets ``canaryTrafficPercent``, and the stack walks
the canary to its end with ``promotedVersion`` (promote) or ``rollback`` (see
:class:`KServeRolloutStep`). Example::

    rollout:
      type: LINEAR
      size: {type: CAPACITY_PERCENT, value: 25}   # four steps
      waitIntervalSeconds: 600                      # bake time after each

A SageMaker rollout longer than the AWS provider waits for an endpoint update fails ``pulumi
up`` mid-rollout: :func:`rollout_duration` computes the worst case and :func:`rollout_problems`
refuses what would not fit in :data:`PROVIDER_WAIT_SECONDS`, with advice on what would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Optional, Protocol

from pydantic import AfterValidator, Field, PositiveInt, StringConstraints

from .. import catalog
from .base import Problems, Spec

__all__ = [
    "RolloutType",
    "SizeType",
    "CapacitySizeSpec",
    "RolloutSpec",
    "RolloutDuration",
    "RolledOutEndpoint",
    "KServeRolloutStep",
    "DEFAULT_SIZES",
    "MLSTACK_ROLLBACK_ALARMS",
    "MAX_ROLLBACK_ALARMS",
    "PROVIDER_WAIT_SECONDS",
    "STARTUP_SECONDS",
    "rollout_duration",
    "rollout_problems",
    "startup_seconds",
]

#: Rollback alarms mlstack creates for every SageMaker endpoint (5xx error rate, model latency).
MLSTACK_ROLLBACK_ALARMS = 2
#: SageMaker's limit on ``AutoRollbackConfiguration.Alarms``.
MAX_ROLLBACK_ALARMS = 10
#: SageMaker's limits on WaitIntervalInSeconds / TerminationWaitInSeconds (botocore's service model).
WAIT_RANGE = (0, 3600)
#: How long the AWS provider waits for an endpoint to be InService after CreateEndpoint or
#: UpdateEndpoint: terraform-provider-aws (behind pulumi-aws) polls with a fixed 60-minute
#: timeout (``waitEndpointInService`` in internal/service/sagemaker/endpoint.go). The resource
#: declares no Timeouts block and uses the ``*WithoutTimeout`` CRUD functions, so Pulumi's
#: ``customTimeouts`` cannot raise it: a longer rollout fails ``pulumi up`` mid-rollout.
PROVIDER_WAIT_SECONDS = 3600
#: MaximumExecutionTimeoutInSeconds: SageMaker accepts 600-28800 (botocore), the AWS provider's
#: schema 600-14400; mlstack stops at PROVIDER_WAIT_SECONDS, as a longer limit would let SageMaker
#: roll out on after ``pulumi up`` gave up waiting.
TIMEOUT_RANGE = (600, PROVIDER_WAIT_SECONDS)
#: Assumed worst-case seconds from "instances requested" to "new fleet passes its health check"
#: (launch, image pull, model download and load, ping): 10 min on CPU types; 20 min on GPU and
#: Neuron types, whose CUDA/Neuron images run to several GB and whose model weights are larger
#: and are loaded onto the devices; 5 min for serverless capacity (no instances to launch).
#: Estimates, not AWS figures: SageMaker publishes none.
STARTUP_SECONDS = {"cpu": 600, "accelerated": 1200, "serverless": 300}


def _range(lo: int, hi: int, what: str):
    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"{what} must be between {lo} and {hi} seconds")
        return value

    return check


AlarmName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^.*\S.*$")]
WaitSeconds = Annotated[
    int,
    Field(json_schema_extra={"minimum": WAIT_RANGE[0], "maximum": WAIT_RANGE[1]}),
    AfterValidator(_range(*WAIT_RANGE, "SageMaker's rollout waits")),
]


def _timeout(value: int) -> int:
    if not TIMEOUT_RANGE[0] <= value <= TIMEOUT_RANGE[1]:
        raise ValueError(
            f"must be between {TIMEOUT_RANGE[0]} and {TIMEOUT_RANGE[1]} seconds: SageMaker needs at least {TIMEOUT_RANGE[0]}, "
            f"and the AWS provider stops waiting for an endpoint update after {PROVIDER_WAIT_SECONDS}, so SageMaker would "
            f"roll out on after pulumi up failed"
        )
    return value


TimeoutSeconds = Annotated[
    int,
    Field(json_schema_extra={"minimum": TIMEOUT_RANGE[0], "maximum": TIMEOUT_RANGE[1]}),
    AfterValidator(_timeout),
]


class RolloutType(str, Enum):
    """How a new model version takes over the traffic."""

    ALL_AT_ONCE = "ALL_AT_ONCE"
    """Blue/green: all traffic moves to the new fleet at once, then the bake time."""
    CANARY = "CANARY"
    """Blue/green: the canary size first, a bake time, then the rest."""
    LINEAR = "LINEAR"
    """Blue/green: equal steps of the given size, a bake time after each."""
    ROLLING = "ROLLING"
    """SageMaker rolling update: batches of instances replaced in place, a bake time after each."""


class SizeType(str, Enum):
    """How a canary, linear step or rolling batch is measured."""

    CAPACITY_PERCENT = "CAPACITY_PERCENT"
    """A percentage of the fleet (SageMaker) or of the traffic (KServe)."""
    INSTANCE_COUNT = "INSTANCE_COUNT"
    """A number of instances (SageMaker only)."""


class KServeRolloutStep(str, Enum):
    """Where a KServe canary stands, as the stack declares it (the label ``mlstack.dev/rollout-step``)."""

    CANARY = "canary"
    """modelVersion is the canary: it gets rollout.size percent of the traffic, the last rolled-out revision the rest."""
    PROMOTED = "promoted"
    """promotedVersion equals modelVersion: the latest ready revision gets all the traffic."""
    ROLLED_BACK = "rolled-back"
    """rollback: true: all traffic goes back to the last rolled-out revision (canaryTrafficPercent 0)."""


class CapacitySizeSpec(Spec):
    """The size of a canary, a linear step or a rolling batch."""

    type: SizeType = SizeType.CAPACITY_PERCENT
    """CAPACITY_PERCENT (default) or INSTANCE_COUNT."""
    value: PositiveInt
    """The percentage (1-50 for a canary, 10-50 for a linear step, 5-50 for a rolling batch) or the number of instances."""


#: Default sizes when ``rollout.size`` is left out.
DEFAULT_SIZES = {
    RolloutType.CANARY: CapacitySizeSpec(type=SizeType.CAPACITY_PERCENT, value=10),
    RolloutType.LINEAR: CapacitySizeSpec(type=SizeType.CAPACITY_PERCENT, value=20),
    RolloutType.ROLLING: CapacitySizeSpec(type=SizeType.CAPACITY_PERCENT, value=25),
}
#: (min %, max %) of the fleet a step may be, per rollout type (botocore's service model docs).
_PERCENT_BOUNDS = {RolloutType.CANARY: (1, 50), RolloutType.LINEAR: (10, 50), RolloutType.ROLLING: (5, 50)}
_STEP_WORD = {RolloutType.CANARY: "canary", RolloutType.LINEAR: "linear step", RolloutType.ROLLING: "rolling batch"}


class RolloutSpec(Spec):
    """How a new model version is rolled out, and when it is rolled back.

    SageMaker: a blue/green deployment (ALL_AT_ONCE, CANARY, LINEAR) or a rolling update, with
    automatic rollback when any rollback alarm fires during the bake time. mlstack creates two
    rollback alarms per endpoint (the 5xx error rate and the model latency) and adds ``alarms``.
    KServe: CANARY sets ``canaryTrafficPercent``; ALL_AT_ONCE sends all traffic to the new revision.
    """

    type: RolloutType = RolloutType.ALL_AT_ONCE
    """ALL_AT_ONCE (default), CANARY, LINEAR or ROLLING (SageMaker only)."""
    size: Optional[CapacitySizeSpec] = None
    """Size of the canary, of each linear step or of each rolling batch (default: 10%, 20% and 25% of capacity)."""
    wait_interval_seconds: WaitSeconds = 300
    """Bake time in seconds (0-3600) after each traffic shift, while the rollback alarms are watched (default 300; SageMaker only)."""
    termination_wait_seconds: WaitSeconds = 0
    """Seconds (0-3600) the old fleet is kept after the rollout completes (default 0; SageMaker only)."""
    maximum_execution_timeout_seconds: Optional[TimeoutSeconds] = None
    """Time limit of the whole rollout in seconds, after which SageMaker rolls it back (600-3600, longer than all bake times together; default 3600, as long as the AWS provider waits; SageMaker only)."""
    max_error_rate_percent: float = Field(default=1.0, gt=0, le=100)
    """The rollback alarm on Invocation5XXErrors fires above this share of requests (default 1%; SageMaker only)."""
    max_latency_ms: float = Field(default=1000, gt=0, le=3_600_000)
    """The rollback alarm on ModelLatency fires above this latency in milliseconds (default 1000; SageMaker only)."""
    latency_statistic: Annotated[str, StringConstraints(pattern=r"^p\d{1,2}(\.\d{1,2})?$")] = "p99"
    """The percentile the latency alarm watches (default p99; SageMaker only)."""
    alarms: list[AlarmName] = Field(default_factory=list)
    """Names of further CloudWatch alarms that roll a deployment back (SageMaker allows 10 in all, 2 are mlstack's)."""
    promoted_version: Optional[PositiveInt] = None
    """KServe CANARY: the model version that has all the traffic the canary does not. While it differs from modelVersion, modelVersion is the canary; set it to modelVersion to promote the canary (all traffic to it). A new modelVersion is a canary again."""
    rollback: bool = False
    """KServe CANARY: send all traffic back to the last rolled-out revision (canaryTrafficPercent 0) and keep the canary's revision without traffic (default false)."""

    def effective_size(self) -> Optional[CapacitySizeSpec]:
        """The step size in force: ``size``, else the type's default; None for ALL_AT_ONCE."""
        if self.type is RolloutType.ALL_AT_ONCE:
            return None
        return self.size or DEFAULT_SIZES[self.type]


def startup_seconds(instance_type: Optional[str]) -> int:
    """The assumed worst-case start-up of new capacity on ``instance_type`` (None: serverless);
    see :data:`STARTUP_SECONDS`."""
    if instance_type is None:
        return STARTUP_SECONDS["serverless"]
    return STARTUP_SECONDS["accelerated" if catalog.accelerator(instance_type) is not None else "cpu"]


@dataclass(frozen=True)
class RolloutDuration:
    """The worst-case duration of a SageMaker endpoint update, and what it is made of."""

    type: RolloutType
    steps: int
    """Traffic shifts (blue/green) or instance batches (rolling)."""
    wait_seconds: int
    """The bake time after each step (waitIntervalSeconds)."""
    startup_seconds: int
    """One start-up of new capacity (see :data:`STARTUP_SECONDS`)."""
    startups: int
    """Start-ups one after the other: 1 for blue/green (the new fleet starts at once), one per batch for rolling."""
    termination_wait_seconds: int
    """The time the old fleet is kept once traffic has moved (blue/green only)."""

    @property
    def seconds(self) -> int:
        """The whole duration in seconds."""
        return self.startups * self.startup_seconds + self.steps * self.wait_seconds + self.termination_wait_seconds

    def explain(self) -> str:
        """The sum, spelled out: ``600 s start-up + 10 x 600 s bake + 0 s termination wait``."""
        if self.type is RolloutType.ROLLING:
            return f"{self.steps} batch(es) x ({self.startup_seconds} s start-up + {self.wait_seconds} s bake)"
        return (f"{self.startup_seconds} s start-up + {self.steps} step(s) x {self.wait_seconds} s bake"
                f" + {self.termination_wait_seconds} s termination wait")


def rollout_duration(rollout: RolloutSpec, *, instance_type: Optional[str], fleet: Optional[int]) -> RolloutDuration:
    """The worst-case duration of a SageMaker endpoint update rolled out by ``rollout``.

    The rule (S: start-up of ``instance_type``, :func:`startup_seconds`; W: waitIntervalSeconds;
    T: terminationWaitSeconds; ``fleet``: the largest fleet the update may meet, i.e.
    autoscaling.maxCapacity or instanceCount, None when serverless):

    * blue/green (ALL_AT_ONCE, CANARY, LINEAR): SageMaker starts the whole new fleet at once,
      shifts traffic in steps with a bake of W after each, then keeps the old fleet T:
      ``S + steps x W + T``. Steps: ALL_AT_ONCE 1; CANARY 2 (the canary, then the rest);
      LINEAR ``ceil(100 / step %)`` for CAPACITY_PERCENT (traffic moves by weight, so a small
      fleet does not shorten it) or ``ceil(fleet / step instances)`` for INSTANCE_COUNT.
    * ROLLING: each batch starts new instances and bakes before the next batch starts, and
      there is no termination wait: ``batches x (S + W)``. Batches: ``ceil(fleet / batch
      instances)`` for INSTANCE_COUNT; ``ceil(100 / batch %)`` for CAPACITY_PERCENT, at most
      one batch per instance of the fleet.

    A rolled-back update takes longer still, but it fails ``pulumi up`` anyway (the provider
    stops waiting at the RollingBack status), so it is not counted.

    Example: LINEAR, 10 % steps, W = 600 s on ml.m5.large (S = 600 s): 600 + 10 x 600 + 0 = 6600 s.
    """
    size = rollout.effective_size()
    kind = rollout.type
    wait = rollout.wait_interval_seconds
    start = startup_seconds(instance_type)
    if size is None or kind is RolloutType.CANARY:
        steps = 1 if size is None else 2
    elif size.type is SizeType.INSTANCE_COUNT and fleet:
        steps = math.ceil(fleet / size.value)
    else:
        steps = math.ceil(100 / size.value)
        if kind is RolloutType.ROLLING and fleet:
            steps = min(steps, fleet)
    if kind is RolloutType.ROLLING:
        return RolloutDuration(kind, steps, wait, start, steps, 0)
    return RolloutDuration(kind, steps, wait, start, 1, rollout.termination_wait_seconds)


class RolledOutEndpoint(Protocol):
    """What :func:`rollout_problems` reads of an endpoint (an :class:`~mlstack.specs.endpoint.EndpointSpec`)."""

    rollout: RolloutSpec
    instance_type: Optional[str]
    serverless: Optional[object]
    shadow: Optional[object]
    autoscaling: Optional[object]

    @property
    def min_fleet(self) -> Optional[int]: ...
    @property
    def max_fleet(self) -> Optional[int]: ...
    def rollout_duration(self) -> RolloutDuration: ...


def _minutes(seconds: int) -> str:
    return f"{seconds} s ({seconds / 60:.0f} min)" if seconds % 60 else f"{seconds} s ({seconds // 60} min)"


def _fit_advice(spec: RolledOutEndpoint, duration: RolloutDuration) -> str:
    """How to bring ``duration`` within PROVIDER_WAIT_SECONDS: bigger steps, a shorter bake or termination wait."""
    rollout = spec.rollout
    kind = rollout.type
    size = rollout.effective_size()
    start, wait, steps, keep = duration.startup_seconds, duration.wait_seconds, duration.steps, duration.termination_wait_seconds
    if kind is RolloutType.ROLLING:
        max_wait = PROVIDER_WAIT_SECONDS // steps - start
        fitting_steps = PROVIDER_WAIT_SECONDS // (start + wait)
    else:
        budget = PROVIDER_WAIT_SECONDS - start  # what is left for the bakes and the termination wait
        max_wait = (budget - keep) // steps if budget >= keep else -1
        fitting_steps = (budget - keep) // wait if wait else steps
    advice = []
    if kind in (RolloutType.LINEAR, RolloutType.ROLLING) and size is not None and fitting_steps >= 2:
        if size.type is SizeType.CAPACITY_PERCENT and math.ceil(100 / fitting_steps) <= 50:
            advice.append(f"bigger steps (rollout.size.value: {math.ceil(100 / fitting_steps)} or more)")
        elif size.type is SizeType.INSTANCE_COUNT and spec.max_fleet:
            value = math.ceil(spec.max_fleet / fitting_steps)
            if 2 * value <= (spec.min_fleet or 0):
                advice.append(f"bigger steps (rollout.size.value: {value} instances or more)")
    if max_wait >= 0:
        advice.append(f"a shorter bake (rollout.waitIntervalSeconds: at most {max_wait})")
    if kind is not RolloutType.ROLLING and keep and budget - steps * wait >= 0:
        advice.append(f"a shorter termination wait (rollout.terminationWaitSeconds: at most {budget - steps * wait})")
    if kind is RolloutType.LINEAR:
        advice.append("a CANARY rollout (two steps)")
    if kind is RolloutType.ROLLING and not advice:
        advice.append("a blue/green rollout (ALL_AT_ONCE, CANARY or LINEAR), which starts the new fleet once")
    if not advice:
        advice.append(f"shorter waits (together at most {PROVIDER_WAIT_SECONDS - start} s)")
    return "use " + " or ".join(advice)


def rollout_problems(spec: RolledOutEndpoint) -> Problems:
    """Problems with a SageMaker endpoint's ``rollout`` given its fleet, instance type and variants: step
    sizes SageMaker refuses or the fleet is too small for, rollout types the endpoint cannot use,
    waits out of range, too many rollback alarms, and a rollout longer than the AWS provider
    waits (:data:`PROVIDER_WAIT_SECONDS`). Paths are below the endpoint: ``(("rollout", "size"), ...)``."""
    problems: Problems = []
    rollout = spec.rollout
    kind = rollout.type
    size = rollout.effective_size()
    fleet = spec.min_fleet
    fleet_key = ("autoscaling", "minCapacity") if spec.autoscaling else ("instanceCount",)
    fleet_words = f"{'autoscaling.minCapacity' if spec.autoscaling else 'instanceCount'} {fleet}"

    if kind is RolloutType.ALL_AT_ONCE:
        if rollout.size is not None:
            problems.append((("rollout", "size"), "ALL_AT_ONCE shifts all traffic in one step and takes no size; drop it or choose CANARY or LINEAR"))
    else:
        assert size is not None
        word = _STEP_WORD[kind]
        if spec.instance_type and catalog.family(spec.instance_type) == "inf1":
            problems.append((("rollout", "type"), f"{kind.value} is not supported on Inf1 instances: SageMaker falls back to all-at-once with no bake time; use ALL_AT_ONCE or another instance family"))
        if kind is RolloutType.ROLLING and spec.serverless is not None:
            problems.append((("rollout", "type"), "ROLLING is not supported for serverless endpoints; use ALL_AT_ONCE, CANARY or LINEAR"))
        if kind is RolloutType.ROLLING and spec.shadow is not None:
            problems.append((("rollout", "type"), "ROLLING is not supported for endpoints with several variants (a shadow); use a blue/green type (ALL_AT_ONCE, CANARY, LINEAR)"))
        lo, hi = _PERCENT_BOUNDS[kind]
        if size.type is SizeType.CAPACITY_PERCENT and not lo <= size.value <= hi:
            problems.append((("rollout", "size", "value"), f"a {word} must be {lo}-{hi}% of capacity (got {size.value}%)"))
        if size.type is SizeType.INSTANCE_COUNT and spec.serverless is not None:
            problems.append((("rollout", "size", "type"), f"a serverless endpoint has no instances; size the {word} as CAPACITY_PERCENT"))
        if fleet is not None:
            if fleet < 2:
                problems.append((fleet_key, f"a {kind.value} rollout needs at least 2 instances ({fleet_words}): with one instance the {word} is the whole fleet; raise it to 2 or use ALL_AT_ONCE"))
            elif size.type is SizeType.INSTANCE_COUNT:
                if fleet < 2 * size.value:
                    problems.append((fleet_key, f"a {word} of {size.value} instance(s) needs at least {2 * size.value} instances, as it may be at most 50% of the fleet ({fleet_words}); raise it or size the {word} as CAPACITY_PERCENT"))
                elif fleet * lo > size.value * 100:
                    problems.append((("rollout", "size", "value"), f"a {word} of {size.value} instance(s) is under {lo}% of {fleet} instances; use at least {math.ceil(fleet * lo / 100)}"))
    if kind is RolloutType.ROLLING and "termination_wait_seconds" in rollout.model_fields_set:
        problems.append((("rollout", "terminationWaitSeconds"), "a rolling update replaces instances in place and keeps no old fleet to wait on; drop it (it applies to ALL_AT_ONCE, CANARY and LINEAR)"))
    duration = spec.rollout_duration()
    if duration.seconds > PROVIDER_WAIT_SECONDS:
        problems.append((("rollout",), f"on {spec.instance_type or 'serverless capacity'} this {kind.value} rollout takes up to "
                         f"{_minutes(duration.seconds)} ({duration.explain()}), longer than the {_minutes(PROVIDER_WAIT_SECONDS)} the AWS "
                         f"provider waits for an endpoint update (a fixed limit that customTimeouts cannot raise), so pulumi up would fail "
                         f"mid-rollout; {_fit_advice(spec, duration)}"))
    timeout = rollout.maximum_execution_timeout_seconds
    if timeout is not None:
        waits = duration.steps * duration.wait_seconds + duration.termination_wait_seconds
        if timeout <= waits:
            what = "batches" if kind is RolloutType.ROLLING else "steps"
            problems.append((("rollout", "maximumExecutionTimeoutSeconds"), f"{timeout} s does not cover the rollout's waits ({duration.steps} {what} x {duration.wait_seconds} s bake + {duration.termination_wait_seconds} s termination wait = {waits} s); raise it or shorten the waits"))
    extra = len(rollout.alarms)
    if extra + MLSTACK_ROLLBACK_ALARMS > MAX_ROLLBACK_ALARMS:
        problems.append((("rollout", "alarms"), f"SageMaker accepts at most {MAX_ROLLBACK_ALARMS} rollback alarms and mlstack adds {MLSTACK_ROLLBACK_ALARMS} (5xx error rate and latency, or with slo the new fleet's two burn rates): list at most {MAX_ROLLBACK_ALARMS - MLSTACK_ROLLBACK_ALARMS} (got {extra})"))
    dupes = sorted({a for a in rollout.alarms if rollout.alarms.count(a) > 1})
    if dupes:
        problems.append((("rollout", "alarms"), f"lists {', '.join(map(repr, dupes))} more than once"))
    return problems
