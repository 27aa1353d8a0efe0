"""Evaluating promotion gates: does a candidate version's metrics meet its model's gates?

The gates themselves are specs (:class:`~mlstack.specs.gates.GateSpec`, declared under
``mlstack:models[].gates``). ``mlstack promote`` evaluates them here on the registered
candidate against the last Approved version; the TrainingPipeline turns the same gates into
condition steps before registration::

    results = evaluate_gates(model.gates, candidate={"accuracy": 0.91}, baseline={"accuracy": 0.90})
    print("\n".join(r.render() for r in results))
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from .specs.gates import GateSpec, finite_number

__all__ = ["GateResult", "evaluate_gates"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, with the values it compared (the audit trail)."""

    gate: GateSpec
    value: Optional[float]
    bound: Optional[float]
    passed: bool
    reason: str

    def render(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"{mark} {self.gate.describe()}: {self.reason}"


def evaluate_gates(
    gates: list[GateSpec],
    candidate: Mapping[str, float],
    baseline: Optional[Mapping[str, float]] = None,
) -> list[GateResult]:
    """Evaluate every gate on a candidate's metrics.

    A metric the candidate lacks, or holds as anything but a finite number, fails its gate. A relative gate with no previous Approved
    version (``baseline`` None) passes: the first version has nothing to regress against. A
    relative gate whose baseline lacks the metric (or holds a non-finite one) fails, because the
    comparison cannot be made.
    """
    results = []
    for gate in gates:
        value = finite_number(candidate.get(gate.metric))
        if value is None:
            reason = (
                f"the candidate has no {gate.metric!r} metric"
                if candidate.get(gate.metric) is None
                else f"the candidate's {gate.metric!r} is not a finite number ({_shown(candidate.get(gate.metric))})"
            )
            results.append(GateResult(gate, None, None, False, reason))
            continue
        base: Optional[float] = None
        if gate.relative:
            if baseline is None:
                results.append(GateResult(gate, value, None, True, f"{gate.metric}={value:g}; no previous Approved version to compare with"))
                continue
            if baseline.get(gate.metric) is None:
                results.append(GateResult(gate, value, None, False, f"the last Approved version has no {gate.metric!r} metric"))
                continue
            base = finite_number(baseline.get(gate.metric))
            if base is None:
                reason = f"the last Approved version's {gate.metric!r} is not a finite number ({_shown(baseline.get(gate.metric))})"
                results.append(GateResult(gate, value, None, False, reason))
                continue
        bound = gate.bound(base)
        if bound is None or not math.isfinite(bound):  # e.g. a huge baseline plus a tolerance
            results.append(GateResult(gate, value, None, False, f"the bound for {gate.metric} is not a finite number"))
            continue
        passed = _OPS[gate.op](value, bound)
        results.append(GateResult(gate, value, bound, passed, f"{gate.metric}={value:g} {'meets' if passed else 'misses'} {gate.op} {bound:g}"))
    return results
