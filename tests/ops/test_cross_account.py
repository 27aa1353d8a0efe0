"""Promotion across accounts, on moto with two accounts.

moto keeps one backend per account: requests signed with the suite's fake credentials run in
its default account (123456789012, the *prod* account here); credentials from
``sts:AssumeRole`` of a role ARN in another account run in that account (moto's
``moto/sts/models.py``: "the ARN can point to another account, providing an opportunity to
switch accounts"). The training registry lives in the *dev* account 111111111111.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import REGION, Registry

PROD = "123456789012"
DEV = "111111111111"
GROUP = "churn-churn-xgb"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{DEV}:model-package-group/{GROUP}"
ROLE = f"arn:aws:iam::{DEV}:role/mlstack-promoter"
KEY = f"arn:aws:kms:{REGION}:{DEV}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GATES = [{"metric": "auc", "op": ">=", "threshold": 0.8}]


@dataclass
class AccountSession:
    """aws_session's clients, signed with another account's (assumed) credentials."""

    base: Any
    credentials: dict[str, str]

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.base.client(
            service,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
            **kwargs,
        )


@pytest.fixture
def dev(aws_session) -> Registry:
    """A registry builder in the dev account (through an assumed role there)."""
    credentials = aws_session.client("sts").assume_role(RoleArn=f"arn:aws:iam::{DEV}:role/setup", RoleSessionName="setup")["Credentials"]
    session = AccountSession(aws_session, credentials)
    assert session.client("sts").get_caller_identity()["Account"] == DEV
    return Registry(session)


@pytest.fixture
def prod(aws_session) -> Registry:
    assert aws_session.client("sts").get_caller_identity()["Account"] == PROD
    return Registry(aws_session)


@pytest.fixture(autouse=True)
def prod_log(aws_session):
    """The prod stack's decision log (on by default in prod, 7 years), in the prod account:
    promote and verify write their records there, with the stack's own credentials."""
    from audit.conftest import deploy_log

    return deploy_log(aws_session, "churn-prod", years=7)


def _records(log) -> list[dict]:
    import json

    listed = log.s3.list_objects_v2(Bucket=log.bucket, Prefix="log/").get("Contents", [])
    return [json.loads(log.s3.get_object(Bucket=log.bucket, Key=o["Key"])["Body"].read()) for o in listed]


@pytest.fixture
def prod_stack(write_stack):
    def write(**source: Any):
        model = {"name": "churn-xgb", "gates": GATES, "source": {"registry": GROUP_ARN, "artifactsKeyArn": KEY, "roleArn": ROLE, **source}}
        model["source"] = {k: v for k, v in model["source"].items() if v is not None}
        return write_stack({"aws:region": REGION, "mlstack:accountId": PROD, "mlstack:environment": "prod", "mlstack:models": [model]}, stack="churn-prod")

    return write


def test_promote_approves_in_the_source_account_through_its_role(aws, cli, dev, prod, prod_stack, prod_log):
    dev.group(GROUP)
    dev.version(GROUP, metrics={"auc": 0.85}, status="Approved")
    candidate = dev.version(GROUP, metrics={"auc": 0.9})
    prod.group(GROUP)  # a same-named group in prod must stay untouched
    decoy = prod.version(GROUP, metadata={"mlstack:metric:auc": "0.9"})

    code, out, err = cli("promote", str(prod_stack()), "--model", "churn-xgb")

    assert code == 0, (out, err)
    assert "APPROVED churn-churn-xgb v2" in out and f"registry {GROUP_ARN} (another account), reached through {ROLE}" in out
    assert dev.describe(candidate)["ModelApprovalStatus"] == "Approved"
    assert prod.describe(decoy)["ModelApprovalStatus"] == "PendingManualApproval"
    # The decision is recorded in the prod stack's own log, not in the registry's account.
    [record] = _records(prod_log)
    assert record["kind"] == "promote" and record["body"]["decision"] == "Approved"
    assert f":{DEV}:model-package/" in record["body"]["candidate"]["arn"]
    assert f":{PROD}:" in record["who"]  # signed for the stack's account, not as the assumed role
    code, out, err = cli("audit", "verify", str(prod_stack()))
    assert code == 0, (out, err)


