"""Bounded time for the day-2 commands: per-attempt connect/read timeouts and a total deadline
(--timeout / MLSTACK_AWS_TIMEOUT) that stops a command hung on AWS with exit 1, naming the call
in flight. The hung endpoint is a local socket that accepts connections and never answers."""

from __future__ import annotations

import socket
import time
from typing import Iterator

import pytest
from botocore.retries.standard import ExponentialBackoff

from mlstack.ops import Aws, AwsSettings
from mlstack.ops.aws import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_TIMEOUT, TIMEOUT_ENV, translate

from .conftest import aws_error


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A URL whose server takes the connection (the kernel's backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TIMEOUT_ENV, "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)


def test_a_hung_endpoint_stops_at_the_deadline_naming_the_call(aws_session, cli, ops_stack, silent_endpoint, clean_env):
    started = time.monotonic()

    code, out, err = cli("status", str(ops_stack()), "--endpoint-url", silent_endpoint, "--timeout", "1")

    elapsed = time.monotonic() - started
    assert (code, out) == (1, "")
    assert err.startswith("mlstack status: error: gave up after the 1 s deadline for AWS calls while sagemaker:DescribeModelPackageGroup was in flight")
    assert "raise --timeout (or MLSTACK_AWS_TIMEOUT)" in err and "Traceback" not in err
    assert elapsed < 4, f"took {elapsed:.1f} s for a 1 s deadline (8 attempts were allowed)"


def test_the_deadline_comes_from_the_environment_too(aws_session, cli, ops_stack, silent_endpoint, clean_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    started = time.monotonic()

    code, _, err = cli("promote", str(ops_stack()), "--model", "churn-xgb", "--endpoint-url", silent_endpoint)

    assert code == 1
    assert "gave up after the 0.5 s deadline for AWS calls while sagemaker:DescribeModelPackageGroup was in flight" in err
    assert time.monotonic() - started < 3


def test_the_deadline_bounds_retries_of_a_slow_throttling_endpoint(aws_session, canned_aws, cli, ops_stack, no_backoff, clean_env):
    def slow_throttle(request):
        time.sleep(0.1)
        return aws_error("ThrottlingException", "Rate exceeded")

    server = canned_aws(slow_throttle)
    started = time.monotonic()

    code, _, err = cli("status", str(ops_stack()), "--endpoint-url", server.url, "--max-attempts", "100", "--timeout", "0.8")

    assert code == 1
    assert "gave up after the 0.8 s deadline for AWS calls while sagemaker:DescribeModelPackageGroup was in flight (" in err
    assert "attempts made); the last one failed: HTTP 400 ThrottlingException: Rate exceeded" in err
    assert 3 <= len(server.requests) < 20
    assert time.monotonic() - started < 3


def test_a_read_timeout_names_the_call_that_timed_out(aws_session, silent_endpoint, clean_env):
    from botocore.exceptions import ReadTimeoutError

    aws = Aws(AwsSettings(region="us-east-1", endpoint_url=silent_endpoint, max_attempts=1, read_timeout=0.3))
    with pytest.raises(ReadTimeoutError) as raised:
        aws.client("sagemaker").describe_model_package_group(ModelPackageGroupName="churn-churn-xgb")

    error = translate(raised.value, aws)
    assert error.exit_code == 1
    assert f"AWS at {silent_endpoint} did not answer to sagemaker:DescribeModelPackageGroup in time" in error.message


def test_default_timeouts_are_short_enough_for_ci(clean_env):
    aws = Aws(AwsSettings(region="us-east-1"))
    assert aws.timeouts == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_TIMEOUT) == (5.0, 15.0, 120.0)
    config = aws.client("sagemaker").meta.config
    assert (config.connect_timeout, config.read_timeout) == (5.0, 15.0)
    # no single attempt may wait longer than the whole budget
    assert AwsSettings(timeout=2).resolved_timeouts() == (2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({}, ["--timeout", "0"], "--timeout 0.0: the timeout must be a positive, finite number of seconds"),
        ({}, ["--timeout", "-5"], "--timeout -5.0: the timeout must be a positive"),
        ({}, ["--timeout", "nan"], "--timeout nan: the timeout must be a positive, finite number"),
        ({}, ["--timeout", "inf"], "--timeout inf: the timeout must be a positive, finite number"),
        ({TIMEOUT_ENV: "soon"}, [], "MLSTACK_AWS_TIMEOUT='soon' is not a number of seconds"),
        ({TIMEOUT_ENV: "1e999"}, [], "MLSTACK_AWS_TIMEOUT='1e999': the timeout must be a positive, finite number"),
    ],
)
def test_bad_timeouts_exit_2(aws_session, cli, ops_stack, monkeypatch: pytest.MonkeyPatch, env, argv, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli("status", str(ops_stack()), *argv)
    assert code == 2 and message in err and "Traceback" not in err
