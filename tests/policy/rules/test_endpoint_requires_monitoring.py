"""Tests of ``mlstack-endpoint-requires-monitoring``
(mlstack/policy/rules/endpoint_requires_monitoring.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import (
    DIMS,
    LATENCY_CEILING_US,
    MONITORING,
    Case,
    Change,
    assert_fails_exactly,
    assert_passes,
    both,
    change_of,
    drift_args,
    features_drifted,
    monitor_alarm,
)
from ..graphs import baseline


CASES: list[Case] = [
    ("data-capture-off", "dev", lambda g: g.set("scoring-config", "dataCaptureConfig.enableCapture", False), {MONITORING}),
    ("data-capture-sampling-nothing", "dev", lambda g: g.set("scoring-config", "dataCaptureConfig.initialSamplingPercentage", 0), {MONITORING}),
    ("no-monitor-error-alarm", "dev", lambda g: g.remove("monitor-errors-5xx"), {MONITORING}),
    ("no-drift-alarm-in-prod", "prod", lambda g: g.remove("monitor-drift-tenure"), {MONITORING}),
    ("drift-alarm-on-other-endpoint", "staging", lambda g: g.set("monitor-drift-tenure", "dimensions.EndpointName", "churn-other"), {MONITORING}),
    ("kserve-without-payload-logging", "dev", lambda g: g.drop("defects-isvc", "spec.predictor.logger"), {MONITORING}),
    ("kserve-without-an-error-alert", "dev", lambda g: g.remove("defects-rules"), {MONITORING}),
    ("kserve-alert-in-another-namespace", "prod", lambda g: g.set("defects-rules", ("metadata", "namespace"), "monitoring"), {MONITORING}),
    ("kserve-alert-on-another-service", "prod", lambda g: g.set("defects-rules", "spec.groups", _alert_expr(g, lambda e: e.replace("defects-predictor", "fraud-predictor"))), {MONITORING}),
    ("kserve-alert-on-latency-only", "prod", lambda g: g.set("defects-rules", "spec.groups", _alert_expr(g, lambda e: e.replace('response_code_class="5xx"', 'le="250"'))), {MONITORING}),
    ("kserve-error-rule-recorded-not-alerted", "prod", lambda g: g.set("defects-rules", "spec.groups", _recorded(g)), {MONITORING}),
    ("monitor-error-rate-at-100-percent", "dev", lambda g: g.set("monitor-errors-5xx", "threshold", 100), {MONITORING}),
    ("monitor-error-rate-ge-above-100", "dev", lambda g: g.set("monitor-errors-5xx", "threshold", 100.5).set("monitor-errors-5xx", "comparisonOperator", "GreaterThanOrEqualToThreshold"), {MONITORING}),
    ("monitor-latency-above-timeout", "staging", monitor_alarm("latency-p99", namespace="AWS/SageMaker", metricName="ModelLatency", dimensions=DIMS, extendedStatistic="p99", period=60, evaluationPeriods=3, threshold=LATENCY_CEILING_US + 1, comparisonOperator="GreaterThanThreshold"), {MONITORING}),
    ("no-invocations-missing-data-not-breaching", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold", treatMissingData="notBreaching"), {MONITORING}),
    ("no-invocations-missing-data-default", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold"), {MONITORING}),
    ("invocations-below-zero", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=0, comparisonOperator="LessThanThreshold", treatMissingData="breaching"), {MONITORING}),
    ("psi-threshold-above-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "PopulationStabilityIndex").set("monitor-drift-tenure", "threshold", 30), {MONITORING}),
    ("kl-threshold-above-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "KLDivergence").set("monitor-drift-tenure", "threshold", 14), {MONITORING}),
    ("features-drifted-above-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(3)), {MONITORING}),
    ("features-drifted-gt-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(2, "GreaterThanThreshold")), {MONITORING}),
]


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("no-drift-alarm-in-prod", "dev"),
]


# Just inside the limit: must pass.
EDGES: list[tuple[str, str, Change]] = [
    ("psi-threshold-within-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "PopulationStabilityIndex").set("monitor-drift-tenure", "threshold", 27)),
    ("features-drifted-at-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(2))),
    ("features-drifted-unknown-count", "prod", features_drifted(7)),
    ("no-invocations-missing-data-breaching", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold", treatMissingData="breaching")),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_the_same_change_passes_where_the_policy_does_not_apply(case, env):
    assert_passes(change_of(CASES, case)(baseline(env)))


@pytest.mark.parametrize("case, env, change", EDGES, ids=[c[0] for c in EDGES])
def test_a_value_just_inside_the_limit_passes(case, env, change):
    assert_passes(change(baseline(env)))


def _alert_expr(g, change):
    """The PrometheusRule's groups with the error alert's expression changed by ``change``."""
    import copy

    groups = copy.deepcopy(g.get("defects-rules").inputs["spec"]["groups"])
    groups[0]["rules"][0]["expr"] = change(groups[0]["rules"][0]["expr"])
    return groups


def _recorded(g):
    import copy

    groups = copy.deepcopy(g.get("defects-rules").inputs["spec"]["groups"])
    rule = groups[0]["rules"][0]
    rule["record"] = rule.pop("alert").lower()
    return groups
