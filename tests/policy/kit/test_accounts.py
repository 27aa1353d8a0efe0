"""The accounts a stack's policies may name (mlstack/policy/kit/accounts.py), shared by the trust,
key, resource-policy and service-principal policies."""

from __future__ import annotations

from ..cases import DEPUTY, KMS_POLICY, RESOURCE, SAGEMAKER, TRUST, messages, violated, without_account_id
from ..graphs import ACCOUNT, FOREIGN, READER, iam_baseline
from ..hostile_stacks import key_statement, trust_statement


def test_principal_star_limited_to_declared_accounts_passes():
    limited = trust_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, READER]}}})
    assert limited(iam_baseline("prod")).check().violations == []
    key = key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    assert key(iam_baseline("prod")).check().violations == []


def test_prod_stack_naming_accounts_must_declare_its_own():
    g = iam_baseline("prod")
    report = g.check(stack_config=without_account_id(g))
    # The key policy's root, the SourceAccount conditions and the topic's owner condition name it.
    assert violated(report) == {KMS_POLICY, DEPUTY, RESOURCE}, messages(report)
    assert all("mlstack:accountId" in v.message for v in report.violations)
    # ...unless the environment does not require it: the one account named is taken as the stack's.
    relaxed = {p: {"requireAccountId": {"dev": False, "staging": True, "prod": False}} for p in (KMS_POLICY, DEPUTY, RESOURCE, TRUST)}
    assert g.check(relaxed, stack_config=without_account_id(g)).violations == []


def test_dev_stack_without_account_presumes_the_one_it_names_but_not_two():
    g = iam_baseline("dev")
    assert g.check(stack_config=without_account_id(g)).violations == []
    g = trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": FOREIGN}}})(g)
    report = g.check(stack_config=without_account_id(g))
    assert DEPUTY in violated(report)
    assert any("several accounts" in v.message for v in report.violations), messages(report)
