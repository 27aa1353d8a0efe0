"""`mlstack verify` of KServe endpoints through the Kubernetes API, against a local HTTP server
serving recorded InferenceService answers (tests/data/kserve/): the declared rollout step is
compared with the live spec, readiness, revisions and traffic per revision; the kubeconfig is read
as kubectl reads it (token, CA, exec plugin); hostile or broken answers stop without a decision."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from mlstack.config import load_stack
from mlstack.ops.kube import KubeClient, KubeConfig, KubeReplyError, KubeSetupError
from mlstack.ops.verify import expected_endpoints, verify_inference_service

RECORDED = json.loads((Path(__file__).resolve().parent.parent / "data" / "kserve" / "isvc-canary.json").read_text())
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/vision/inferenceservices/defects"


class Api:
    """A local Kubernetes API: ``routes[path] = (status, body)``; records each request's headers."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                api.requests.append((self.path, dict(self.headers)))
                status, body = api.routes.get(self.path, (404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}))
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = Api()
    yield server
    server.close()


def kubeconfig(tmp_path: Path, server: str, *, user: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None, name: str = "kubeconfig") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gpu",
        "clusters": [{"name": "gpu", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "me", "user": user or {}}],
        "contexts": [{"name": "gpu", "context": {"cluster": "gpu", "user": "me"}}],
    }))
    return path


def endpoint(**rollout: Any) -> dict[str, Any]:
    return {
        "name": "defects", "model": "churn-xgb", "backend": "kserve", "modelVersion": 5, "instanceCount": 2,
        "rollout": {"type": "CANARY", "size": {"value": 10}, **rollout},
        "kserve": {"namespace": "vision", "modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/defects/5/"},
    }


@pytest.fixture
def check(api, tmp_path, write_stack) -> Callable[..., Any]:
    """check(live, **rollout) -> the report of verifying the declared endpoint against ``live``."""

    def run(live: Any, **rollout: Any):
        if live is not None:
            api.routes[ISVC] = (200, live)
        stack = load_stack(write_stack({"mlstack:endpoints": [endpoint(**rollout)], "kubernetes:context": "gpu"}))
        [expected] = expected_endpoints(stack)
        kube = KubeClient.from_kubeconfig(kubeconfig=str(kubeconfig(tmp_path, api.url)), context="gpu")
        return verify_inference_service(kube, stack, expected)

    return run


def live(**changes: Any) -> dict[str, Any]:
    """The recorded canary, with dotted-path changes (``{"spec.predictor.canaryTrafficPercent": None}`` drops the key)."""
    document = copy.deepcopy(RECORDED)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None and isinstance(node, dict):
            node.pop(leaf, None)
        elif isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return document


PROMOTED = {
    "spec.predictor.canaryTrafficPercent": None,
    "metadata.labels.mlstack.dev/rollout-step": "promoted",
    "status.components.predictor.latestRolledoutRevision": "defects-predictor-00002",
    "status.components.predictor.traffic": [{"latestRevision": True, "percent": 100, "revisionName": "defects-predictor-00002", "tag": "latest"}],
}


def _labels(document: dict[str, Any], **labels: str) -> dict[str, Any]:
    document["metadata"]["labels"].update(labels)
    return document


def promoted() -> dict[str, Any]:
    document = live(**{k: v for k, v in PROMOTED.items() if not k.startswith("metadata")})
    return _labels(document, **{"mlstack.dev/rollout-step": "promoted", "mlstack.dev/promoted-version": "5"})


def rolled_back() -> dict[str, Any]:
    document = live(**{
        "spec.predictor.canaryTrafficPercent": 0,
        "status.components.predictor.traffic": [
            {"latestRevision": True, "percent": 0, "revisionName": "defects-predictor-00002", "tag": "latest"},
            {"latestRevision": False, "percent": 100, "revisionName": "defects-predictor-00001", "tag": "prev"},
        ],
    })
    return _labels(document, **{"mlstack.dev/rollout-step": "rolled-back"})


# ---- the recorded shape ------------------------------------------------------------------------


def test_the_recorded_answer_matches_kserves_schema_strictly():
    from mlstack.components.endpoint.kserve import validate_inference_service

    validate_inference_service(RECORDED)


# ---- each rollout step, as declared and otherwise --------------------------------------------------


def test_a_canary_as_declared_passes(check):
    report = check(live(), promotedVersion=4)
    assert (report.status, report.differences) == ("ok", [])
    assert report.summary == ("InferenceService vision/defects Ready, canary of v5 against v4; "
                              "traffic defects-predictor-00001 90%, defects-predictor-00002 10%")


