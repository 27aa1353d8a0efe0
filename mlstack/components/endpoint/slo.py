"""Error-budget burn-rate alarms of an Endpoint with ``slo`` (the maths: :mod:`mlstack.specs.slo`).

Each alarm is a CloudWatch metric-math alarm over one window ``w``: one period of ``w`` seconds
and one evaluation period, which CloudWatch evaluates as a sliding window (its default
``EvaluationWindow``; CloudWatch User Guide, "Alarm evaluation window"). Per window:

* ``inv``, ``err``: Sum of ``Invocations`` and ``Invocation5XXErrors`` over ``w``;
* ``fast`` (with ``latencyP99Ms``): ``PR(:<bound µs>)`` of ``ModelLatency``, the percent of
  requests answered within the bound (CloudWatch's percentile-rank statistic);
* ``availability = IF(inv > 0, FILL(err, 0) / inv, 0) / <error budget>`` and
  ``latency = IF(inv > 0, (100 - FILL(fast, 100)) / 100, 0) / 0.01``: the two burn rates;
* the alarm watches ``MAX([availability, latency])`` against the window's factor.

Two sets, children of the Endpoint:

* ``<name>-slo-burn-<w>`` for 1h, 5m, 6h and 30m on the whole variant (EndpointName,
  VariantName): the members of the two pages a Monitor of the endpoint creates (composite
  alarms ``ALARM(1h) AND ALARM(5m)``, ``ALARM(6h) AND ALARM(30m)``);
* ``<name>-slo-rollback-5m`` and ``-bake`` on the *new fleet* only: during a blue/green update
  SageMaker publishes the variant's metrics with the ``EndpointConfigName`` dimension too
  (SageMaker Developer Guide, "Auto-Rollback Configuration and Monitoring", alarm example
  "Monitor model latency on new fleet"), so a 10% canary's errors are not diluted by the old
  fleet's healthy traffic. These are the endpoint's rollback alarms.
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from ...specs.endpoint import EndpointSpec
from ...specs.slo import LATENCY_BUDGET, BurnWindow, SloSpec, burn_windows, rollback_windows
from .metrics import SAGEMAKER_NAMESPACE

__all__ = ["burn_queries", "burn_alarm_names", "slo_rollback_alarm_names", "slo_alarms", "page_rules"]


def _number(value: float) -> str:
    return f"{value:.12g}"


def burn_queries(slo: SloSpec, seconds: int, dimensions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The metric queries of one window's burn-rate alarm (plain dicts, engine-shaped: camelCase)."""

    def metric(query_id: str, name: str, stat: str) -> dict[str, Any]:
        return {
            "id": query_id,
            "returnData": False,
            "metric": {"namespace": SAGEMAKER_NAMESPACE, "metricName": name, "dimensions": dict(dimensions), "period": seconds, "stat": stat},
        }

    queries = [metric("inv", "Invocations", "Sum"), metric("err", "Invocation5XXErrors", "Sum")]
    queries.append({"id": "availability", "returnData": False, "label": "availability burn rate",
                    "expression": f"IF(inv > 0, FILL(err, 0) / inv, 0) / {_number(slo.error_budget)}"})
    burns = ["availability"]
    if slo.latency_p99_ms is not None:
        bound_us = round(slo.latency_p99_ms * 1000)  # ModelLatency is in microseconds
        queries.append(metric("fast", "ModelLatency", f"PR(:{bound_us})"))
        queries.append({"id": "latency", "returnData": False, "label": "latency burn rate",
                        "expression": f"IF(inv > 0, (100 - FILL(fast, 100)) / 100, 0) / {_number(LATENCY_BUDGET)}"})
        burns.append("latency")
    queries.append({"id": "burn", "returnData": True, "label": "error budget burn rate", "expression": f"MAX([{', '.join(burns)}])"})
    return queries


def burn_alarm_names(endpoint_name: str) -> dict[str, str]:
    """Paging members by window key (1h, 5m, 6h, 30m)."""
    return {key: f"{endpoint_name}-slo-burn-{key}" for key in ("1h", "5m", "6h", "30m")}


def slo_rollback_alarm_names(endpoint_name: str) -> list[str]:
    """The two new-fleet rollback alarms."""
    return [f"{endpoint_name}-slo-rollback-5m", f"{endpoint_name}-slo-rollback-bake"]


def page_rules(slo: SloSpec) -> list[tuple[str, str, str, str]]:
    """(page key, long window key, short window key, description) of the two multi-window pages:
    a page fires while both of its windows burn at the pair's factor."""
    pages = []
    for label, (long, short) in zip(("fast", "slow"), burn_windows(slo)):
        pages.append((f"slo-{label}-burn", long.key, short.key,
                      f"mlstack SLO page: error budget burning at {long.factor:g}x over {long.key} and {short.key} "
                      f"({long.budget_share:.0%} of the {slo.window} budget spent within {long.key})"))
    return pages


def _alarm(resource: str, physical: str, description: str, window: BurnWindow, slo: SloSpec, dimensions: Mapping[str, Any],
           tags: dict[str, str], parent: pulumi.Resource) -> aws.cloudwatch.MetricAlarm:
    queries = []
    for q in burn_queries(slo, window.seconds, dimensions):
        metric = q.get("metric")
        queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=q["id"],
            return_data=q["returnData"],
            label=q.get("label"),
            expression=q.get("expression"),
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=metric["namespace"], metric_name=metric["metricName"], dimensions=metric["dimensions"],
                period=metric["period"], stat=metric["stat"],
            ) if metric else None,
        ))
    return aws.cloudwatch.MetricAlarm(
        resource,
        name=physical,
        alarm_description=description,
        metric_queries=queries,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=window.factor,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",  # no requests, no burn
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def slo_alarms(name: str, spec: EndpointSpec, *, endpoint_name: str, dimensions: dict[str, str], config_name: pulumi.Input[str],
               tags: dict[str, str], parent: pulumi.Resource) -> tuple[dict[str, aws.cloudwatch.MetricAlarm], list[aws.cloudwatch.MetricAlarm]]:
    """The paging members (by window key) and the two new-fleet rollback alarms."""
    slo = spec.slo
    assert slo is not None
    names = burn_alarm_names(endpoint_name)
    members: dict[str, aws.cloudwatch.MetricAlarm] = {}
    for long, short in burn_windows(slo):
        for window in (long, short):
            members[window.key] = _alarm(
                f"{name}-slo-burn-{window.key}", names[window.key],
                f"mlstack SLO: {endpoint_name} error budget burn rate over {window.key} >= {window.factor:g}x "
                f"(availability {slo.availability:g}%" + (f", p99 {slo.latency_p99_ms:g} ms" if slo.latency_p99_ms else "") + f", {slo.window})",
                window, slo, dimensions, tags, parent,
            )
    new_fleet = {**dimensions, "EndpointConfigName": config_name}
    rollback = []
    for physical, window in zip(slo_rollback_alarm_names(endpoint_name), rollback_windows(slo, spec.rollout.wait_interval_seconds)):
        rollback.append(_alarm(
            f"{name}-slo-rollback-{physical.rsplit('-', 1)[1]}", physical,
            f"mlstack rollback alarm: the new fleet of {endpoint_name} burns its error budget at >= {window.factor:g}x over "
            f"{window.seconds // 60} min; a deployment in progress rolls back",
            window, slo, new_fleet, tags, parent,
        ))
    return members, rollback
