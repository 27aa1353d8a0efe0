"""Pytest fixtures for tests that call AWS APIs, against a local fake.

Import them in ``tests/conftest.py`` (done there once for the whole suite)::

    from aws_server import aws_endpoint, aws_session  # noqa: F401

Fixtures
--------
``aws_endpoint`` (session scope) -> ``str``
    The URL of an AWS-compatible endpoint. When the environment variable
    ``MLSTACK_TEST_AWS_ENDPOINT`` is set, its value is used as is (to run
    the suite against another AWS-compatible server). Otherwise a moto
    server is started in a thread on ``127.0.0.1`` and a free port, and
    stopped at the end of the session.

``aws_session`` (function scope) -> :class:`AwsTestSession`
    What a test uses to talk to that endpoint:

    * resets the server's state first (``POST {endpoint}/moto-api/reset``,
      only when the endpoint is moto), so every test starts empty;
    * sets, through ``monkeypatch`` (undone after the test), fake
      credentials (``AWS_ACCESS_KEY_ID=testing`` ...), the region
      ``AWS_DEFAULT_REGION=us-east-1`` / ``AWS_REGION``,
      ``AWS_ENDPOINT_URL`` = the endpoint, and points ``AWS_CONFIG_FILE`` /
      ``AWS_SHARED_CREDENTIALS_FILE`` at nothing and drops ``AWS_PROFILE``,
      so that no boto3 client made during the test (by the code under test
      too) can reach a real account;
    * ``aws_session.client("s3")`` builds a boto3 client with
      ``endpoint_url`` = the endpoint, the fake credentials and region, and
      ``botocore.config.Config(retries={"total_max_attempts": 1})`` (one attempt: botocore counts ``max_attempts`` as retries) (S3 with
      path-style addressing); keyword arguments override any of these;
    * ``aws_session.env`` is the environment to hand to a subprocess (e.g.
      ``subprocess.run(..., env=aws_session.env)``).

Example::

    def test_upload(aws_session):
        s3 = aws_session.client("s3")
        s3.create_bucket(Bucket="b")
        ...

Running the suite in parallel (pytest-xdist) is fine with the built-in
server (one per worker), not with a shared ``MLSTACK_TEST_AWS_ENDPOINT``
that is moto, whose resets would clear other workers' state.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

ENDPOINT_ENV = "MLSTACK_TEST_AWS_ENDPOINT"
REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}

# endpoints known to be moto servers (whose state may be reset)
_MOTO_ENDPOINTS: set[str] = set()


def _is_moto(url: str) -> bool:
    """Whether the server at ``url`` answers moto's own API."""
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as resp:
            json.load(resp)
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def reset_moto(url: str) -> None:
    """Clear every backend of the moto server at ``url``."""
    req = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """URL of the AWS-compatible endpoint for this test session."""
    external = os.environ.get(ENDPOINT_ENV, "").strip()
    if external:
        url = external.rstrip("/")
        if _is_moto(url):
            _MOTO_ENDPOINTS.add(url)
        yield url
        return

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _MOTO_ENDPOINTS.add(url)
    try:
        yield url
    finally:
        _MOTO_ENDPOINTS.discard(url)
        server.stop()


class AwsTestSession:
    """Client factory and environment for one test (see the module docstring)."""

    def __init__(self, endpoint_url: str, region: str = REGION) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.is_moto = endpoint_url in _MOTO_ENDPOINTS

    def client_kwargs(self, service: str, **overrides: Any) -> dict[str, Any]:
        from botocore.config import Config

        config = Config(
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"} if service == "s3" else None,
        )
        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            "config": config,
        }
        kwargs.update(overrides)
        return kwargs

    def client(self, service: str, **overrides: Any) -> Any:
        """A boto3 client for ``service`` on the test endpoint."""
        import boto3

        return boto3.client(service, **self.client_kwargs(service, **overrides))

    def resource(self, service: str, **overrides: Any) -> Any:
        """A boto3 resource for ``service`` on the test endpoint."""
        import boto3

        return boto3.resource(service, **self.client_kwargs(service, **overrides))

    @property
    def env(self) -> dict[str, str]:
        """The current environment (with the test's AWS settings), for subprocesses."""
        return dict(os.environ)

    def reset(self) -> None:
        """Clear the server's state (moto only; a no-op elsewhere)."""
        if self.is_moto:
            reset_moto(self.endpoint_url)


@pytest.fixture
def aws_session(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AwsTestSession:
    """A clean AWS endpoint and fake-credential environment for one test."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name)
    session = AwsTestSession(aws_endpoint)
    session.reset()
    return session
