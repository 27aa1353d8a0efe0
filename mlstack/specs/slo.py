"""``mlstack:endpoints[].slo``: an endpoint's service-level objective, and the error-budget
burn-rate windows that page and that roll a deployment back.

Example (a stack file)::

    slo:
      availability: 99.9      # % of requests answered without a 5xx
      latencyP99Ms: 250       # 99% of requests answered within 250 ms (optional)
      window: 30d             # the SLO period the budget is counted over

The maths (Google's SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate alerts):

* The **error budget** is the share of requests allowed to fail: ``b = 1 - availability/100``
  (99.9 -> 0.001). With ``latencyP99Ms`` a second budget: 1% of requests may be slower.
* The **burn rate** over a window ``w`` is the bad share of requests in ``w`` divided by the
  budget: ``burn(w) = (errors(w) / requests(w)) / b``. Burning at 1 spends the budget exactly in
  the SLO period ``T``; at ``r`` it is gone in ``T / r``.
* A page fires when a share ``f`` of the whole budget would be spent within a long window ``L``
  at the current rate: ``burn(L) * L / T >= f``, i.e. ``burn(L) >= f * T / L``. The workbook's
  two pages, for ``T = 30d``: ``f = 2%`` in ``L = 1h`` (14.4x) and ``f = 5%`` in ``L = 6h`` (6x).
  Each also requires a short window (``L / 12``: 5 min, 30 min) to burn as fast, so the page
  stops soon after the burning does. For another ``T`` the factors follow from the same ``f``
  and ``L`` (28d: 13.44x and 5.6x); :func:`burn_windows` computes them.
* The latency budget's burn is ``(slow(w) / requests(w)) / 0.01``; both burns share a window's
  factor, so one alarm per window watches ``MAX(availability burn, latency burn)``.

:mod:`mlstack.components.endpoint.slo` turns these windows into CloudWatch metric-math alarms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from pydantic import Field, field_validator

from .base import Spec

__all__ = ["SloSpec", "BurnWindow", "burn_windows", "rollback_windows", "LATENCY_BUDGET", "MIN_SLO_BAKE_SECONDS"]

#: The share of requests a p99 latency objective lets be slower than the bound.
LATENCY_BUDGET = 0.01
#: (budget share spent, long window s, short window s) of the workbook's two pages.
_PAGES = ((0.02, 3600, 300), (0.05, 21600, 1800))
#: The shortest bake an SLO endpoint may have: the new fleet's fast-burn rollback alarm watches
#: a 5-minute window, which must fit in the bake or it could not fire before traffic moves on.
MIN_SLO_BAKE_SECONDS = 300
_WINDOW = re.compile(r"^([1-9][0-9]{0,2})d$")


class SloSpec(Spec):
    """An endpoint's objective: availability (and optionally p99 latency) over a window.

    With ``slo`` the endpoint rolls back on error-budget burn rates instead of the raw
    ``rollout.maxErrorRatePercent`` / ``maxLatencyMs`` thresholds, and a Monitor of the endpoint
    pages on the two multi-window burn-rate alarms.
    """

    availability: float = Field(ge=90, lt=100, allow_inf_nan=False)
    """Percent of requests answered without a 5xx over the window, e.g. 99.9 (at least 90, below 100)."""
    latency_p99_ms: Optional[float] = Field(default=None, ge=1, le=60_000, allow_inf_nan=False)
    """99% of requests are answered within this many milliseconds (ModelLatency; 1 to 60000); optional."""
    window: str = "30d"
    """The SLO period the error budget is counted over, in days: 7d to 365d (default 30d)."""

    @field_validator("window")
    @classmethod
    def _days(cls, value: str) -> str:
        match = _WINDOW.fullmatch(value)
        if not match or not 7 <= int(match.group(1)) <= 365:
            raise ValueError(
                f"is the SLO period in whole days from 7d to 365d, e.g. 30d or 28d (got {value!r}); shorter periods "
                "make a 6 h burn at the paging rate spend less than the budget"
            )
        return value

    @property
    def window_seconds(self) -> int:
        return int(self.window[:-1]) * 86400

    @property
    def error_budget(self) -> float:
        """The share of requests allowed to fail (0.001 for 99.9)."""
        return round(1 - self.availability / 100, 12)


@dataclass(frozen=True)
class BurnWindow:
    """One burn-rate condition: over ``seconds`` the burn must stay below ``factor``."""

    key: str
    """Short name used in alarm names: 1h, 5m, 6h, 30m, bake."""
    seconds: int
    factor: float
    budget_share: float
    """The share of the period's budget this burn spends within the long window of its pair."""


def _label(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def burn_windows(slo: SloSpec) -> list[tuple[BurnWindow, BurnWindow]]:
    """The paging pairs (long, short): ``factor = share x period / long window``.

    >>> [(l.key, s.key, round(l.factor, 2)) for l, s in burn_windows(SloSpec(availability=99.9))]
    [('1h', '5m', 14.4), ('6h', '30m', 6.0)]
    """
    pairs = []
    for share, long, short in _PAGES:
        factor = round(share * slo.window_seconds / long, 6)
        pairs.append((BurnWindow(_label(long), long, factor, share), BurnWindow(_label(short), short, factor, share)))
    return pairs


def rollback_windows(slo: SloSpec, bake_seconds: int) -> list[BurnWindow]:
    """The windows the new fleet is judged on during a rollout: 5 minutes at the fast factor, and
    the bake (whole minutes, 5 to 30) at the slow factor — both fit in the bake, so either can
    roll back before the next traffic shift."""
    (fast, fast_short), (slow, _) = burn_windows(slo)
    bake = max(MIN_SLO_BAKE_SECONDS, min(1800, bake_seconds // 60 * 60))
    return [
        BurnWindow(fast_short.key, fast_short.seconds, fast.factor, fast.budget_share),
        BurnWindow("bake", bake, slow.factor, slow.budget_share),
    ]
