"""Stacks written to slip past the IAM and resource-policy rules, kept as a growing regression
file: each entry changes the compliant :func:`graphs.iam_baseline` the way an adversarial stack
author would, and names the policies that must still catch it (and only those).

Each entry: (id, environment, change, policies that must fail). Tests: test_iam_rules.py.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .graphs import ACCOUNT, FOREIGN, KEY_ARN, Graph, policy_json, set_statements, statements_of, tags

WILDCARD = "mlstack-iam-no-wildcard-grants"
TRUST = "mlstack-iam-trust-policy-restricted"
KMS_POLICY = "mlstack-kms-key-restricted-and-rotated"
RESOURCE = "mlstack-resource-policy-not-public"
DEPUTY = "mlstack-service-principal-has-source-condition"
NOTEBOOK = "mlstack-notebook-locked-down"
KMS = "mlstack-storage-encrypted-with-kms"
AUDIT = "mlstack-audit-log-object-locked"
AUDIT_RECORDS = "arn:aws:s3:::churn-prod-audit-210987654321-eu-west-1/*"

Change = Callable[[Graph], Graph]


def grant(statement: dict[str, Any]) -> Change:
    """Add ``statement`` to the training role's inline policy."""

    def change(g: Graph) -> Graph:
        return set_statements(g, "training-role-policy", "policy", [*statements_of(g, "training-role-policy", "policy"), statement])

    return change


def raw_policy(name: str, prop: str, text: str) -> Change:
    """Replace a document with literal text (for shapes json.dumps would never write)."""

    def change(g: Graph) -> Graph:
        g.get(name).inputs[prop] = text
        return g

    return change


def trust_statement(statement: dict[str, Any]) -> Change:
    def change(g: Graph) -> Graph:
        g.get("training-role").inputs["assumeRolePolicy"] = policy_json(statement)
        return g

    return change


def key_statement(statement: dict[str, Any]) -> Change:
    def change(g: Graph) -> Graph:
        return set_statements(g, "monitor-key", "policy", [*statements_of(g, "monitor-key", "policy"), statement])

    return change


SAGEMAKER = {"Service": "sagemaker.amazonaws.com"}