def test_a_promoted_canary_as_declared_passes(check):
    report = check(promoted(), promotedVersion=5)
    assert (report.status, report.differences) == ("ok", [])
    assert "v5 promoted; traffic defects-predictor-00002 100%" in report.summary


def test_a_rollback_as_declared_passes(check):
    report = check(rolled_back(), promotedVersion=4, rollback=True)
    assert (report.status, report.differences) == ("ok", []), report.differences


def test_promoted_in_the_stack_but_still_a_canary_in_the_cluster_differs(check):
    report = check(live(), promotedVersion=5)
    assert report.failed
    assert any("canaryTrafficPercent 10, the stack's rollout step (promoted) needs no canaryTrafficPercent" in d for d in report.differences)
    assert any("promoted needs all traffic on the latest ready revision defects-predictor-00002" in d for d in report.differences)


def test_a_traffic_split_other_than_the_canarys_differs(check):
    document = live(**{"status.components.predictor.traffic.0.percent": 30, "status.components.predictor.traffic.1.percent": 70})
    report = check(document, promotedVersion=4)
    assert report.failed
    assert any("the canary needs 10% on defects-predictor-00002 and 90% on the last rolled-out revision defects-predictor-00001" in d
               for d in report.differences)


def test_a_rollback_that_left_traffic_on_the_canary_differs(check):
    document = rolled_back()
    document["status"]["components"]["predictor"]["traffic"][0]["percent"] = 10
    document["status"]["components"]["predictor"]["traffic"][1]["percent"] = 90
    report = check(document, promotedVersion=4, rollback=True)
    assert any("declared rolled back, but the latest revision defects-predictor-00002 still has 10%" in d for d in report.differences)


def test_a_newest_revision_that_is_not_ready_differs(check):
    document = live(**{"status.components.predictor.latestCreatedRevision": "defects-predictor-00003"})
    report = check(document, promotedVersion=4)
    assert any("newest revision defects-predictor-00003 is not ready (latest ready: defects-predictor-00002)" in d for d in report.differences)


def test_not_ready_reports_the_reason(check):
    document = live()
    document["status"]["conditions"][5] = {"type": "Ready", "status": "False", "reason": "RevisionMissing", "message": "Revision failed to pull image"}
    report = check(document, promotedVersion=4)
    assert any(d.startswith("is not Ready (Ready=False) (RevisionMissing: Revision failed to pull image)") for d in report.differences)
    assert "not Ready" in report.summary


def test_a_spec_not_yet_reconciled_differs(check):
    report = check(live(**{"metadata.generation": 4}), promotedVersion=4)
    assert any("has not reconciled the latest spec yet (generation 4, observed 3)" in d for d in report.differences)


def test_another_model_or_stack_differs(check):
    document = live(**{"spec.predictor.model.storageUri": "s3://example-models/defects/4/"})
    document["metadata"]["labels"]["mlstack.dev/stack"] = "vision-prod"
    report = check(document, promotedVersion=4)
    assert any("serves 's3://example-models/defects/4/', the stack declares 's3://example-models/defects/5/'" in d for d in report.differences)
    assert any("mlstack.dev/stack='vision-prod', expected 'churn-dev'" in d for d in report.differences)


def test_a_missing_inference_service_differs(check):
    report = check(None, promotedVersion=4)
    assert report.failed
    assert report.summary == "InferenceService vision/defects does not exist (context gpu)"


# ---- hostile and broken answers: no decision ----------------------------------------------------------

HOSTILE = [
    ("percent as text", live(**{"status.components.predictor.traffic.0.percent": "10"}), "traffic[0].percent"),
    ("percent above 100", live(**{"status.components.predictor.traffic.0.percent": 1000}), "traffic[0].percent"),
    ("percent as boolean", live(**{"status.components.predictor.traffic.0.percent": True}), "traffic[0].percent"),
    ("traffic not a list", live(**{"status.components.predictor.traffic": {"a": 1}}), "traffic is dict"),
    ("status a string", live(**{"status": "Ready"}), "status is str"),
    ("canary percent as text", live(**{"spec.predictor.canaryTrafficPercent": "10"}), "canaryTrafficPercent is str"),
    ("not an object", [1, 2, 3], "not a JSON object"),
    ("not json", b"<html>proxy error</html>", "not JSON"),
]


