"""Tests of ``mlstack-service-principal-has-source-condition``
(mlstack/policy/rules/service_principal_has_source_condition.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import json

import pytest

from ..cases import DEPUTY, SAGEMAKER, Case, assert_fails_exactly, drop_condition, violated
from ..graphs import iam_baseline, policy_json
from ..hostile_stacks import trust_statement


IAM_CASES: list[Case] = [
    ("sagemaker-trust-without-source-condition", "prod", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole"}), {DEPUTY}),
    ("events-trust-without-source-condition", "dev", lambda g: g.set("monitor-retrain-role", "assumeRolePolicy", policy_json({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"})), {DEPUTY}),
    ("cloudwatch-key-grant-without-condition", "prod", drop_condition("monitor-key", "policy", "CloudWatchAlarmsPublishToTopic"), {DEPUTY}),
    ("logs-key-grant-without-condition", "staging", drop_condition("monitor-key", "policy", "CloudWatchLogsOfThisAccount"), {DEPUTY}),
    ("topic-grant-to-service-without-condition", "dev", drop_condition("monitor-topic-policy", "policy", "AlarmsPublish"), {DEPUTY}),
    ("lambda-permission-service-without-source", "prod", lambda g: g.drop("baseline-fn-invoke", "sourceArn"), {DEPUTY}),
]


@pytest.mark.parametrize("case, env, change, expected", IAM_CASES, ids=[c[0] for c in IAM_CASES])
def test_one_change_of_the_iam_baseline_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(iam_baseline(env)), expected)


def test_lambda_trust_is_exempt_by_default_and_the_exemption_is_configurable():
    g = iam_baseline("prod")
    assert g.check().violations == []
    report = g.check({DEPUTY: {"exemptTrustServices": []}})
    assert violated(report) == {DEPUTY}
    assert "'lambda.amazonaws.com'" in report.violations[0].message and "baseline-fn-role" in report.violations[0].urn


def test_monitor_key_policy_of_mlstack_ties_cloudwatch_to_the_account():
    """mlstack's own Monitor component: its key grant to CloudWatch alarms names the account."""
    from mlstack.engine import plan_stack

    from conftest import ROOT

    plan = plan_stack(ROOT / "stacks" / "Pulumi.churn-dev.yaml")
    keys = [r for r in plan.resources if r.type == "aws:kms/key:Key" and "Monitor" in r.urn]
    assert keys, "the churn-dev stack has a monitor key"
    statements = {s["Sid"]: s for s in json.loads(keys[0].inputs["policy"])["Statement"]}
    grant_ = statements["CloudWatchAlarmsPublishToTopic"]
    assert grant_["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert grant_["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"
