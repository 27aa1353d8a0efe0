"""mlstack preflight: quotas against the peak need.

moto implements Service Quotas for the ``vpc`` service code only (moto/servicequotas/models.py:
list_aws_default_service_quotas and get_service_quota, no list_service_quotas), so these tests
answer the Service Quotas calls with botocore's Stubber, in the shapes of botocore's
service-quotas model.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from mlstack.capacity import Node, capacity_of
from mlstack.ops.aws import Aws, AwsSettings, MalformedResponse, OpsError
from mlstack.ops.preflight import preflight, render


def quota(name, code, value, adjustable=True):
    return {"ServiceCode": "sagemaker", "QuotaName": name, "QuotaCode": code, "Value": value, "Adjustable": adjustable}


def capacity():
    config = Node(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg", "urn:cfg", "urn:c",
        {"productionVariants": [{"variantName": "primary", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2}]},
    )
    endpoint = Node("aws:sagemaker/endpoint:Endpoint", "ep", "urn:ep", "urn:c", {"name": "churn-scoring"}, ("urn:cfg",))
    target = Node(
        "aws:appautoscaling/target:Target", "t", "urn:t", "urn:c",
        {"serviceNamespace": "sagemaker", "resourceId": "endpoint/churn-scoring/variant/primary", "minCapacity": 2, "maxCapacity": 6},
    )
    return capacity_of([config, endpoint, target])  # needs 6 steady, 12 during a blue/green rollout


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws = Aws(AwsSettings(region="eu-west-1", max_attempts=1))
    stubber = Stubber(aws.client("service-quotas"))
    with stubber:
        yield aws, stubber


def answer(stubber, defaults, applied):
    stubber.add_response("list_aws_default_service_quotas", {"Quotas": defaults}, {"ServiceCode": "sagemaker"})
    stubber.add_response("list_service_quotas", {"Quotas": applied}, {"ServiceCode": "sagemaker", "QuotaAppliedAtLevel": "ACCOUNT"})


def test_a_default_quota_of_zero_is_a_shortfall_with_the_command_that_fixes_it(aws):
    aws, stubber = aws
    answer(stubber, [quota("ml.g5.xlarge for endpoint usage", "L-G5XL", 0)], [])
    [row] = preflight(aws, capacity(), "eu-west-1")
    assert (row.steady, row.during_rollout, row.quota.value, row.quota.source, row.verdict) == (6, 12, 0, "default", "short (steady)")
    assert row.fix == (
        "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-G5XL --desired-value 12 --region eu-west-1"
    )
    assert "L-G5XL" in render([row], stack="churn-prod", region="eu-west-1", notes=[])


def test_the_applied_value_overrides_the_default_and_a_rollout_needs_both_fleets(aws):
    aws, stubber = aws
    answer(stubber, [quota("ml.g5.xlarge for endpoint usage", "L-G5XL", 0)], [quota("ml.g5.xlarge for endpoint usage", "L-G5XL", 8)])
    [row] = preflight(aws, capacity(), "eu-west-1")
    assert row.quota.source == "applied" and row.verdict == "short"  # 8 covers 6 steady, not 12 during a rollout


def test_enough_quota_passes(aws):
    aws, stubber = aws
    answer(stubber, [], [quota("ml.g5.xlarge for endpoint usage", "L-G5XL", 12)])
    [row] = preflight(aws, capacity(), "eu-west-1")
    assert row.verdict == "ok" and not row.short and row.fix == ""


def test_a_quota_missing_from_the_region_means_the_type_is_not_offered_there(aws):
    aws, stubber = aws
    answer(stubber, [quota("ml.m5.xlarge for endpoint usage", "L-M5XL", 20)], [])
    [row] = preflight(aws, capacity(), "eu-west-1")
    assert row.verdict == "not offered" and row.short and row.quota is None


def test_a_region_without_sagemaker_is_bad_input():
    with pytest.raises(OpsError) as info:
        preflight(Aws(AwsSettings(region="eu-west-1")), capacity(), "mars-north-1")
    assert info.value.exit_code == 2 and "mars-north-1" in str(info.value)


def test_a_quota_without_a_value_stops_without_a_verdict(aws):
    aws, stubber = aws
    stubber.add_response(
        "list_aws_default_service_quotas",
        {"Quotas": [{"QuotaName": "ml.g5.xlarge for endpoint usage", "QuotaCode": "L-G5XL"}]},
        {"ServiceCode": "sagemaker"},
    )
    with pytest.raises(MalformedResponse):
        preflight(aws, capacity(), "eu-west-1")


def test_access_denied_is_translated_with_the_iam_action(aws):
    from botocore.exceptions import ClientError

    from mlstack.ops.aws import translate

    aws, stubber = aws
    stubber.add_client_error("list_aws_default_service_quotas", "AccessDeniedException", "not allowed", 403)
    with pytest.raises(ClientError) as info:
        preflight(aws, capacity(), "eu-west-1")
    error = translate(info.value, aws)
    assert error.exit_code == 2 and "servicequotas:ListAWSDefaultServiceQuotas" in str(error)
