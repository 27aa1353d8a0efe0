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

from pydantic import Field, StringConstraints, field_validator
from typing_extensions import Annotated

from .types import Spec

__all__ = ["Gate", "GateResult", "LAST_APPROVED", "evaluate_gates", "finite_number"]

LAST_APPROVED = "last-approved"

Op = Literal[">=", ">", "<=", "<", "=="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}

def finite_number(value: object) -> Optional[float]:
    """``value`` as a float when it is a real, finite JSON/YAML number; None otherwise.

    Booleans (``true`` is 1 to Python), strings (``"0.95"``, ``"1e309"``, ``"nan"``, ``"0_9"``),
    NaN, infinities and integers too large for a float are not numbers here: a gate compared
    with any of them would decide on something nobody wrote as a number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_is_finite(cls, value: object) -> object:
        if value == LAST_APPROVED and isinstance(value, str):
            return value
        if finite_number(value) is None:
            raise ValueError(f"threshold must be a finite number or {LAST_APPROVED!r}; write a plain number such as 0.9")
        return value

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance_is_finite(cls, value: object) -> object:
        if finite_number(value) is None:
            raise ValueError("tolerance must be a finite number; write a plain number such as 0.005")
        return value

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
