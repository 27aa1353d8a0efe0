"""Checks that a stack's maximum-scale monthly estimate stays within its ``mlstack:budget``, and
that its peak accelerators stay within the environment's cap (``mlstack-stack-within-budget``).

The estimate is :mod:`mlstack.capacity` over the stack's resources (what ``mlstack cost``
prints): endpoints at their autoscaling maximum all month, every scheduled job run for its full
maximum runtime. GPU-hours need no prices; a USD budget is judged with the price file of the
stack's region (``prices/<region>.json`` of the project, written by ``mlstack prices update``),
or the price file's content in this policy's ``prices`` setting (a published pack has no
project beside it). A USD budget that cannot be judged (no price file, an instance type without
a price) fails: an unknown cost is not within a budget.

The peak-GPU cap (``maxPeakGpus`` per environment) counts the accelerator devices of every
instance the stack may run at once, during a rollout included (a blue/green update runs two
fleets).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Optional

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ...capacity import capacity_of, nodes_of_policy_resources
from ...pricing import PriceFile, PriceFileError, load_price_file, price_file_from_json
from ...pricing.cost import estimate
from ..kit.settings import applies, environments_property, for_env, per_environment
from ..kit.stack import config_value, stack_environment

__all__ = ["POLICY", "NAME", "DEFAULT_MAX_PEAK_GPUS"]

NAME = "mlstack-stack-within-budget"
#: Accelerator devices a stack may run at once (during a rollout included), per environment.
DEFAULT_MAX_PEAK_GPUS = {"dev": 8, "staging": 32, "prod": 64}
DEFAULT_PRICES_FILE = "prices/{region}.json"


def _budget() -> Optional[Mapping[str, Any]]:
    """The stack's mlstack:budget; one that is there but cannot be read is an empty budget, which
    ``validate`` refuses (the stack program would have refused it too)."""
    value = config_value("mlstack:budget")
    if value is None:
        return None
    return value if isinstance(value, Mapping) else {}


def _prices(config: Mapping[str, Any], region: Optional[str]) -> tuple[Optional[PriceFile], str]:
    """The price file to judge with, or None and why not."""
    inline = config.get("prices")
    if isinstance(inline, Mapping) and inline:
        try:
            return price_file_from_json(dict(inline), source="the policy's prices setting", region=region), ""
        except PriceFileError as exc:
            return None, f"the policy's prices setting is not a usable price file ({exc})"
    if not region:
        return None, "the stack config has no aws:region, so no price file can be chosen"
    relative = str(config.get("pricesFile") or DEFAULT_PRICES_FILE).replace("{region}", region)
    path = _find(relative)
    if path is None:
        return None, f"there is no price file {relative}: write it with `mlstack prices update --region {region}` and commit it"
    try:
        return load_price_file(path, region=region), ""
    except Exception as exc:  # noqa: BLE001 - UsageError or PriceFileError: fail closed with the reason
        return None, str(exc)


def _urn(item: Any) -> Optional[str]:
    """The resource a violation points at: the largest contributor (None: the stack as a whole)."""
    return getattr(item, "urn", None) or None


def _find(relative: str) -> Optional[str]:
    """``relative`` in the current directory or the nearest parent up to the project's root (the
    directory of Pulumi.yaml), so a check run from a subdirectory of the project finds it."""
    if os.path.isabs(relative):
        return relative if os.path.isfile(relative) else None
    here = os.path.abspath(os.getcwd())
    while True:
        candidate = os.path.join(here, relative)
        if os.path.isfile(candidate):
            return candidate
        if os.path.isfile(os.path.join(here, "Pulumi.yaml")) or os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    stack = (args.stack_tags or {}).get("mlstack:stack") or "STACK"
    nodes = nodes_of_policy_resources(args.resources)
    cap = capacity_of(nodes)
    limit = _number(for_env(config, "maxPeakGpus", env))
    budget = _budget()
    if cap.uncounted and (limit is not None or budget is not None):
        report_violation(
            f"the stack's capacity must be countable to judge its budget and peak-GPU cap, but it cannot be counted in full: "
            f"{'; '.join(cap.uncounted[:3])}{' ...' if len(cap.uncounted) > 3 else ''}. What cannot be counted is not within a "
            "budget: declare it so it can be (an endpoint with its configuration, a pipeline with an inline definition, a "
            "rate(...) or cron(...) schedule).",
            None,
        )
    peak = cap.peak_gpus()
    if limit is not None and peak > limit:
        worst = sorted((n for n in cap.needs if n.devices_per_instance), key=lambda n: -n.during_rollout * n.devices_per_instance)
        shown = ", ".join(f"{n.during_rollout} x {n.instance_type} ({n.use})" for n in worst[:4])
        report_violation(
            f"the stack must run at most {limit:g} accelerators at once in {env} (maxPeakGpus), but may run {peak} accelerators "
            f"({cap.peak_gpus(during_rollout=False)} steady, {peak} during a rollout: {shown}); lower autoscaling maxCapacity, "
            "instance counts or the training concurrency, or raise the cap in the pack config.",
            _urn(cap.largest(by="gpus")),
        )
    if budget is None:
        return
    gpu_budget = _number(budget.get("monthlyGpuHours"))
    if gpu_budget is None and _number(budget.get("monthlyUsd")) is None:
        report_violation(
            f"mlstack:budget must hold monthlyUsd and/or monthlyGpuHours as numbers, but holds no number to judge "
            f"({json.dumps(budget)[:120]}).",
            None,
        )
        return
    if gpu_budget is not None and cap.gpu_hours("max") > gpu_budget:
        report_violation(
            f"the stack must use at most {gpu_budget:,.0f} GPU-hours a month (mlstack:budget.monthlyGpuHours), but may use "
            f"{cap.gpu_hours('max'):,.0f} GPU-hours at maximum scale; lower autoscaling maxCapacity or schedule frequency, or raise "
            f"the budget (see `mlstack cost {stack}`).",
            _urn(cap.largest(by="gpu-hours")),
        )
    usd_budget = _number(budget.get("monthlyUsd"))
    if usd_budget is None:
        return
    region = config_value("aws:region")
    prices, why = _prices(config, region if isinstance(region, str) else None)
    if prices is None:
        report_violation(
            f"the stack's cost must be estimated to judge mlstack:budget.monthlyUsd ({usd_budget:,.2f}), but it cannot be "
            f"estimated: {why}. An unknown cost is not within a budget.",
            None,
        )
        return
    report = estimate(nodes, cap, prices)
    total = report.total("max")
    if total is None:
        missing = ", ".join(sorted({line.quantity.split(" of ")[-1] for line in report.unpriced()})) or "some resources"
        report_violation(
            f"every priced resource must have a price to judge mlstack:budget.monthlyUsd ({usd_budget:,.2f}), but "
            f"{prices.path} has no price for {missing}; update it with "
            f"`mlstack prices update --region {prices.region}`.",
            None,
        )
    elif total > usd_budget:
        report_violation(
            f"the stack must cost at most {usd_budget:,.2f} USD a month (mlstack:budget.monthlyUsd), but may cost {total:,.2f} USD "
            f"at maximum scale (prices of {prices.region} retrieved {prices.retrieved}); see `mlstack cost "
            f"{stack}` for where it goes, then lower autoscaling maxCapacity, instance types or schedule frequency, or raise the budget.",
            _urn(cap.largest(by="hours")),
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that a stack's estimated monthly cost and GPU-hours at maximum scale stay within its mlstack:budget, and "
        "that the accelerators it may run at once (during a rollout included) stay within the environment's cap."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["cost", "capacity"],
    display_name="Stack within budget",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(["prod"], "a stack's budget and peak GPUs are judged"),
            "maxPeakGpus": per_environment(
                {"type": ["number", "null"], "minimum": 0},
                DEFAULT_MAX_PEAK_GPUS,
                "Per environment: the most accelerator devices (GPU or Neuron) one stack may run at once, during a rollout "
                "included; null for no cap.",
            ),
            "pricesFile": {
                "type": "string",
                "default": DEFAULT_PRICES_FILE,
                "description": "The price file to judge USD budgets with ({region}: the stack's aws:region): absolute, or "
                "relative to the directory the check runs in or its nearest parent up to the project's Pulumi.yaml.",
            },
            "prices": {
                "type": "object",
                "default": {},
                "description": "The content of a price file (mlstack prices update), for a published pack with no project "
                "beside it; empty: read pricesFile.",
            },
        }
    ),
    remediation_steps="Run `mlstack cost STACK` to see where the estimate goes; lower maxCapacity or schedules, or raise mlstack:budget.",
)
