"""How the day-2 commands reach AWS: endpoint override, retries with backoff on throttling,
and readable errors (exit 2 or 1, never a traceback) for missing credentials, access denied
and unreachable endpoints.

moto cannot throttle or deny access, so those answers come from ``canned_aws``: a real local
HTTP server (on 127.0.0.1) that returns fixed AWS error responses.
"""

from __future__ import annotations

import socket

import pytest
from botocore.retries.standard import ExponentialBackoff

from mlstack.lookups import latest_approved_model_package
from mlstack.ops import Aws, AwsSettings

from .conftest import aws_error

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-churn-xgb/4"
THROTTLED = aws_error("ThrottlingException", "Rate exceeded")
SUMMARY = {
    "ModelPackageArn": ARN,
    "ModelPackageGroupName": "churn-churn-xgb",
    "ModelPackageVersion": 4,
    "CreationTime": 1793000000.0,
    "ModelPackageStatus": "Completed",
    "ModelApprovalStatus": "Approved",
}


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff botocore computes for each retry, without sleeping it."""
    delays: list[float] = []
    original = ExponentialBackoff.delay_amount

    def record(self, context):
        delays.append(original(self, context))
        return 0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", record)
    return delays


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_throttled_calls_are_retried_with_backoff(aws_session, canned_aws, no_sleep):
    """A local server answers ThrottlingException twice, then the result: three requests, two backoffs."""
    server = canned_aws([THROTTLED, THROTTLED, (200, {"ModelPackageSummaryList": [SUMMARY]})])
    client = Aws(AwsSettings(region="us-east-1", endpoint_url=server.url, max_attempts=3)).client("sagemaker")

    assert latest_approved_model_package("churn-churn-xgb", client=client) == ARN

    assert server.requests == ["SageMaker.ListModelPackages"] * 3
    assert len(no_sleep) == 2 and all(0 <= d <= 2 for d in no_sleep)


def test_throttling_beyond_the_retry_budget_exits_1_with_a_message(aws_session, canned_aws, cli, ops_stack, no_sleep):
    server = canned_aws([THROTTLED])

    code, out, err = cli("promote", str(ops_stack()), "--model", "churn-xgb", "--endpoint-url", server.url, "--max-attempts", "2")

    assert code == 1 and out == ""
    assert err == (
        "mlstack promote: error: AWS throttled sagemaker:DescribeModelPackageGroup and 2 attempts did not get through "
        "(ThrottlingException: Rate exceeded); retry later or raise --max-attempts (or AWS_MAX_ATTEMPTS)\n"
    )
    assert len(server.requests) == 2


def test_access_denied_exits_2_naming_the_permission(aws_session, canned_aws, cli, ops_stack):
    denied = aws_error(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: sagemaker:DescribeModelPackageGroup",
    )
    server = canned_aws([denied])

    code, _, err = cli("status", str(ops_stack()), "--endpoint-url", server.url, "--max-attempts", "1")

    assert code == 2
    assert err.startswith("mlstack status: error: access denied: sagemaker:DescribeModelPackageGroup (AccessDeniedException: User:")
    assert err.endswith("; grant the caller sagemaker:DescribeModelPackageGroup on this resource or use credentials that have it\n")


def test_expired_credentials_exit_2(aws_session, canned_aws, cli, ops_stack):
    server = canned_aws([aws_error("ExpiredTokenException", "The security token included in the request is expired")])
    code, _, err = cli("status", str(ops_stack()), "--endpoint-url", server.url, "--max-attempts", "1")
    assert code == 2 and "rejected the credentials (ExpiredTokenException" in err and "refresh them" in err


def test_missing_credentials_exit_2(aws_session, cli, ops_stack, monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)

    code, out, err = cli("status", str(ops_stack()), "--max-attempts", "1")

    assert (code, out) == (2, "")
    assert err.startswith("mlstack status: error: no usable AWS credentials (Unable to locate credentials); set AWS_ACCESS_KEY_ID")
    assert "Traceback" not in err


def test_unknown_profile_exits_2(aws_session, cli, ops_stack):
    code, _, err = cli("status", str(ops_stack()), "--profile", "nope")
    assert code == 2 and "The config profile (nope) could not be found" in err


def test_unreachable_endpoint_exits_2(aws_session, cli, ops_stack):
    url = f"http://127.0.0.1:{closed_port()}"
    code, _, err = cli("status", str(ops_stack()), "--endpoint-url", url, "--max-attempts", "1")
    assert code == 2
    assert err.startswith(f"mlstack status: error: cannot reach AWS at {url}: Could not connect to the endpoint URL")


def test_endpoint_url_option_overrides_the_environment(aws_session, registry, cli, ops_stack, monkeypatch: pytest.MonkeyPatch):
    registry.group()
    registry.version(status="Approved")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")

    code, out, _ = cli("status", str(ops_stack()), "--endpoint-url", aws_session.endpoint_url, "--max-attempts", "1")

    assert code == 0 and "Approved v1" in out


def test_aws_endpoint_url_environment_is_honoured(aws_session, registry, cli, ops_stack, monkeypatch: pytest.MonkeyPatch):
    registry.group()
    registry.version(status="Approved")
    assert aws_session.endpoint_url.startswith("http://")  # set as AWS_ENDPOINT_URL by aws_session
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, out, _ = cli("status", str(ops_stack()))
    assert code == 0 and "Approved v1" in out


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"AWS_MAX_ATTEMPTS": "many"}, [], "AWS_MAX_ATTEMPTS='many' is not a whole number"),
        ({}, ["--max-attempts", "0"], "max attempts must be at least 1 (got 0)"),
        ({"AWS_RETRY_MODE": "eager"}, [], "retry mode 'eager' is not one of standard, adaptive, legacy"),
    ],
)
def test_bad_retry_settings_exit_2(aws_session, cli, ops_stack, monkeypatch: pytest.MonkeyPatch, env, argv, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli("status", str(ops_stack()), *argv)
    assert code == 2 and message in err


def test_retry_settings_come_from_options_then_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    assert AwsSettings().resolved_retries() == {"mode": "standard", "total_max_attempts": 8}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert AwsSettings().resolved_retries() == {"mode": "adaptive", "total_max_attempts": 4}
    assert AwsSettings(max_attempts=2, retry_mode="standard").resolved_retries() == {"mode": "standard", "total_max_attempts": 2}


def test_credentials_of_another_account_exit_2(aws_session, registry, cli, ops_stack, monkeypatch: pytest.MonkeyPatch):
    registry.group()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    actual = aws_session.client("sts").get_caller_identity()["Account"]
    other = "210987654321" if actual != "210987654321" else "345678901234"
    code, _, err = cli("status", str(ops_stack(**{"mlstack:accountId": other})))
    assert code == 2
    assert f"stack 'churn-dev' lives in account {other} (mlstack:accountId) but the AWS credentials in use belong to {actual}" in err
    code, _, _ = cli("status", str(ops_stack(**{"mlstack:accountId": actual})))
    assert code == 0
