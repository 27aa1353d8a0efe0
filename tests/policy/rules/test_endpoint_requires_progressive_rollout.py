"""Tests of ``mlstack-endpoint-requires-progressive-rollout``
(mlstack/policy/rules/endpoint_requires_progressive_rollout.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import (
    LATENCY_CEILING_US,
    ROLLOUT,
    ROUTING,
    Case,
    Change,
    assert_fails_exactly,
    assert_passes,
    change_of,
    violated,
)
from ..graphs import KEY_ARN, baseline


CASES: list[Case] = [
    ("all-at-once-in-staging", "staging", lambda g: g.set("scoring-endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type", "ALL_AT_ONCE"), {ROLLOUT}),
    ("rolling-update-in-prod", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig", {"rollingUpdatePolicy": {"maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1}}, "autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-scoring-5xx-error-rate"}]}}), {ROLLOUT}),
    ("canary-without-size", "prod", lambda g: g.drop("scoring-endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.canarySize"), {ROLLOUT}),
    ("no-rollback-alarms", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", []), {ROLLOUT}),
    ("rollback-alarms-not-in-stack", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "someone-elses-alarm"}]).remove("scoring-errors").remove("scoring-latency"), {ROLLOUT}),
    ("kserve-without-canary-in-prod", "prod", lambda g: g.drop("defects-isvc", "spec.predictor.canaryTrafficPercent"), {ROLLOUT}),
    ("kserve-canary-without-revisions", "prod", lambda g: g.set("defects-isvc", ("metadata", "annotations", "serving.kserve.io/deploymentMode"), "RawDeployment"), {ROLLOUT}),
    ("bake-zero-in-prod", "prod", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 0), {ROLLOUT}),
    ("bake-unset-in-prod", "prod", lambda g: g.drop("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds"), {ROLLOUT}),
    ("bake-below-minimum-in-staging", "staging", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 119), {ROLLOUT}),
    ("rollback-error-rate-at-100-percent", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 1), {ROLLOUT}),
    ("rollback-latency-above-invocation-timeout", "prod", lambda g: g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", LATENCY_CEILING_US), {ROLLOUT}),
    ("rollback-alarm-slower-than-bake", "prod", lambda g: g.set("scoring-errors", "period", 600).set("scoring-errors", "datapointsToAlarm", 2), {ROLLOUT}),
    ("kserve-without-canary-in-staging", "staging", lambda g: g.drop("defects-isvc", "spec.predictor.canaryTrafficPercent"), {ROLLOUT}),
    # A promotion label cannot skip the canary of a version that was not the promoted one.
    ("kserve-promoted-label-on-another-version", "prod", lambda g: _promote(g, promoted="6"), {ROLLOUT}),
    ("kserve-promoted-label-without-a-version", "prod", lambda g: _promote(g, promoted=None), {ROLLOUT}),
]


def _promote(g, *, promoted):
    """The InferenceService as mlstack writes a promoted canary (no canaryTrafficPercent), promoted-version ``promoted``."""
    g = g.drop("defects-isvc", "spec.predictor.canaryTrafficPercent").set("defects-isvc", ("metadata", "labels", "mlstack.dev/rollout-step"), "promoted")
    if promoted is not None:
        g = g.set("defects-isvc", ("metadata", "labels", "mlstack.dev/promoted-version"), promoted)
    return g


# The same change where the policy does not apply by default: must pass.
NOT_IN = [
    ("all-at-once-in-staging", "dev"),
    ("kserve-without-canary-in-prod", "dev"),
    ("bake-zero-in-prod", "dev"),
    ("kserve-without-canary-in-staging", "dev"),
]


# Just inside the limit: must pass.
EDGES: list[tuple[str, str, Change]] = [
    ("bake-at-prod-minimum", "prod", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 300)),
    ("rollback-error-rate-below-100-percent", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 0.99)),
    ("rollback-latency-below-timeout", "prod", lambda g: g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", LATENCY_CEILING_US - 1)),
    ("async-latency-above-realtime-timeout", "prod", lambda g: g.set("scoring-config", "asyncInferenceConfig", {"outputConfig": {"s3OutputPath": "s3://x/out", "kmsKeyId": KEY_ARN}}).set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", 600e6)),
    ("rollback-window-equals-bake", "prod", lambda g: g.set("scoring-errors", "period", 300).set("scoring-errors", "datapointsToAlarm", 3)),
    ("kserve-canary-promoted", "prod", lambda g: _promote(g, promoted="7")),
    ("kserve-canary-rolled-back", "prod", lambda g: g.set("defects-isvc", "spec.predictor.canaryTrafficPercent", 0)),
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


def test_rollback_alarms_computed_at_deployment_count_through_dependencies():
    g = baseline("prod").drop("scoring-errors", "name").drop("scoring-latency", "name")  # autonamed by the provider
    g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "scoring-errors-9f86d08"}])
    assert g.check().violations == []  # autonamed: the endpoint depends on the stack's alarm
    g.get("scoring-endpoint").property_dependencies = {}
    g.get("scoring-endpoint").dependencies = []
    assert violated(g.check()) == {ROLLOUT}


def test_the_bake_message_names_the_minimum_and_the_setting():
    report = baseline("prod").set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 0).check()
    (violation,) = report.violations
    assert "at least 300 s in prod" in violation.message and "waits 0 s" in violation.message
    assert "minWaitIntervalSeconds.prod" in violation.message


def test_the_minimum_bake_is_set_per_environment():
    g = baseline("prod").set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 200)  # the alarms need 180 s
    assert violated(g.check()) == {ROLLOUT}
    assert g.check({ROLLOUT: {"minWaitIntervalSeconds": {"dev": 0, "staging": 0, "prod": 200}}}).violations == []
    stricter = g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 900)
    assert violated(stricter.check({ROLLOUT: {"minWaitIntervalSeconds": {"dev": 0, "staging": 0, "prod": 1200}}})) == {ROLLOUT}


def test_a_rollback_alarm_that_cannot_fire_is_named_with_the_reason():
    g = baseline("prod").set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 1)
    (violation,) = g.check().violations
    assert violation.urn.endswith("::scoring-errors")
    assert "'churn-scoring-5xx-error-rate'" in violation.message and "can never be" in violation.message


def test_autonamed_rollback_alarms_are_judged_through_dependencies():
    g = baseline("prod").drop("scoring-errors", "name").drop("scoring-latency", "name")
    g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "scoring-errors-9f86d08"}])
    assert g.check().violations == []
    g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", 1e9)
    assert violated(g.check()) == {ROLLOUT}
