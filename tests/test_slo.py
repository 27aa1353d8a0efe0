"""Error budgets: ``mlstack:endpoints[].slo`` -> multi-window, multi-burn-rate alarms.

The generated CloudWatch metric-math expressions are evaluated here by a small interpreter of
the functions they use (IF, FILL, MAX, arithmetic, comparisons) on synthetic per-minute metric
series, and their verdicts compared with an independent computation of the SRE workbook's rule:
"page when a share f of the period's budget is spent within the long window (and the short
window burns as fast)", computed as budget spent, not as a burn rate.
"""

from __future__ import annotations

import ast
import json
import math
import random

import pytest

from mlstack.components.endpoint.slo import burn_queries, page_rules
from mlstack.specs.slo import SloSpec, burn_windows, rollback_windows

COMPONENT = "mlstack:index:Endpoint"
MONITOR = "mlstack:index:Monitor"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve@sha256:" + "ab" * 32
SLO = {"availability": 99.9, "latencyP99Ms": 250, "window": "30d"}


# ---- an interpreter of the metric-math subset the alarms use ----------------------------------------


def evaluate(expression: str, values: dict[str, float | None]) -> float | None:
    """Value of a CloudWatch metric-math ``expression`` at one datapoint; ``None`` is a missing
    datapoint (CloudWatch: FILL replaces it, arithmetic on it is missing)."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b if b else None}
            return ops[type(node.op)]()
        if isinstance(node, ast.Compare):
            a, b = ev(node.left), ev(node.comparators[0])
            if a is None or b is None:
                return None
            return float({ast.Gt: a > b, ast.GtE: a >= b, ast.Lt: a < b}[type(node.ops[0])])
        if isinstance(node, ast.Call):
            name = node.func.id
            if name == "IF":
                cond = ev(node.args[0])
                return None if cond is None else (ev(node.args[1]) if cond else ev(node.args[2]))
            if name == "FILL":
                value = ev(node.args[0])
                return ev(node.args[1]) if value is None else value
            if name == "MAX":
                items = [ev(e) for e in node.args[0].elts]
                present = [v for v in items if v is not None]
                return max(present) if present else None
        raise AssertionError(f"unexpected metric-math syntax {ast.dump(node)} in {expression!r}")

    return ev(ast.parse(expression, mode="eval"))


def alarm_value(queries: list[dict], stats: dict[str, float | None]) -> float | None:
    """The value an alarm built from ``queries`` watches, given each metric query's statistic."""
    values = dict(stats)
    for q in queries:
        if "expression" in q:
            values[q["id"]] = evaluate(q["expression"], values)
    [returned] = [q for q in queries if q["returnData"]]
    return values[returned["id"]]


def window_stats(series: list[tuple[int, int, int]], minutes: int, bound_ms: float) -> dict[str, float | None]:
    """Sum of requests and 5xx, and PR(:bound) of latency, over the last ``minutes`` of a series of
    (requests, errors, slow requests) per minute — what CloudWatch answers for one window."""
    tail = series[-minutes:]
    requests = sum(r for r, _, _ in tail)
    if requests == 0:
        return {"inv": None, "err": None, "fast": None}  # SageMaker publishes nothing without traffic
    errors = sum(e for _, e, _ in tail)
    slow = sum(s for _, _, s in tail)
    return {"inv": float(requests), "err": float(errors), "fast": 100.0 * (requests - slow) / requests}


def workbook_pages(series, slo: SloSpec) -> dict[str, bool]:
    """The SRE workbook's rule, computed independently as *budget spent*: a page fires when, at the
    rate seen in each of its two windows, at least the pair's share of the period's budget would be
    spent within the long window. Budget for the period = budget share x the requests the period
    would see at that rate."""
    period_minutes = slo.window_seconds // 60
    fired = {}
    for (share, long_min, short_min), label in zip(((0.02, 60, 5), (0.05, 360, 30)), ("fast", "slow")):
        verdict = True
        for minutes in (long_min, short_min):
            tail = series[-minutes:]
            requests = sum(r for r, _, _ in tail)
            if requests == 0:
                verdict = False
                continue
            rate_per_minute = requests / minutes
            bad = {"errors": sum(e for _, e, _ in tail), "slow": sum(s for _, _, s in tail)}
            allowed = {"errors": 1 - slo.availability / 100, "slow": 0.01}
            spent = 0.0
            for kind in bad:
                if kind == "slow" and slo.latency_p99_ms is None:
                    continue
                budget_for_period = allowed[kind] * rate_per_minute * period_minutes
                # Spent within the long window at this window's rate:
                spent = max(spent, bad[kind] / minutes * long_min / budget_for_period)
            verdict = verdict and spent >= share - 1e-12
        fired[label] = verdict
    return fired