@pytest.mark.parametrize("answer, phrase", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_an_answer_that_cannot_be_read_stops_without_a_decision(check, answer, phrase):
    with pytest.raises(KubeReplyError) as caught:
        check(answer, promotedVersion=4)
    assert phrase in str(caught.value)


def test_an_answer_larger_than_the_cap_is_refused(api, tmp_path, monkeypatch):
    import mlstack.ops.kube as kube

    monkeypatch.setattr(kube, "MAX_REPLY_BYTES", 1024)
    api.routes[ISVC] = (200, live())
    client = KubeClient.from_kubeconfig(kubeconfig=str(kubeconfig(tmp_path, api.url)))
    with pytest.raises(KubeReplyError, match="larger than"):
        client.get(ISVC)


def test_a_redirect_is_not_followed(api, tmp_path):
    api.routes[ISVC] = (302, {})
    client = KubeClient.from_kubeconfig(kubeconfig=str(kubeconfig(tmp_path, api.url)))
    with pytest.raises(KubeReplyError, match="HTTP 302"):
        client.get(ISVC)


def test_forbidden_is_a_setup_error_naming_the_permission(api, tmp_path):
    api.routes[ISVC] = (403, {"kind": "Status", "code": 403, "message": 'inferenceservices.serving.kserve.io "defects" is forbidden'})
    client = KubeClient.from_kubeconfig(kubeconfig=str(kubeconfig(tmp_path, api.url)))
    with pytest.raises(KubeSetupError, match="is forbidden.*needs get on inferenceservices.serving.kserve.io"):
        client.get(ISVC)


# ---- the kubeconfig ---------------------------------------------------------------------------------


def test_kubeconfig_problems_are_setup_errors(tmp_path):
    with pytest.raises(KubeSetupError, match="does not exist"):
        KubeConfig.load(kubeconfig=str(tmp_path / "missing"))
    path = kubeconfig(tmp_path, "https://k8s.example.com")
    with pytest.raises(KubeSetupError, match=r"has no context 'prod' \(it has: gpu\)"):
        KubeConfig.load(kubeconfig=str(path), context="prod")
    bad = kubeconfig(tmp_path, "k8s.example.com", name="bad")
    with pytest.raises(KubeSetupError, match="no usable server URL"):
        KubeConfig.load(kubeconfig=str(bad))
    plain = kubeconfig(tmp_path, "http://k8s.example.com", user={"token": "secret"}, name="plain")
    with pytest.raises(KubeSetupError, match="only over https"):
        KubeConfig.load(kubeconfig=str(plain))
    half = kubeconfig(tmp_path, "https://k8s.example.com", user={"client-certificate-data": base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()}, name="half")
    with pytest.raises(KubeSetupError, match="without its key"):
        KubeConfig.load(kubeconfig=str(half))


def test_kubeconfig_variable_lists_files_and_the_first_definition_wins(tmp_path, monkeypatch):
    first = kubeconfig(tmp_path, "https://first.example.com", name="a")
    second = kubeconfig(tmp_path, "https://second.example.com", name="b")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{first}:{second}")  # missing files are skipped, as kubectl does
    assert KubeConfig.load().server == "https://first.example.com"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    directory = tmp_path_factory.mktemp("tls")
    (directory / "tls.crt").write_bytes(cert_pem)
    (directory / "tls.key").write_bytes(key_pem)
    return directory


@pytest.fixture
def https_api(api, tls):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls / "tls.crt"), str(tls / "tls.key"))
    api.server.socket = context.wrap_socket(api.server.socket, server_side=True)
    return f"https://127.0.0.1:{api.server.server_address[1]}"


def test_https_with_the_kubeconfigs_ca_and_bearer_token(api, https_api, tls, tmp_path):
    api.routes[ISVC] = (200, live())
    ca = base64.b64encode((tls / "tls.crt").read_bytes()).decode()
    path = kubeconfig(tmp_path, https_api, cluster={"certificate-authority-data": ca}, user={"token": "t0ken"})
    assert KubeClient.from_kubeconfig(kubeconfig=str(path)).get(ISVC)["metadata"]["name"] == "defects"
    assert api.requests[-1][1]["Authorization"] == "Bearer t0ken"


def test_https_without_the_ca_is_refused(api, https_api, tmp_path):
    api.routes[ISVC] = (200, live())
    path = kubeconfig(tmp_path, https_api, user={"token": "t0ken"})
    with pytest.raises(KubeSetupError, match="cannot reach the API server.*CERTIFICATE_VERIFY_FAILED"):
        KubeClient.from_kubeconfig(kubeconfig=str(path)).get(ISVC)
    assert not api.requests  # the token never left