HOSTILE: list[tuple[str, str, Change, set[str]]] = [
    # Identity grants dressed up.
    ("action-star-hidden-in-a-list", "prod", grant({"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": "arn:aws:s3:::x/*"}), {WILDCARD}),
    ("action-upper-case-iam-star", "dev", grant({"Effect": "Allow", "Action": "IAM:*", "Resource": "arn:aws:iam::210987654321:role/x"}), {WILDCARD}),
    ("service-part-wildcard", "dev", grant({"Effect": "Allow", "Action": "s?:Get*", "Resource": "*"}), {WILDCARD}),
    ("not-resource-makes-star", "dev", grant({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}), {WILDCARD}),
    ("not-action-allow", "dev", grant({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), {WILDCARD}),
    ("passrole-by-wildcard-action", "dev", grant({"Effect": "Allow", "Action": "iam:Pass*", "Resource": "*"}), {WILDCARD}),
    ("passrole-condition-wildcard", "prod", grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringLike": {"iam:PassedToService": "*"}}}), {WILDCARD}),
    ("passrole-condition-ifexists", "prod", grant({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::210987654321:role/*", "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}), {WILDCARD}),
    ("lower-case-element-names", "dev", raw_policy("training-role-policy", "policy", '{"statement": {"effect": "Allow", "action": "*", "resource": "*"}}'), {WILDCARD}),
    ("effect-misspelt-is-allow", "dev", grant({"Effect": "Denied", "Action": "*", "Resource": "*"}), {WILDCARD}),
    ("bom-before-json", "dev", raw_policy("training-role-policy", "policy", "\ufeff" + policy_json({"Effect": "Allow", "Action": "*", "Resource": "*"})), {WILDCARD}),
    ("duplicate-effect-key", "dev", raw_policy("training-role-policy", "policy", '{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}]}'), {WILDCARD}),
    ("policy-as-object-not-string", "dev", lambda g: g.set("training-role-policy", "policy", {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}), {WILDCARD}),
    ("admin-policy-by-path", "prod", lambda g: g.set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess-Amplify"), {WILDCARD}),
    ("full-access-renamed-case", "prod", lambda g: g.set("baseline-fn-logs", "policyArn", "arn:aws:iam::aws:policy/AmazonSageMakerFULLACCESS"), {WILDCARD}),
    # Trust policies that let anyone in.
    ("trust-principal-list-with-star", "prod", trust_statement({"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-not-principal", "prod", trust_statement({"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-star-limited-if-exists", "prod", trust_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}}), {TRUST}),
    ("trust-star-limited-by-negation", "prod", trust_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": FOREIGN}}}), {TRUST}),
    ("trust-star-limited-to-wildcard-account", "prod", trust_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringLike": {"aws:PrincipalAccount": "2109876543*"}}}), {TRUST}),
    ("trust-bare-foreign-account-id", "dev", trust_statement({"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-unique-id-principal", "dev", trust_statement({"Effect": "Allow", "Principal": {"AWS": "AROAEXAMPLEUNIQUEID01"}, "Action": "sts:AssumeRole"}), {TRUST}),
    ("trust-github-any-repo", "prod", trust_statement({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
                                                      "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}}), {TRUST}),  # fmt: skip
    ("trust-service-star", "dev", trust_statement({"Effect": "Allow", "Principal": {"Service": "*"}, "Action": "sts:AssumeRole"}), {TRUST}),
    # Confused deputies.
    ("trust-source-account-foreign", "prod", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": FOREIGN}}}), {DEPUTY}),
    ("trust-source-account-negated", "prod", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringNotEquals": {"aws:SourceAccount": FOREIGN}}}), {DEPUTY}),
    ("trust-source-account-wildcard", "dev", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringLike": {"aws:SourceAccount": "*"}}}), {DEPUTY}),
    ("trust-source-arn-any-account", "dev", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:*:*"}}}), {DEPUTY}),
    ("trust-condition-on-other-key", "dev", trust_statement({"Effect": "Allow", "Principal": SAGEMAKER, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}), {DEPUTY}),
    ("logs-context-any-account", "prod", key_statement({"Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
                                                       "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:*:log-group:*"}}}), {DEPUTY}),  # fmt: skip
    # Keys open to everyone in disguise.
    ("key-star-limited-by-encryption-context", "prod", key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                                                                     "Condition": {"StringEquals": {"kms:EncryptionContext:team": "churn"}}}), {KMS_POLICY}),  # fmt: skip
    ("key-root-of-foreign-account", "prod", key_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "kms:Decrypt", "Resource": "*"}), {KMS_POLICY}),
    # Resource policies made public or shared abroad.
    ("topic-owner-condition-foreign", "prod", lambda g: set_statements(g, "monitor-topic-policy", "policy", [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SNS:Publish", "Resource": "*", "Condition": {"StringEquals": {"AWS:SourceOwner": FOREIGN}}}]), {RESOURCE}),
    ("bucket-policy-statement-object", "dev", raw_policy("churn-xgb-training-artifacts-policy", "policy", json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::churn-artifacts/*"}})), {RESOURCE}),
    ("registry-shared-with-undeclared-account", "prod", lambda g: set_statements(g, "churn-xgb-cross-account", "resourcePolicy", [{"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{FOREIGN}:root"]}, "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]), {RESOURCE}),
    ("lambda-public-function-url", "dev", lambda g: g.set("baseline-fn-invoke", "principal", "*").set("baseline-fn-invoke", "action", "lambda:InvokeFunctionUrl").set("baseline-fn-invoke", "functionUrlAuthType", "NONE").drop("baseline-fn-invoke", "sourceArn"), {RESOURCE}),
    # Stores on AWS-managed keys.
    ("topic-on-aws-managed-key", "prod", lambda g: g.set("monitor-topic", "kmsMasterKeyId", "alias/aws/sns"), {KMS}),
    ("queue-on-aws-managed-key-arn", "dev", lambda g: g.set("monitor-dead-letters", "kmsMasterKeyId", "arn:aws:kms:eu-west-1:210987654321:alias/aws/sqs"), {KMS}),
    ("dynamodb-enabled-without-key", "dev", lambda g: g.drop("feature-store-index", "serverSideEncryption.kmsKeyArn"), {KMS}),
    # Notebooks.
    ("notebook-internet-lower-case", "prod", lambda g: g.set("feature-store-notebook", "directInternetAccess", "enabled"), {NOTEBOOK}),
    # A decision log that only looks append-only.
    ("audit-deny-sparing-an-admin", "prod", lambda g: set_statements(g, "audit-records-policy", "policy", [{"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}, "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": AUDIT_RECORDS}]), {AUDIT}),
    ("audit-deny-unless-a-tag", "prod", lambda g: set_statements(g, "audit-records-policy", "policy", [{"Effect": "Deny", "Principal": "*", "Action": "s3:Delete*", "Resource": AUDIT_RECORDS, "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "auditor"}}}]), {AUDIT}),
    ("audit-deny-on-another-bucket", "prod", lambda g: set_statements(g, "audit-records-policy", "policy", [{"Effect": "Deny", "Principal": "*", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::decoy/*"}]), {AUDIT}),
    ("audit-tag-on-an-unlocked-bucket-too", "prod", lambda g: g.set("churn-xgb-training-artifacts", "tags", {**g.get("churn-xgb-training-artifacts").inputs["tags"], "mlstack:audit-log": "decisions"}), {AUDIT}),
    ("studio-domain-default-network", "dev", lambda g: g.add("aws:sagemaker/domain:Domain", "feature-store-studio", {"domainName": "churn", "authMode": "IAM", "kmsKeyId": KEY_ARN, "tags": tags("dev")}, parent="feature-store") and g, {NOTEBOOK}),
]
