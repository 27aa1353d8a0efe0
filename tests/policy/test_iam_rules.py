"""The IAM and resource-policy rules against a compliant baseline and one-field violations of it.

The baseline (graphs.iam_baseline) adds to the policy baseline what mlstack's stacks write:
SageMaker, EventBridge and Lambda roles, a scoped role policy, key policies, a bucket policy, a
topic policy, a model package group policy shared with a declared reader, stores with customer
keys and a locked-down notebook. Each case changes one thing and names the policies that must
then fail, and only those. Stacks written to slip past the rules: hostile_stacks.py.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from mlstack.policy import POLICIES

from .graphs import ACCOUNT, FOREIGN, KEY_ARN, READER, Graph, iam_baseline, policy_json, set_statements, statements_of, tags
from .hostile_stacks import DEPUTY, HOSTILE, KMS, KMS_POLICY, NOTEBOOK, RESOURCE, TRUST, WILDCARD, grant, key_statement, trust_statement
from .test_pack import _crossguard, violations

NEW = {WILDCARD, TRUST, KMS_POLICY, RESOURCE, DEPUTY, NOTEBOOK}
SAGEMAKER = {"Service": "sagemaker.amazonaws.com"}


def violated(report) -> set[str]:
    return {v.policy for v in report.violations}


def messages(report) -> str:
    return "\n".join(f"{v.policy}: {v.message}" for v in report.violations)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_iam_baseline_passes_every_policy(env):
    g = iam_baseline(env)
    report = g.check()
    assert report.violations == [], messages(report)
    assert NEW <= {p.name for p in POLICIES}
    kinds = {r.type for r in g.records}
    assert {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:sns/topicPolicy:TopicPolicy", "aws:lambda/permission:Permission"} <= kinds


def _drop_condition(name: str, prop: str, sid: str) -> Callable[[Graph], Graph]:
    def change(g: Graph) -> Graph:
        statements = statements_of(g, name, prop)
        for s in statements:
            if s.get("Sid") == sid:
                del s["Condition"]
        return set_statements(g, name, prop, statements)

    return change


def _admin_policy_resource(g: Graph) -> Graph:
    g.add("aws:iam/policy:Policy", "ops-admin", {"policy": policy_json({"Effect": "Allow", "Action": "*", "Resource": "*"}), "tags": tags(g.env)}, parent="monitor")
    return g


def _role_inline(g: Graph) -> Graph:
    policy = policy_json({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})
    return g.set("training-role", "inlinePolicies", [{"name": "everything", "policy": policy}])


OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"

# (id, environment, change, policies that must fail)
CASES: list[tuple[str, str, Callable[[Graph], Graph], set[str]]] = [
    # admin and wildcard grants
    ("action-star-on-star", "dev", grant({"Effect": "Allow", "Action": "*", "Resource": "*"}), {WILDCARD}),
    ("service-star-on-star", "prod", grant({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), {WILDCARD}),
    ("iam-star-on-one-role", "staging", grant({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::210987654321:role/churn-training"}), {WILDCARD}),
    ("passrole-on-star-without-condition", "prod", grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}), {WILDCARD}),
    ("put-role-policy-on-every-role", "dev", grant({"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::210987654321:role/*"}), {WILDCARD}),
    ("administrator-access-attached", "prod", lambda g: g.set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"), {WILDCARD}),
    ("full-access-in-managed-policy-arns", "dev", lambda g: g.set("training-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]), {WILDCARD}),
    ("role-inline-policy-service-star", "dev", _role_inline, {WILDCARD}),
    ("customer-policy-admin", "prod", _admin_policy_resource, {WILDCARD}),
    # trust policies
    ("trust-anyone", "dev", trust_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-any-aws-principal", "prod", trust_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-foreign-account", "prod", trust_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-oidc-without-subject", "prod", trust_statement({"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
                                                           "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}), {TRUST}),  # fmt: skip
    # KMS key policies and rotation
    ("key-policy-open-to-everyone", "prod", key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt"], "Resource": "*"}), {KMS_POLICY}),
    ("key-policy-names-foreign-role", "dev", key_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:role/x"}, "Action": "kms:Decrypt", "Resource": "*"}), {KMS_POLICY}),
    ("key-without-rotation", "staging", lambda g: g.drop("scoring-key", "enableKeyRotation"), {KMS_POLICY}),
    ("key-rotation-off", "dev", lambda g: g.set("monitor-key", "enableKeyRotation", False), {KMS_POLICY}),
    # resource policies
    ("bucket-policy-public-read", "prod", lambda g: set_statements(g, "churn-xgb-training-artifacts-policy", "policy", [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::churn-artifacts/*"}]), {RESOURCE}),
    ("topic-policy-public-publish", "dev", lambda g: _drop_condition("monitor-topic-policy", "policy", "OwnerAccount")(g), {RESOURCE}),
    ("queue-policy-public", "dev", lambda g: g.set("monitor-dead-letters", "policy", policy_json({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"})), {RESOURCE}),
    ("registry-shared-with-foreign-account", "prod", lambda g: set_statements(g, "churn-xgb-cross-account", "resourcePolicy", [{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]), {RESOURCE}),
    ("lambda-permission-anyone", "prod", lambda g: g.set("baseline-fn-invoke", "principal", "*").drop("baseline-fn-invoke", "sourceArn"), {RESOURCE}),
    # confused deputy
    ("sagemaker-trust-without-source-condition", "prod", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole"}), {DEPUTY}),
    ("events-trust-without-source-condition", "dev", lambda g: g.set("monitor-retrain-role", "assumeRolePolicy", policy_json({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"})), {DEPUTY}),
    ("cloudwatch-key-grant-without-condition", "prod", _drop_condition("monitor-key", "policy", "CloudWatchAlarmsPublishToTopic"), {DEPUTY}),
    ("logs-key-grant-without-condition", "staging", _drop_condition("monitor-key", "policy", "CloudWatchLogsOfThisAccount"), {DEPUTY}),
    ("topic-grant-to-service-without-condition", "dev", _drop_condition("monitor-topic-policy", "policy", "AlarmsPublish"), {DEPUTY}),
    ("lambda-permission-service-without-source", "prod", lambda g: g.drop("baseline-fn-invoke", "sourceArn"), {DEPUTY}),
    # notebooks
    ("notebook-internet-by-default", "dev", lambda g: g.drop("feature-store-notebook", "directInternetAccess"), {NOTEBOOK}),
    ("notebook-root-by-default", "prod", lambda g: g.drop("feature-store-notebook", "rootAccess"), {NOTEBOOK}),
    ("notebook-without-subnet", "staging", lambda g: g.drop("feature-store-notebook", "subnetId"), {NOTEBOOK}),
    # stores without customer keys
    ("dynamodb-aws-owned-key", "prod", lambda g: g.set("feature-store-index", "serverSideEncryption", {"enabled": False}), {KMS}),
    ("sqs-managed-encryption", "dev", lambda g: g.drop("monitor-dead-letters", "kmsMasterKeyId").set("monitor-dead-letters", "sqsManagedSseEnabled", True), {KMS}),
    ("log-group-without-key", "staging", lambda g: g.drop("monitor-logs", "kmsKeyId"), {KMS}),
    ("notebook-volume-without-key", "dev", lambda g: g.drop("feature-store-notebook", "kmsKeyId"), {KMS}),
    ("efs-unencrypted", "prod", lambda g: g.add("aws:efs/fileSystem:FileSystem", "feature-store-efs", {"tags": tags(g.env)}, parent="feature-store") and g, {KMS}),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_change_fails_exactly_the_policy_that_checks_it(case, env, change, expected):
    report = change(iam_baseline(env)).check()
    assert violated(report) == expected, messages(report)
    for violation in report.violations:
        assert violation.urn and violation.urn.startswith(f"urn:pulumi:churn-{env}::"), violation
        assert "must" in violation.message, "a message says what should be true"


@pytest.mark.parametrize("case, env, change, expected", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_stack_is_caught(case, env, change, expected):
    report = change(iam_baseline(env)).check()
    assert violated(report) == expected, messages(report)


def test_violation_names_the_resource_statement_and_fix():
    report = trust_statement({"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "sts:AssumeRole"})(iam_baseline("prod")).check()
    (violation,) = report.violations
    assert violation.urn.endswith("aws:iam/role:Role::training-role")
    assert "'Anyone'" in violation.message and FOREIGN in violation.message
    assert f"the stack's own account {ACCOUNT} (mlstack:accountId)" in violation.message and READER in violation.message
    assert "trustedAccounts" in violation.message


def test_declared_reader_and_trusted_accounts_may_be_named():
    reader = trust_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{READER}:role/deployer"}, "Action": "sts:AssumeRole"})
    assert reader(iam_baseline("prod")).check().violations == []
    foreign = trust_statement({"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole"})(iam_baseline("prod"))
    assert violated(foreign.check()) == {TRUST}
    assert foreign.check({TRUST: {"trustedAccounts": [FOREIGN]}}).violations == []


def test_principal_star_limited_to_declared_accounts_passes():
    limited = trust_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, READER]}}})
    assert limited(iam_baseline("prod")).check().violations == []
    key = key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    assert key(iam_baseline("prod")).check().violations == []


def test_passrole_to_named_service_and_exact_roles_pass():
    scoped = grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})
    assert scoped(iam_baseline("prod")).check().violations == []
    reading = grant({"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"})
    assert reading(iam_baseline("prod")).check().violations == []


def test_allowed_managed_policies_config_admits_one_arn():
    g = iam_baseline("prod").set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AWSLambda_FullAccess")
    assert violated(g.check()) == {WILDCARD}
    assert g.check({WILDCARD: {"allowedManagedPolicies": ["arn:aws:iam::aws:policy/AWSLambda_*"]}}).violations == []


def test_oidc_trust_pinned_to_a_repository_passes():
    pinned = trust_statement({"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
                              "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example/churn:ref:refs/heads/main"}}})  # fmt: skip
    assert pinned(iam_baseline("prod")).check().violations == []


def test_lambda_trust_is_exempt_by_default_and_the_exemption_is_configurable():
    g = iam_baseline("prod")
    assert g.check().violations == []
    report = g.check({DEPUTY: {"exemptTrustServices": []}})
    assert violated(report) == {DEPUTY}
    assert "'lambda.amazonaws.com'" in report.violations[0].message and "baseline-fn-role" in report.violations[0].urn


def test_asymmetric_and_custom_store_keys_need_no_rotation():
    g = iam_baseline("prod").drop("scoring-key", "enableKeyRotation")
    assert violated(g.check()) == {KMS_POLICY}
    assert g.set("scoring-key", "customerMasterKeySpec", "RSA_2048").set("scoring-key", "keyUsage", "SIGN_VERIFY").check().violations == []


def _without_account(g: Graph) -> dict[str, str]:
    config = g.stack_config()
    del config["mlstack:accountId"]
    return config


def test_prod_stack_naming_accounts_must_declare_its_own():
    g = iam_baseline("prod")
    report = g.check(stack_config=_without_account(g))
    # The key policy's root, the SourceAccount conditions and the topic's owner condition name it.
    assert violated(report) == {KMS_POLICY, DEPUTY, RESOURCE}, messages(report)
    assert all("mlstack:accountId" in v.message for v in report.violations)
    # ...unless the environment does not require it: the one account named is taken as the stack's.
    relaxed = {p: {"requireAccountId": {"dev": False, "staging": True, "prod": False}} for p in (KMS_POLICY, DEPUTY, RESOURCE, TRUST)}
    assert g.check(relaxed, stack_config=_without_account(g)).violations == []


def test_dev_stack_without_account_presumes_the_one_it_names_but_not_two():
    g = iam_baseline("dev")
    assert g.check(stack_config=_without_account(g)).violations == []
    g = trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": FOREIGN}}})(g)
    report = g.check(stack_config=_without_account(g))
    assert DEPUTY in violated(report)
    assert any("several accounts" in v.message for v in report.violations), messages(report)


def test_store_check_reports_every_store_type_it_lists():
    from mlstack.policy.kit.stores import STORES

    g = iam_baseline("dev")
    bare = {f"bare-store-{i}": type_ for i, type_ in enumerate(STORES)}
    for name, type_ in bare.items():
        g.add(type_, name, {"tags": tags("dev")}, parent="monitor")
    flagged = {v.resource_name: v.resource_type for v in g.check().violations if v.policy == KMS}
    assert flagged == bare


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


def test_crossguard_reads_the_account_from_pulumi_config_and_reports_the_same(monkeypatch):
    """Under `pulumi preview --policy-pack`, the stack config reaches the pack as PULUMI_CONFIG."""
    g = iam_baseline("prod")
    chosen = ("service-star-on-star", "trust-foreign-account", "key-policy-open-to-everyone", "bucket-policy-public-read",
              "events-trust-without-source-condition", "notebook-root-by-default")  # fmt: skip
    for case in CASES:
        if case[0] in chosen:
            case[2](g)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(g.stack_config()))
    ours = violations(g.check({}))
    assert {v[0] for v in ours} == NEW
    assert _crossguard(g, {}) == ours


def _dict_document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_documents_given_as_objects_are_read_like_json_strings():
    g = iam_baseline("prod")
    for name, prop in (("training-role", "assumeRolePolicy"), ("monitor-key", "policy"), ("churn-xgb-cross-account", "resourcePolicy")):
        g.get(name).inputs[prop] = _dict_document(g.get(name).inputs[prop])
    assert g.check().violations == []
    g.get("monitor-key").inputs["policy"]["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    assert violated(g.check()) == {KMS_POLICY}
