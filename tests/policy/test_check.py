"""``mlstack check`` over a plan (mlstack/policy/check.py): the compliant baselines pass every
policy in every environment, and the reconciled levels decide what is run and what fails."""

from __future__ import annotations

import pytest

from .cases import MONITORING, messages
from .graphs import baseline, iam_baseline


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_baseline_passes_every_policy_in_every_environment(env):
    report = baseline(env).check()
    assert report.violations == []
    assert report.passed
    assert report.resources == len(baseline(env).records) > 20


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_iam_baseline_passes_every_policy(env):
    g = iam_baseline(env)
    report = g.check()
    assert report.violations == [], messages(report)
    kinds = {r.type for r in g.records}
    assert {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:sns/topicPolicy:TopicPolicy", "aws:lambda/permission:Permission"} <= kinds


def test_disabled_policy_is_not_run_and_advisory_does_not_fail():
    g = baseline("prod").remove("monitor-drift-tenure")
    assert not g.check().passed
    assert g.check({MONITORING: "disabled"}).violations == []
    report = g.check({MONITORING: "advisory"})
    assert report.passed and [v.level for v in report.violations] == ["advisory"]
