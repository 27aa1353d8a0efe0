"""`mlstack preflight` end to end: the account check on the moto server (STS), the quotas from
botocore's Stubber (moto implements Service Quotas for the vpc service code only)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from conftest import ROOT
from mlstack.ops.aws import Aws

G5_ENDPOINT = {"ServiceCode": "sagemaker", "QuotaName": "ml.g5.xlarge for endpoint usage", "QuotaCode": "L-G5XLEP", "Value": 8.0, "Adjustable": True}
ENOUGH = [
    {"ServiceCode": "sagemaker", "QuotaName": name, "QuotaCode": f"L-{i}", "Value": 20.0, "Adjustable": True}
    for i, name in enumerate(
        [
            "ml.g5.2xlarge for spot training job usage",
            "ml.m5.2xlarge for processing job usage",
            "ml.m5.large for processing job usage",
            "ml.m5.xlarge for processing job usage",
        ]
    )
]


@pytest.fixture(scope="module")
def churn_prod_plan():
    from mlstack.engine import plan_stack

    return plan_stack("churn-prod", cwd=ROOT)


@pytest.fixture(autouse=True)
def planned_once(churn_prod_plan, monkeypatch):
    """Both tests plan churn-prod (in moto's account): plan it once for the module."""
    import mlstack.engine

    monkeypatch.setattr(mlstack.engine, "plan_stack_file", lambda *a, **k: churn_prod_plan)


@pytest.fixture
def churn_prod(tmp_path):
    # churn-prod in moto's account, so the account check passes against the moto server.
    text = (ROOT / "stacks/Pulumi.churn-prod.yaml").read_text().replace("210987654321", "123456789012")
    path = tmp_path / "Pulumi.churn-prod.yaml"
    path.write_text(text)
    return path


def stub_quotas(monkeypatch, defaults, applied):
    real = Aws.client
    stubs = []

    def client(self, service):
        made = real(self, service)
        if service == "service-quotas" and not stubs:
            stub = Stubber(made)
            stub.add_response("list_aws_default_service_quotas", {"Quotas": defaults}, {"ServiceCode": "sagemaker"})
            stub.add_response("list_service_quotas", {"Quotas": applied}, {"ServiceCode": "sagemaker", "QuotaAppliedAtLevel": "ACCOUNT"})
            stub.activate()
            stubs.append(stub)
        return made

    monkeypatch.setattr(Aws, "client", client)
    return stubs


def test_preflight_prints_the_shortfall_and_the_command_that_fixes_it(cli, aws_session, churn_prod, monkeypatch, tmp_path):
    stubs = stub_quotas(monkeypatch, [{**G5_ENDPOINT, "Value": 0.0}, *ENOUGH], [G5_ENDPOINT])
    report = tmp_path / "preflight.json"
    code, out, err = cli("preflight", str(churn_prod), "--max-attempts", "1", "--json", str(report))
    assert code == 1, err
    stubs[0].assert_no_pending_responses()
    row = next(r for r in json.loads(report.read_text())["rows"] if r["instanceType"] == "ml.g5.xlarge")
    # 6 at the autoscaling maximum; 12 while a canary rollout runs the old and the new fleet
    assert (row["needSteady"], row["needDuringRollout"], row["quota"]["value"], row["quota"]["source"], row["verdict"]) == (6, 12, 8.0, "applied", "short")
    assert (
        "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-G5XLEP --desired-value 12 --region eu-west-1"
        in out
    )
    assert "ml.g5.2xlarge          spot training" in out and "1 of 5 instance type/use pair(s) short of quota" in out


def test_preflight_passes_when_every_quota_covers_the_rollout_peak(cli, aws_session, churn_prod, monkeypatch):
    stub_quotas(monkeypatch, [{**G5_ENDPOINT, "Value": 12.0}, *ENOUGH], [])
    code, out, err = cli("preflight", str(churn_prod), "--max-attempts", "1")
    assert code == 0, err
    assert "short" not in out and out.count(" ok") == 5