def test_audit_verify_witnesses_decisions_in_the_source_accounts_registry(aws, cli, dev, prod, prod_stack, prod_log):
    """The registry witness of `audit verify` reads the registry promote decided in (the source
    account's, through source.roleArn), not a same-named group of the stack's own account: a
    decision made there without its record is reported."""
    dev.group(GROUP)
    dev.version(GROUP, metrics={"auc": 0.85}, status="Approved")
    dev.version(GROUP, metrics={"auc": 0.9})
    code, out, err = cli("promote", str(prod_stack()), "--model", "churn-xgb")
    assert code == 0, (out, err)
    approved = next(p for p in dev.sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] if p["ModelPackageVersion"] == 2)
    described = dev.sagemaker.describe_model_package(ModelPackageName=approved["ModelPackageArn"])
    # A third version approved in the dev registry with promote's words, but no record in the log
    # (the log lost its tail, or the decision bypassed it).
    unlogged = dev.version(GROUP, metrics={"auc": 0.95})
    dev.sagemaker.update_model_package(ModelPackageArn=unlogged, ModelApprovalStatus="Approved", ApprovalDescription=described["ApprovalDescription"])
    prod.group(GROUP)  # a same-named, empty group in prod must not stand in for the source registry

    code, out, err = cli("audit", "verify", str(prod_stack()))
    assert code == 1, (out, err)
    assert f"registry: {GROUP} v3 is Approved by mlstack promote, but the log holds no verified record" in out + err


def test_promote_rejects_in_the_source_account_on_its_gates(aws, cli, dev, prod_stack):
    dev.group(GROUP)
    candidate = dev.version(GROUP, metrics={"auc": 0.7})
    code, out, _ = cli("promote", str(prod_stack()), "--model", "churn-xgb")
    assert code == 1 and "REJECTED" in out
    assert dev.describe(candidate)["ModelApprovalStatus"] == "Rejected"


def test_promote_without_a_role_stops_before_any_change(aws, cli, dev, prod_stack):
    dev.group(GROUP)
    candidate = dev.version(GROUP, metrics={"auc": 0.9})
    code, _, err = cli("promote", str(prod_stack(roleArn=None)), "--model", "churn-xgb")
    assert code == 2
    assert "mlstack:models[0].source.roleArn" in err and DEV in err and "Traceback" not in err
    assert dev.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"


def test_promote_refuses_credentials_of_another_account_than_the_registry(aws, cli, dev, prod, prod_stack, monkeypatch):
    """The assumed role must land in the registry's account; here it resolves to prod's."""
    prod.group(GROUP)
    decoy = prod.version(GROUP, metadata={"mlstack:metric:auc": "0.9"})
    import mlstack.ops.accounts as accounts

    real = accounts.assume_role

    def to_prod(aws, role_arn, **kwargs):
        return real(aws, f"arn:aws:iam::{PROD}:role/elsewhere", **kwargs)

    monkeypatch.setattr(accounts, "assume_role", to_prod)
    code, _, err = cli("promote", str(prod_stack()), "--model", "churn-xgb")
    assert code == 2 and f"not {DEV}" in err
    assert prod.describe(decoy)["ModelApprovalStatus"] == "PendingManualApproval"


def test_deploy_time_lookup_reads_the_source_group_by_arn(aws, dev, prod):
    from mlstack import lookups

    dev.group(GROUP)
    approved = dev.version(GROUP, metrics={"auc": 0.85}, status="Approved")
    dev.version(GROUP, metrics={"auc": 0.9})
    assert lookups.latest_approved_model_package(GROUP_ARN, client=dev.sagemaker) == approved
    assert lookups.model_package_status(approved, client=dev.sagemaker) == "Approved"
    assert lookups.model_package_arn(GROUP_ARN, 2) == approved.replace("/1", "/2")