def generated_pages(series, slo: SloSpec) -> dict[str, bool]:
    by_key = {}
    for long, short in burn_windows(slo):
        for window in (long, short):
            queries = burn_queries(slo, window.seconds, {"EndpointName": "e", "VariantName": "v"})
            value = alarm_value(queries, window_stats(series, window.seconds // 60, slo.latency_p99_ms or 0))
            by_key[window.key] = value is not None and value >= window.factor  # GreaterThanOrEqualToThreshold, missing: not breaching
    return {key.split("-")[1]: by_key[long] and by_key[short] for key, long, short, _ in page_rules(slo)}


def steady(minutes: int, requests: int, error_share: float, slow_share: float = 0.0):
    return [(requests, round(requests * error_share), round(requests * slow_share)) for _ in range(minutes)]


# ---- the maths --------------------------------------------------------------------------------


def test_factors_are_the_workbooks_for_30_days_and_follow_the_period():
    assert [(l.key, s.key, l.factor) for l, s in burn_windows(SloSpec(availability=99.9))] == [("1h", "5m", 14.4), ("6h", "30m", 6.0)]
    assert [l.factor for l, _ in burn_windows(SloSpec(availability=99.9, window="28d"))] == [13.44, 5.6]


@pytest.mark.parametrize(
    "series, expected",
    [
        (steady(480, 1000, 0.0005), {"fast": False, "slow": False}),  # burning at 0.5x: fine
        (steady(420, 1000, 0.0005) + steady(60, 1000, 0.02), {"fast": True, "slow": False}),  # an hour at 20x; 6 h at 3.75x
        (steady(470, 1000, 0.0) + steady(10, 1000, 0.05), {"fast": False, "slow": False}),  # 10 min at 50x: 1 h only at 8.3x
        (steady(475, 1000, 0.0) + steady(5, 1000, 0.2), {"fast": True, "slow": False}),  # a short hard outage
        (steady(420, 1000, 0.02) + steady(60, 1000, 0.0), {"fast": False, "slow": False}),  # over: short windows clean
        (steady(120, 1000, 0.0) + steady(360, 1000, 0.007), {"fast": False, "slow": True}),  # 6 h at 7x
        (steady(480, 1000, 0.0, 0.2), {"fast": True, "slow": True}),  # 20% slower than 250 ms: 20x latency burn
        (steady(480, 1000, 0.0, 0.005), {"fast": False, "slow": False}),  # within the 1% latency budget
        (steady(480, 0, 0.0), {"fast": False, "slow": False}),  # no traffic, no burn
    ],
)
def test_generated_expressions_agree_with_the_workbook_rule(series, expected):
    slo = SloSpec.model_validate(SLO)
    assert workbook_pages(series, slo) == expected
    assert generated_pages(series, slo) == expected


@pytest.mark.parametrize("seed", range(25))
def test_generated_expressions_agree_with_the_workbook_rule_on_random_series(seed):
    rng = random.Random(seed)
    slo = SloSpec(availability=rng.choice([99.0, 99.5, 99.9, 99.95]), latency_p99_ms=rng.choice([None, 100.0, 250.0]),
                  window=rng.choice(["7d", "28d", "30d", "90d"]))
    series = []
    for _ in range(480):
        requests = rng.choice([0, 3, 50, 1000])
        error_share = rng.choice([0.0, 0.0, 0.001, 0.01, 0.05, 0.3])
        series.append((requests, round(requests * error_share), round(requests * rng.choice([0.0, 0.005, 0.05]))))
    burst = rng.choice([0, 5, 30, 90])  # a burst at the end, so pages fire on some seeds
    if burst:
        series[-burst:] = [(1000, rng.choice([0, 20, 150]), 0)] * burst
    assert workbook_pages(series, slo) == generated_pages(series, slo)


def test_random_series_exercise_both_verdicts():
    verdicts = set()
    for seed in range(25):
        rng = random.Random(seed)
        series = steady(480, 1000, rng.choice([0.0, 0.001, 0.008, 0.03]))
        verdicts.add(tuple(generated_pages(series, SloSpec.model_validate(SLO)).values()))
    assert {(False, False), (True, True), (False, True)} <= verdicts


def test_rollback_windows_fit_the_bake():
    slo = SloSpec(availability=99.9)
    assert [(w.seconds, w.factor) for w in rollback_windows(slo, 900)] == [(300, 14.4), (900, 6.0)]
    assert [w.seconds for w in rollback_windows(slo, 3600)] == [300, 1800]
    assert [w.seconds for w in rollback_windows(slo, 330)] == [300, 300]


# ---- what the stack registers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def slo_plan(tmp_path_factory):
    import yaml

    from conftest import BASELINE, ROOT
    from mlstack.engine import plan_stack

    config = dict(BASELINE)
    config["mlstack:endpoints"] = [{
        "name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/churn-xgb/",
        "instanceType": "ml.m5.large", "instanceCount": 4,
        "rollout": {"type": "CANARY", "size": {"type": "CAPACITY_PERCENT", "value": 25}, "waitIntervalSeconds": 900, "alarms": ["team-own-alarm"]},
        "slo": SLO,
    }]
    config["mlstack:monitors"] = [{"endpoint": "scoring", "notifications": {"emails": ["oncall@example.com"]}}]
    path = tmp_path_factory.mktemp("slo") / "Pulumi.churn-dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return plan_stack(path, cwd=ROOT)


def _alarms(graph):
    return {r.inputs["name"]: r for r in graph.by_type(ALARM)}


def test_slo_endpoint_rolls_back_on_new_fleet_burn_rates_only(slo_plan):
    [endpoint] = slo_plan.by_type(ENDPOINT)
    rollback = [a["alarmName"] for a in endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
    assert rollback == ["churn-scoring-slo-rollback-5m", "churn-scoring-slo-rollback-bake", "team-own-alarm"]
    alarms = _alarms(slo_plan)
    assert "churn-scoring-5xx-error-rate" not in alarms  # the raw threshold is replaced, not added
    [config] = slo_plan.by_type(CONFIG)
    for name, period, factor in (("churn-scoring-slo-rollback-5m", 300, 14.4), ("churn-scoring-slo-rollback-bake", 900, 6.0)):
        alarm = alarms[name].inputs
        assert alarm["threshold"] == factor and alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["evaluationPeriods"] == 1 and alarm["treatMissingData"] == "notBreaching"
        metrics = [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
        assert {m["metricName"] for m in metrics} == {"Invocations", "Invocation5XXErrors", "ModelLatency"}
        for m in metrics:
            # The new fleet only: the config this deployment rolls out to.
            assert m["dimensions"]["EndpointName"] == "churn-scoring" and m["dimensions"]["VariantName"] == "primary"
            # Autonamed: the offline engine answers the config's name; it must be that config's.
            assert m["dimensions"]["EndpointConfigName"].startswith("scoring-config-")
            assert m["period"] == period
        assert {q["id"]: q.get("expression") for q in alarm["metricQueries"] if "expression" in q} == {
            "availability": "IF(inv > 0, FILL(err, 0) / inv, 0) / 0.001",
            "latency": "IF(inv > 0, (100 - FILL(fast, 100)) / 100, 0) / 0.01",
            "burn": "MAX([availability, latency])",
        }
        assert [m["stat"] for m in metrics if m["metricName"] == "ModelLatency"] == ["PR(:250000)"]


def test_slo_pages_are_multi_window_composites_on_the_whole_variant(slo_plan):
    alarms = _alarms(slo_plan)
    for key, period, factor in (("1h", 3600, 14.4), ("5m", 300, 14.4), ("6h", 21600, 6.0), ("30m", 1800, 6.0)):
        alarm = alarms[f"churn-scoring-slo-burn-{key}"].inputs
        assert alarm["threshold"] == factor
        assert all(q["metric"]["period"] == period and q["metric"]["dimensions"] == {"EndpointName": "churn-scoring", "VariantName": "primary"}
                   for q in alarm["metricQueries"] if "metric" in q)
    pages = {r.inputs["alarmName"]: r.inputs for r in slo_plan.by_type(COMPOSITE)}
    fast = next(v for k, v in pages.items() if k.endswith("slo-fast-burn"))
    slow = next(v for k, v in pages.items() if k.endswith("slo-slow-burn"))
    assert fast["alarmRule"] == 'ALARM("churn-scoring-slo-burn-1h") AND ALARM("churn-scoring-slo-burn-5m")'
    assert slow["alarmRule"] == 'ALARM("churn-scoring-slo-burn-6h") AND ALARM("churn-scoring-slo-burn-30m")'
    assert fast["alarmActions"] and fast["alarmActions"] == fast["okActions"]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_slo_rollback_alarms_satisfy_the_rollout_and_monitoring_policies(slo_plan, environment):
    from mlstack.policy.check import check_plan
    from mlstack.policy.rules import endpoint_requires_progressive_rollout as rollout

    report = check_plan(slo_plan, stack_tags={"mlstack:environment": environment}, policies=[rollout.POLICY])
    assert report.violations == []


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"slo": {"availability": 100}}, "mlstack:endpoints[0].slo.availability", "less than 100"),
        ({"slo": {"availability": 99.9, "window": "30 days"}}, "mlstack:endpoints[0].slo.window", "whole days"),
        ({"slo": {"availability": 99.9, "window": "1d"}}, "mlstack:endpoints[0].slo.window", "7d to 365d"),
        ({"slo": {"availability": 99.9, "latencyP99Ms": 0.0001}}, "mlstack:endpoints[0].slo.latencyP99Ms", "greater than or equal to 1"),
        ({"slo": {"availability": 99.9}, "rollout": {"maxErrorRatePercent": 1}}, "mlstack:endpoints[0].rollout.maxErrorRatePercent", "burn rate"),
        ({"slo": {"availability": 99.9}, "rollout": {"waitIntervalSeconds": 120}}, "mlstack:endpoints[0].rollout.waitIntervalSeconds", "at least 300"),
        ({"slo": {"availability": 99.9}, "instanceCount": 4, "rollout": {"type": "ROLLING"}}, "mlstack:endpoints[0].rollout.type", "blue/green"),
        ({"slo": {"availability": 99.9, "errorBudget": 1}}, "mlstack:endpoints[0].slo.errorBudget", "unknown key"),
        ({"backend": "kserve", "image": None, "artifactsUri": None, "instanceType": None, "slo": {"availability": 99.9},
          "kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://example-churn-models/churn-xgb/v1/"}},
         "mlstack:endpoints[0].slo", "SageMaker endpoints only"),
    ],
)
def test_bad_slo_is_refused_at_its_key(cli, write_stack, changes, key, words):
    spec = {"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/churn-xgb/", "instanceType": "ml.m5.large"}
    spec.update(changes)
    spec = {k: v for k, v in spec.items() if v is not None}
    code, out, err = cli("plan", str(write_stack({"mlstack:endpoints": [spec]})))
    assert code == 2, (out, err)
    assert key in err and words in err, err
    assert "Traceback" not in err


