"""``mlstack:models[].gates``: what a model version must satisfy to be registered or approved.

The TrainingPipeline turns each gate into a condition step before registration, and
``mlstack promote`` evaluates them (:func:`mlstack.gates.evaluate_gates`) on the registered
candidate against the last Approved version::

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
from typing import Literal, Optional, Union

from pydantic import Field, StringConstraints, field_validator
from typing_extensions import Annotated

from .base import Spec

__all__ = ["GateSpec", "LAST_APPROVED", "MetricName", "Op", "finite_number"]

LAST_APPROVED = "last-approved"

Op = Literal[">=", ">", "<=", "<", "=="]

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$")]
"""A metric of the evaluation report, e.g. accuracy or latency_p99_ms."""


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


class GateSpec(Spec):
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
        """Whether the gate compares with the last Approved version."""
        return self.threshold == LAST_APPROVED

    def bound(self, baseline: Optional[float]) -> Optional[float]:
        """The number the metric is compared with (None: relative gate with no baseline)."""
        if not self.relative:
            return float(self.threshold)  # type: ignore[arg-type]
        if baseline is None:
            return None
        return baseline - self.tolerance if self.op in (">=", ">") else baseline + self.tolerance

    def describe(self) -> str:
        """The gate as people read it: ``accuracy >= last approved - 0.005``."""
        if self.relative:
            slack = f" - {self.tolerance}" if self.op in (">=", ">") and self.tolerance else f" + {self.tolerance}" if self.tolerance else ""
            return f"{self.metric} {self.op} last approved{slack}"
        return f"{self.metric} {self.op} {self.threshold}"