def test_deploy_time_lookup_refuses_a_same_named_group_of_another_account(aws, prod):
    """A server that answers the ARN with the caller's own same-named group (as moto does, and
    as a misrouted request would) is not believed: its versions live in another account."""
    from mlstack import lookups
    from mlstack.ops.aws import MalformedResponse

    prod.group(GROUP)
    prod.version(GROUP, metadata={"mlstack:metric:auc": "0.9"}, status="Approved")
    with pytest.raises(MalformedResponse, match="another account or region"):
        lookups.latest_approved_model_package(GROUP_ARN, client=prod.sagemaker)


def test_verify_compares_with_the_latest_approved_version_of_the_source_registry(aws, cli, dev, prod, prod_stack, write_stack, monkeypatch):
    """verify reads the expected version in the dev registry (through the role) and the live
    endpoint in prod."""
    import yaml

    dev.group(GROUP)
    dev.version(GROUP, metrics={"auc": 0.85}, status="Approved")
    dev.version(GROUP, metrics={"auc": 0.9}, status="Approved")  # v2: what prod should serve
    sagemaker = prod.sagemaker
    image = f"{DEV}.dkr.ecr.{REGION}.amazonaws.com/churn-xgb-serve:1"
    sagemaker.create_model(ModelName="m1", ExecutionRoleArn=f"arn:aws:iam::{PROD}:role/x", PrimaryContainer={"Image": image, "ModelDataUrl": "s3://b/models/model.tar.gz"})
    tags = [{"Key": "mlstack:stack", "Value": "churn-prod"}, {"Key": "mlstack:model-version", "Value": "1"}, {"Key": "mlstack:git-commit", "Value": "c0ffee"}]
    sagemaker.create_endpoint_config(EndpointConfigName="scoring-config-1", ProductionVariants=[
        {"VariantName": "primary", "ModelName": "m1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}], Tags=tags)
    sagemaker.create_endpoint(EndpointName="churn-scoring", EndpointConfigName="scoring-config-1")

    path = prod_stack()
    config = yaml.safe_load(path.read_text())
    config["config"]["mlstack:endpoints"] = [{
        "name": "scoring", "model": "churn-xgb", "image": image.replace(":1", "@sha256:" + "ab" * 32),
        "artifactsUri": "s3://churn-xgb-training-artifacts/models/", "instanceType": "ml.m5.large",
    }]
    path.write_text(yaml.safe_dump(config))

    code, out, err = cli("verify", str(path))
    assert code == 1, (out, err)
    assert "serves model version '1', expected v2 (the latest Approved)" in out


def test_status_shows_the_source_registrys_approved_version(aws, cli, dev, prod_stack):
    dev.group(GROUP)
    dev.version(GROUP, metrics={"auc": 0.85}, status="Approved")
    dev.version(GROUP, metrics={"auc": 0.9})
    code, out, err = cli("status", str(prod_stack()))
    assert code == 0, (out, err)
    [row] = [line for line in out.splitlines() if line.startswith("model")]
    assert GROUP_ARN in row and "Approved v1" in row and "1 pending (newest v2)" in row and f"registry of account {DEV}" in row


def test_calls_made_as_the_role_share_the_commands_deadline(aws, dev):
    from mlstack.ops.accounts import assume_role

    import time

    aws.client("sts").get_caller_identity()  # the command's first call starts its deadline
    time.sleep(1.0)
    other = assume_role(aws, ROLE, region=REGION, account=DEV, purpose="test")
    total = aws.timeouts[2]
    assert other.timeouts[2] == total
    assert other.remaining() < total - 1.0  # counted from the command's first call, not the role's