def test_a_monitor_of_an_endpoint_given_by_its_outputs_pages_on_the_same_alarms():
    """Other languages pass the endpoint's spec and name, not the object: the pages name the
    Endpoint's deterministic burn-rate alarms."""
    from mlstack.components import Monitor, MonitorArgs
    from mlstack.engine import run_program
    from mlstack.hosted.components import _WatchedEndpoint
    from mlstack.lookups import OfflineAnswers
    from mlstack.specs.endpoint import EndpointSpec

    spec = EndpointSpec.model_validate({
        "name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/churn-xgb/",
        "instanceType": "ml.m5.large", "instanceCount": 2, "slo": {"availability": 99.5}, "dataCapture": {"enabled": False},
    })

    def program() -> None:
        endpoint = _WatchedEndpoint(spec, "churn-scoring", None, None, None)
        Monitor("scoring", MonitorArgs(endpoint=endpoint, alarm_prefix="churn-prod-scoring", environment="dev",
                                       notifications={"emails": ["oncall@example.com"]}, tags={}))

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))
    rules = {r.inputs["alarmName"]: r.inputs["alarmRule"] for r in graph.by_type(COMPOSITE)}
    assert rules == {
        "churn-prod-scoring-slo-fast-burn": 'ALARM("churn-scoring-slo-burn-1h") AND ALARM("churn-scoring-slo-burn-5m")',
        "churn-prod-scoring-slo-slow-burn": 'ALARM("churn-scoring-slo-burn-6h") AND ALARM("churn-scoring-slo-burn-30m")',
    }
