"""``mlstack:budget``: what a stack may cost per month, in USD and/or GPU-hours.

Judged by the policy ``mlstack-stack-within-budget`` against the estimate at maximum scale
(``mlstack cost``), mandatory in prod by default. Example::

    mlstack:budget:
      monthlyUsd: 9000          # needs a price file: mlstack prices update --region eu-west-1
      monthlyGpuHours: 4500     # needs no prices
"""

from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from .base import Spec

__all__ = ["BudgetSpec"]


class BudgetSpec(Spec):
    """The most a stack may spend per month at maximum scale."""

    monthly_usd: Optional[float] = Field(default=None, gt=0, le=1e9)
    """USD per month at maximum scale (endpoints at their autoscaling maximum, every scheduled run at its maximum runtime); judged with the project's price file, prices/<region>.json."""
    monthly_gpu_hours: Optional[float] = Field(default=None, gt=0, le=1e9)
    """Accelerator-device-hours (GPU or Neuron) per month at maximum scale."""

    @model_validator(mode="after")
    def _something_to_judge(self) -> "BudgetSpec":
        if self.monthly_usd is None and self.monthly_gpu_hours is None:
            raise ValueError("give monthlyUsd, monthlyGpuHours or both (an empty budget judges nothing)")
        return self
