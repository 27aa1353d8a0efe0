"""Tests of ``mlstack-stack-environment-matches-account``
(mlstack/policy/rules/stack_environment_matches_account.py).
"""

from __future__ import annotations

import json

import pytest

from ..cases import ACCOUNTS, OTHER, bind, violated, with_placeholder_account
from ..graphs import ACCOUNT, baseline


def test_nothing_bound_nothing_judged():
    assert baseline("dev").check().violations == []


def test_a_stack_in_a_prod_account_that_declares_dev_fails():
    report = baseline("dev").check(bind(prod=[ACCOUNT], dev=[OTHER]))
    assert violated(report) == {ACCOUNTS}
    (violation,) = report.violations
    assert f"account {ACCOUNT}" in violation.message and "binds to prod" in violation.message and "'dev'" in violation.message
    assert baseline("prod").check(bind(prod=[ACCOUNT], dev=[OTHER])).violations == []


def test_a_prod_stack_in_an_account_not_bound_to_prod_fails():
    report = baseline("prod").check(bind(prod=[OTHER]))
    assert violated(report) == {ACCOUNTS} and "not among the accounts" in report.violations[0].message


def test_an_account_bound_to_no_environment_passes_where_the_declared_one_is_unbound():
    assert baseline("staging").check(bind(prod=[OTHER])).violations == []


def test_the_declared_account_and_allowed_accounts_count():
    g = baseline("dev")
    config = {**g.stack_config(), "aws:allowedAccountIds": json.dumps([OTHER])}
    assert violated(g.check(bind(prod=[OTHER], dev=[ACCOUNT]), stack_config=config)) == {ACCOUNTS}
    config = {**g.stack_config(), "mlstack:accountId": OTHER}
    assert violated(g.check(bind(prod=[OTHER], dev=[ACCOUNT]), stack_config=config)) == {ACCOUNTS}


def test_an_unknown_account_fails_closed_when_accounts_are_bound():
    g = with_placeholder_account(baseline("dev"))
    assert g.check().violations == []
    report = g.check(bind(prod=[ACCOUNT]))
    assert violated(report) == {ACCOUNTS} and "nothing says which AWS account" in report.violations[0].message
    config = {**g.stack_config(), "mlstack:accountId": OTHER}
    assert g.check(bind(prod=[ACCOUNT]), stack_config=config).violations == []


def test_the_placeholder_counts_when_the_stack_declares_it():
    g = with_placeholder_account(baseline("dev"))
    config = {**g.stack_config(), "mlstack:accountId": "123456789012"}
    assert violated(g.check(bind(prod=["123456789012"]), stack_config=config)) == {ACCOUNTS}


def test_environment_accounts_are_validated_as_account_ids():
    from mlstack.errors import ConfigError

    with pytest.raises(ConfigError, match="environmentAccounts"):
        baseline("dev").check(bind(prod=["2109876543"]))
