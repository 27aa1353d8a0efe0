"""Fixtures for the day-2 operations tests.

The AWS endpoint and its per-test reset come from ``tests/aws_server.py`` (``aws_session``):
moto in server mode on 127.0.0.1, or the endpoint named by ``MLSTACK_TEST_AWS_ENDPOINT``.
Added here: a registry builder (groups, versions with metrics reports in S3), stack files with
gates, and ``canned_aws``, a local HTTP server answering fixed AWS responses for what moto
cannot produce (throttling, access denied, garbage): a list of replies served in turn, or a
function of the request (its operation, path and JSON body) for scripted worlds.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import pytest

REGION = "us-east-1"
METRICS_BUCKET = "mlstack-test-metrics"

#: Gates used by most promote tests.
GATES = [
    {"metric": "accuracy", "op": ">=", "threshold": "last-approved", "description": "no worse than production"},
    {"metric": "bias_delta", "op": "<=", "threshold": 0.01},
]


@pytest.fixture
def aws(aws_session, monkeypatch: pytest.MonkeyPatch):
    """An ``Aws`` on the test endpoint (AWS_ENDPOINT_URL from aws_session), one attempt per call."""
    from mlstack.ops import Aws, AwsSettings

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # moto answers unimplemented calls with 500s; never retry them
    monkeypatch.setenv("MLSTACK_GIT_COMMIT", "c0ffee")
    return Aws(AwsSettings(region=REGION, max_attempts=1))


@pytest.fixture
def ops_stack(write_stack) -> Callable[..., Path]:
    """ops_stack(gates=GATES, **changes) -> path of a churn-dev stack in us-east-1 with those gates."""

    def write(gates: Optional[list[dict[str, Any]]] = None, **changes: Any) -> Path:
        model = {"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/", "version": "v3"}}
        model["gates"] = GATES if gates is None else gates
        config = {"aws:region": REGION, "mlstack:models": [model]}
        config.update(changes)
        return write_stack(config)

    return write


@dataclass
class Registry:
    """Builds model package groups and versions on the test endpoint."""

    session: Any
    sagemaker: Any = field(init=False)
    s3: Any = field(init=False)
    _bucket: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.sagemaker = self.session.client("sagemaker")
        self.s3 = self.session.client("s3")

    def group(self, name: str = "churn-churn-xgb") -> str:
        self.sagemaker.create_model_package_group(ModelPackageGroupName=name)
        return name

    def report(self, document: Any, *, raw: Optional[bytes] = None) -> str:
        if not self._bucket:
            self.s3.create_bucket(Bucket=METRICS_BUCKET)
            self._bucket = True
        key = f"evaluation/{uuid.uuid4().hex}.json"
        self.s3.put_object(Bucket=METRICS_BUCKET, Key=key, Body=raw if raw is not None else json.dumps(document).encode())
        return f"s3://{METRICS_BUCKET}/{key}"

    def version(
        self,
        group: str = "churn-churn-xgb",
        *,
        metrics: Optional[dict[str, float]] = None,
        shape: str = "model-quality",
        report_uri: Optional[str] = None,
        metadata: Optional[dict[str, str]] = None,
        status: str = "PendingManualApproval",
    ) -> str:
        """Register a version; ``metrics`` go to a report in S3: SageMaker's model quality shape,
        flat, or as the TrainingPipeline registers them ("pipeline": a {"metrics": ...} report and
        mlstack:metric:<name> customer metadata)."""
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": status,
            "InferenceSpecification": {
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1", "ModelDataUrl": "s3://m/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        }
        if metrics is not None:
            if shape == "model-quality":
                document: Any = {"version": 0.0, "binary_classification_metrics": {k: {"value": v, "standard_deviation": 0.001} for k, v in metrics.items()}}
            elif shape == "pipeline":
                document = {"metrics": {k: {"value": v} for k, v in metrics.items()}}
                metadata = {"mlstack:model": "churn-xgb", "mlstack:git-commit": "c0ffee", **{f"mlstack:metric:{k}": str(v) for k, v in metrics.items()}, **(metadata or {})}
            else:
                document = dict(metrics)
            report_uri = self.report(document)
        if report_uri:
            kwargs["ModelMetrics"] = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report_uri}}}
        if metadata:
            kwargs["CustomerMetadataProperties"] = metadata
        return self.sagemaker.create_model_package(**kwargs)["ModelPackageArn"]

    def describe(self, arn: str) -> dict[str, Any]:
        return self.sagemaker.describe_model_package(ModelPackageName=arn)


@pytest.fixture
def registry(aws_session) -> Registry:
    return Registry(aws_session)


@dataclass(frozen=True)
class CannedRequest:
    """What the canned server received: ``target`` is the X-Amz-Target (``SageMaker.ListModelPackages``)
    or, for REST calls such as S3, ``"<METHOD> <path>"``."""

    target: str
    body: Any
    """The JSON body (None when there is none, or it is not JSON)."""


#: A reply: (status, body) where a dict/list body is sent as JSON and bytes are sent as they are.
Reply = tuple[int, Union[dict[str, Any], list[Any], bytes]]


@dataclass
class CannedAws:
    """A local HTTP server that answers every request with the next canned response, or with
    what ``responses(request)`` returns when it is a function."""

    url: str
    responses: Union[list[Reply], Callable[[CannedRequest], Reply]]
    requests: list[str] = field(default_factory=list)
    """The X-Amz-Target (operation) of every request received ("GET /path" for REST calls)."""
    received: list[CannedRequest] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    canned: CannedAws

    def _answer(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or f"{self.command} {self.path}"
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = CannedRequest(target, body)
        self.canned.requests.append(target)
        self.canned.received.append(request)
        if callable(self.canned.responses):
            status, reply = self.canned.responses(request)
        else:
            status, reply = self.canned.responses.pop(0) if len(self.canned.responses) > 1 else self.canned.responses[0]
        data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(reply, bytes) else "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_POST = do_GET = do_PUT = do_HEAD = _answer  # noqa: N815 - http.server's naming

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canned_aws() -> Iterator[Callable[..., CannedAws]]:
    """canned_aws([(status, body), ...]) -> a running CannedAws; the last response repeats.
    canned_aws(function) -> a CannedAws answering ``function(CannedRequest)``."""
    servers: list[ThreadingHTTPServer] = []

    def start(responses: Union[list[Reply], Callable[[CannedRequest], Reply]]) -> CannedAws:
        handler = type("Handler", (_Handler,), {})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        canned = CannedAws(url=f"http://127.0.0.1:{server.server_address[1]}", responses=responses if callable(responses) else list(responses))
        handler.canned = canned
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return canned

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def aws_error(code: str, message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    """A canned JSON-protocol AWS error response."""
    return status, {"__type": code, "message": message}
