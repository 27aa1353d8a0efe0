"""Tests of waivers (mlstack/policy/kit/waivers.py) and ``mlstack-waivers-reported``
(mlstack/policy/rules/waivers_reported.py): the same decisions under CrossGuard and ``mlstack check``."""

from __future__ import annotations

import json

import pytest

import datetime as _dt

from mlstack.policy.rules import waivers_reported

from ..graphs import baseline
from ..test_pack import _crossguard, violations

TAGS = "mlstack-resource-has-lineage-tags"
REPORTED = waivers_reported.NAME
FUTURE, PAST = (_dt.date.today() + _dt.timedelta(days=90)).isoformat(), "2001-01-01"  # within the yearly review horizon


def waiver(g, name: str, *, policy: str = TAGS, expires: str = FUTURE, **extra) -> dict:
    return {"policy": policy, "resource": g.urn(name), "reason": "topic owned by the on-call team (RISK-1)", "owner": "sre@example.com", "expires": expires, **extra}


def untagged(env: str = "prod"):
    g = baseline(env)
    g.drop("monitor-topic", "tags.mlstack:team")
    return g


def with_waivers(g, *entries: dict) -> dict[str, str]:
    return {**g.stack_config(), "mlstack:waivers": json.dumps(list(entries))}


def both(g, monkeypatch, config: dict, stack_config: dict[str, str]):
    """The report of mlstack check, and asserting CrossGuard reports the same violations."""
    report = g.check(config, stack_config=stack_config)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(stack_config))
    # The analyzer's diagnostics say "" where mlstack check says None: a violation of the stack.
    assert {(p, u or None, l, m) for p, u, l, m in _crossguard(g, config)} == violations(report)
    return report


def test_a_waived_violation_does_not_count_but_is_listed_under_both_engines(monkeypatch):
    g = untagged()
    assert not g.check({}).passed
    report = both(g, monkeypatch, {}, with_waivers(g, waiver(g, "monitor-topic")))
    assert report.passed
    assert [(v.policy, v.urn, v.waiver.status) for v in report.waived] == [(TAGS, g.urn("monitor-topic"), "applied")]
    listed = [v for v in report.violations if v.policy == REPORTED]
    assert len(listed) == 1 and listed[0].level == "advisory" and listed[0].urn == g.urn("monitor-topic")
    assert "RISK-1" in listed[0].message and FUTURE in listed[0].message and "sre@example.com" in listed[0].message


def test_an_expired_waiver_stops_applying_and_is_reported(monkeypatch):
    g = untagged()
    report = both(g, monkeypatch, {}, with_waivers(g, waiver(g, "monitor-topic", expires=PAST)))
    assert not report.passed and not report.waived
    counted = [v for v in report.mandatory if v.policy == TAGS]
    assert counted and f"expired on {PAST}" in counted[0].message and counted[0].waiver.status == "expired"
    assert any(v.policy == REPORTED and "counts although a waiver names it" in v.message for v in report.violations)


def test_the_pack_config_can_forbid_waivers_of_a_policy_in_prod(monkeypatch):
    stack_config_of = lambda g: with_waivers(g, waiver(g, "monitor-topic"))  # noqa: E731
    config = {TAGS: {"waiversForbiddenIn": ["prod"]}}
    prod = untagged("prod")
    report = both(prod, monkeypatch, config, stack_config_of(prod))
    assert not report.passed and "forbids waivers" in report.mandatory[0].message
    dev = untagged("dev")
    assert both(dev, monkeypatch, config, stack_config_of(dev)).passed


def test_a_waiver_in_the_pack_config_applies_to_its_policy(monkeypatch):
    g = untagged()
    entry = {k: v for k, v in waiver(g, "monitor-topic").items() if k != "policy"}
    report = both(g, monkeypatch, {TAGS: {"waivers": [entry]}}, g.stack_config())
    assert report.passed and report.waived[0].waiver.waiver.source == "pack config"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda g, w: {**w, "resource": g.urn("monitor-key")}, id="another-resource"),
        pytest.param(lambda g, w: {**w, "policy": "mlstack-storage-encrypted-with-kms"}, id="another-policy"),
        pytest.param(lambda g, w: {k: v for k, v in w.items() if k != "reason"}, id="no-reason"),
        pytest.param(lambda g, w: {**w, "reason": "   too short"[:5]}, id="short-reason"),
        pytest.param(lambda g, w: {**w, "expires": "someday"}, id="bad-date"),
        pytest.param(lambda g, w: {**w, "resource": "*"}, id="wildcard"),
        pytest.param(lambda g, w: {**w, "resource": w["resource"] + " "}, id="urn-with-trailing-space"),
    ],
)
def test_a_waiver_that_does_not_name_the_violation_exactly_waives_nothing(monkeypatch, change):
    g = untagged()
    report = both(g, monkeypatch, {}, with_waivers(g, change(g, waiver(g, "monitor-topic"))))
    assert not report.passed and not report.waived


def test_stale_and_self_waivers_are_listed_and_the_list_cannot_be_waived(monkeypatch):
    g = baseline("prod")
    stale = waiver(g, "monitor-topic")
    unknown = {**waiver(g, "monitor-topic"), "policy": "mlstack-no-such-policy"}
    hide = {**waiver(g, "monitor-topic"), "policy": REPORTED, "resource": "stack"}
    report = both(g, monkeypatch, {}, with_waivers(g, stale, unknown, hide))
    messages = [v.message for v in report.violations if v.policy == REPORTED]
    assert any("mlstack:waivers[0]" in m and "matched no violation" in m for m in messages)
    assert any("mlstack:waivers[1]" in m and "not a policy of this pack" in m for m in messages)
    assert any("mlstack:waivers[2]" in m and "cannot be waived" in m for m in messages)


@pytest.mark.parametrize(
    "entry, where",
    [
        ({"resource": "monitor-topic", "reason": "long enough reason", "owner": "me", "expires": FUTURE}, "waivers[0].resource"),
        ({"resource": "stack", "reason": "long enough reason", "owner": "me", "expires": "someday"}, "waivers[0].expires"),
        ({"resource": "stack", "reason": "long enough reason", "owner": "me", "expires": FUTURE, "policy": TAGS}, "waivers[0].policy"),
        ({"resource": "stack", "owner": "me", "expires": FUTURE}, "waivers[0]"),
    ],
)
def test_a_malformed_waiver_in_the_pack_config_is_refused_naming_its_path(entry, where):
    from mlstack.errors import ConfigError
    from mlstack.policy.kit.config import reconcile
    from mlstack.policy.pack import POLICIES

    with pytest.raises(ConfigError) as info:
        reconcile(POLICIES, {TAGS: {"waivers": [entry]}})
    assert any(f"{TAGS}.{where}" in p.render() for p in info.value.problems), [p.render() for p in info.value.problems]
    with pytest.raises(ConfigError):
        reconcile(POLICIES, {TAGS: {"waiversForbiddenIn": ["production"]}})
