"""Promotion gates: what a model version must satisfy to be registered or approved.

Declared per model in the stack file and used in two places: the TrainingPipeline turns each
gate into a condition step before registration, and ``mlstack promote`` evaluates them on the
registered candidate against the last Approved version::

    mlstack:models:
      - name: churn-xgb
        gates:
          - {metric: accuracy, op: ">=", threshold: last-approved}            # no worse than prod
          - {metric: auc, op: ">=", threshold: 0.80}
          - {metric: bias_delta, op: "<=", threshold: 0.01}                   # at most one point
          - {metric: accuracy, op: ">=", threshold: last-approved, tolerance: 0.005}
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Optional, Union

from pydantic import Field, StringConstraints
from typing_extensions import Annotated

from .types import Spec

__all__ = ["Gate", "GateResult", "LAST_APPROVED", "evaluate_gates"]

LAST_APPROVED = "last-approved"

Op = Literal[">=", ">", "<=", "<", "=="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$")]


class Gate(Spec):
    """One condition on an evaluation metric."""

    metric: MetricName
    """Name of a metric in the evaluation report, e.g. accuracy, auc, bias_delta, latency_p99_ms."""
    op: Op = ">="
    """Comparison: >=, >, <=, < or ==."""
    threshold: Union[float, Literal["last-approved"]]
    """A number, or last-approved to compare with the same metric of the group's last Approved version."""
    tolerance: float = Field(default=0.0, ge=0.0)
    """Slack when comparing with last-approved: accuracy >= last-approved - tolerance (or + for <=)."""
    description: Optional[str] = Field(default=None, max_length=256)
    """Why this gate exists; shown in the approval audit trail."""

    @property
    def relative(self) -> bool:
        return self.threshold == LAST_APPROVED

    def bound(self, baseline: Optional[float]) -> Optional[float]:
        """The number the metric is compared with (None: relative gate with no baseline)."""
        if not self.relative:
            return float(self.threshold)  # type: ignore[arg-type]
        if baseline is None:
            return None
        return baseline - self.tolerance if self.op in (">=", ">") else baseline + self.tolerance

    def describe(self) -> str:
        if self.relative:
            slack = f" - {self.tolerance}" if self.op in (">=", ">") and self.tolerance else f" + {self.tolerance}" if self.tolerance else ""
            return f"{self.metric} {self.op} last approved{slack}"
        return f"{self.metric} {self.op} {self.threshold}"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, with the values it compared (the audit trail)."""

    gate: Gate
    value: Optional[float]
    bound: Optional[float]
    passed: bool
    reason: str

    def render(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"{mark} {self.gate.describe()}: {self.reason}"


def evaluate_gates(
    gates: list[Gate],
    candidate: Mapping[str, float],
    baseline: Optional[Mapping[str, float]] = None,
) -> list[GateResult]:
    """Evaluate every gate on a candidate's metrics.

    A metric the candidate lacks fails its gate. A relative gate with no previous Approved
    version (``baseline`` None) passes: the first version has nothing to regress against. A
    relative gate whose baseline lacks the metric fails, because the comparison cannot be made.
    """
    results = []
    for gate in gates:
        value = candidate.get(gate.metric)
        if value is None or not math.isfinite(float(value)):
            results.append(GateResult(gate, None, None, False, f"the candidate has no {gate.metric!r} metric"))
            continue
        value = float(value)
        if gate.relative:
            if baseline is None:
                results.append(GateResult(gate, value, None, True, f"{gate.metric}={value:g}; no previous Approved version to compare with"))
                continue
            if baseline.get(gate.metric) is None:
                results.append(GateResult(gate, value, None, False, f"the last Approved version has no {gate.metric!r} metric"))
                continue
        bound = gate.bound(float(baseline[gate.metric]) if gate.relative and baseline else None)
        assert bound is not None
        passed = _OPS[gate.op](value, bound)
        results.append(GateResult(gate, value, bound, passed, f"{gate.metric}={value:g} {'meets' if passed else 'misses'} {gate.op} {bound:g}"))
    return results