def test_an_exec_credential_plugin_supplies_the_token(api, https_api, tls, tmp_path):
    api.routes[ISVC] = (200, live())
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': {'token': 'from-' + os.environ['CLUSTER']}}))\n"
    )
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable, "args": [str(plugin)],
                     "env": [{"name": "CLUSTER", "value": "gpu"}]}}
    path = kubeconfig(tmp_path, https_api, cluster={"certificate-authority": str(tls / "tls.crt")}, user=user)
    KubeClient.from_kubeconfig(kubeconfig=str(path)).get(ISVC)
    assert api.requests[-1][1]["Authorization"] == "Bearer from-gpu"


def test_a_failing_exec_plugin_is_a_setup_error(tmp_path):
    user = {"exec": {"command": sys.executable, "args": ["-c", "import sys; sys.stderr.write('token expired'); sys.exit(3)"]}}
    path = kubeconfig(tmp_path, "https://127.0.0.1:1", user=user)
    with pytest.raises(KubeSetupError, match=r"failed \(exit 3: token expired\)"):
        KubeClient.from_kubeconfig(kubeconfig=str(path)).get(ISVC)


# ---- the command ------------------------------------------------------------------------------------


def _stack(write_stack, **rollout: Any) -> Path:
    return write_stack({"aws:region": "us-east-1", "mlstack:endpoints": [endpoint(**rollout)], "kubernetes:context": "gpu"})


def test_cli_verify_passes_a_canary_as_declared(aws, api, cli, tmp_path, write_stack):
    api.routes[ISVC] = (200, live())
    code, out, err = cli("verify", str(_stack(write_stack, promotedVersion=4)), "--kubeconfig", str(kubeconfig(tmp_path, api.url)))
    assert code == 0, out + err
    assert "OK          defects: InferenceService vision/defects Ready, canary of v5 against v4" in out
    assert "1 endpoint runs as the stack declares" in out


def test_cli_verify_fails_a_promotion_not_yet_deployed(aws, api, cli, tmp_path, write_stack):
    api.routes[ISVC] = (200, live())
    code, out, err = cli("verify", str(_stack(write_stack, promotedVersion=5)), "--kubeconfig", str(kubeconfig(tmp_path, api.url)))
    assert code == 1, out + err
    assert "MISMATCH    defects" in out and "1 of 1 checked endpoint differs" in out


def test_cli_verify_reports_a_missing_inference_service(aws, api, cli, tmp_path, write_stack):
    code, out, err = cli("verify", str(_stack(write_stack)), "--kubeconfig", str(kubeconfig(tmp_path, api.url)))
    assert code == 1, out + err
    assert "InferenceService vision/defects does not exist (context gpu)" in out


def test_cli_verify_stops_on_an_unreadable_answer_with_exit_1(aws, api, cli, tmp_path, write_stack):
    api.routes[ISVC] = (200, b"{not json")
    code, out, err = cli("verify", str(_stack(write_stack)), "--kubeconfig", str(kubeconfig(tmp_path, api.url)))
    assert code == 1, out + err
    assert "could not read the Kubernetes answer" in err and "Traceback" not in err


def test_cli_verify_with_a_bad_kubeconfig_exits_2_before_asking_aws(cli, tmp_path, write_stack, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: an AWS call would fail differently
    code, out, err = cli("verify", str(_stack(write_stack)), "--kubeconfig", str(tmp_path / "missing"))
    assert code == 2, out + err
    assert "kubeconfig" in err and "does not exist" in err and "Traceback" not in err


def test_cli_verify_without_a_kubeconfig_exits_2_unless_kserve_is_skipped(aws, cli, tmp_path, write_stack, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    code, out, err = cli("verify", str(_stack(write_stack)))
    assert code == 2, out + err
    assert "does not exist" in err and "--skip-kserve" in err
    code, out, err = cli("verify", str(_stack(write_stack)), "--skip-kserve")
    assert code == 0, out + err
    assert "NOT CHECKED defects: not checked (kserve)" in out


def test_cli_verify_with_an_unknown_context_exits_2(cli, api, tmp_path, write_stack):
    code, out, err = cli("verify", str(_stack(write_stack)), "--kubeconfig", str(kubeconfig(tmp_path, api.url)), "--context", "prod")
    assert code == 2, out + err
    assert "has no context 'prod' (it has: gpu)" in err
