"""A small, read-only Kubernetes API reader for ``mlstack verify``: the kubeconfig's server, CA and
credentials, and JSON GETs over HTTPS with bounded time and size.

mlstack reads one object per KServe endpoint, so it does not depend on the ``kubernetes``
client package; it reads the kubeconfig as ``kubectl`` does (client-go's
``tools/clientcmd/api/v1`` types): ``current-context`` or the context asked for, its
``cluster`` (``server``, ``certificate-authority`` / ``-data``, ``insecure-skip-tls-verify``;
the server certificate is checked against the server URL's host, ``tls-server-name`` is not
supported) and ``user`` (``token``, ``tokenFile``, ``client-certificate`` / ``-data`` with
``client-key`` / ``-data``, ``username``/``password``, or an ``exec`` credential plugin such as
``aws eks get-token``, run with ``KUBERNETES_EXEC_INFO`` and read as a
``client.authentication.k8s.io`` ExecCredential). ``KUBECONFIG`` may list several files: as
kubectl does, the first file to define a name wins and missing files are skipped.

Errors: a kubeconfig that cannot be used, a cluster that cannot be reached or refuses the
credentials raise :class:`KubeSetupError` (exit 2); an answer that is not the JSON object asked
for raises :class:`KubeReplyError` (exit 1: no decision on what cannot be read). ::

    kube = KubeClient.from_kubeconfig(context="vision-gpu-prod")
    isvc = kube.get("/apis/serving.kserve.io/v1beta1/namespaces/vision/inferenceservices/defects")
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

__all__ = ["KubeClient", "KubeConfig", "KubeError", "KubeSetupError", "KubeReplyError", "KubeNotFound"]

MAX_REPLY_BYTES = 8 << 20
"""The largest API answer read (8 MiB; one InferenceService is a few KiB)."""
MAX_KUBECONFIG_BYTES = 4 << 20
DEFAULT_TIMEOUT = 30.0
EXEC_TIMEOUT = 60.0


class KubeError(Exception):
    """A Kubernetes API problem; ``exit_code`` is what the command exits with."""

    exit_code = 1


class KubeSetupError(KubeError):
    """The kubeconfig, the cluster's reachability or the credentials: fix the setup (exit 2)."""

    exit_code = 2


class KubeReplyError(KubeError):
    """An answer that is not what the API promises: no decision is made on it (exit 1)."""


class KubeNotFound(KubeError):
    """HTTP 404: the object does not exist."""


def _load_yaml(text: str, where: str) -> Mapping[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeSetupError(f"kubeconfig {where} is not YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise KubeSetupError(f"kubeconfig {where} nests too deeply to read") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise KubeSetupError(f"kubeconfig {where} is not a YAML mapping (apiVersion: v1, kind: Config)")
    return data


def _named(entries: Any, where: str, key: str) -> list[tuple[str, Mapping[str, Any]]]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise KubeSetupError(f"kubeconfig {where}: {key} is not a list")
    out = []
    for i, entry in enumerate(entries):
        inner = entry.get(key[:-1]) if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not isinstance(inner, Mapping):
            raise KubeSetupError(f"kubeconfig {where}: {key}[{i}] needs a name and a {key[:-1]} mapping")
        out.append((entry["name"], inner))
    return out


@dataclass
class KubeConfig:
    """What one context of a kubeconfig says: where the API server is and who to be there."""

    context: str
    server: str
    namespace: Optional[str] = None
    ca_data: Optional[str] = None
    """PEM of the CA to trust (None: the system's)."""
    insecure: bool = False
    token: Optional[str] = None
    client_cert_pem: Optional[bytes] = None
    client_key_pem: Optional[bytes] = None
    basic: Optional[tuple[str, str]] = None
    exec_spec: Optional[Mapping[str, Any]] = None
    base_dir: Path = field(default_factory=Path.cwd)

    @classmethod
    def load(cls, *, kubeconfig: Optional[str] = None, context: Optional[str] = None) -> "KubeConfig":
        """The kubeconfig at ``kubeconfig`` (a path, or the YAML itself as Pulumi's
        ``kubernetes:kubeconfig`` allows), else ``$KUBECONFIG`` (files separated by ``:``), else
        ``~/.kube/config``; its ``context``, else its current-context."""
        sources: list[tuple[str, str, Path]] = []  # (where, text, directory relative paths start from)
        if kubeconfig is not None and ("\n" in kubeconfig or kubeconfig.lstrip().startswith(("{", "apiVersion"))):
            sources.append(("(inline kubernetes:kubeconfig)", kubeconfig, Path.cwd()))
        else:
            paths = [kubeconfig] if kubeconfig else [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
            if not paths:
                paths = [str(Path.home() / ".kube" / "config")]
            from ..errors import UsageError
            from ..files import read_text

            for raw in paths:
                path = Path(raw).expanduser()
                if not path.exists() and not path.is_symlink():
                    if kubeconfig or len(paths) == 1:
                        raise KubeSetupError(
                            f"kubeconfig {path} does not exist; pass --kubeconfig, set KUBECONFIG, or write it with "
                            "`aws eks update-kubeconfig --name <cluster>`"
                        )
                    continue  # kubectl skips missing files of a KUBECONFIG list
                try:
                    # Read as every mlstack input is: size-capped, text only, recorded as read.
                    sources.append((str(path), read_text(path, what="kubeconfig", limit=MAX_KUBECONFIG_BYTES), path.parent))
                except UsageError as exc:
                    raise KubeSetupError(str(exc)) from None
        clusters: dict[str, tuple[Mapping[str, Any], Path]] = {}
        users: dict[str, tuple[Mapping[str, Any], Path]] = {}
        contexts: dict[str, Mapping[str, Any]] = {}
        current = None
        for where, text, base in sources:
            data = _load_yaml(text, where)
            for name, value in _named(data.get("clusters"), where, "clusters"):
                clusters.setdefault(name, (value, base))
            for name, value in _named(data.get("users"), where, "users"):
                users.setdefault(name, (value, base))
            for name, value in _named(data.get("contexts"), where, "contexts"):
                contexts.setdefault(name, value)
            if current is None and isinstance(data.get("current-context"), str) and data["current-context"]:
                current = data["current-context"]
        where = ", ".join(s[0] for s in sources)
        name = context or current
        if not name:
            raise KubeSetupError(f"kubeconfig {where} has no current-context; pass --context or set kubernetes:context in the stack")
        if name not in contexts:
            known = ", ".join(sorted(contexts)) or "none"
            raise KubeSetupError(f"kubeconfig {where} has no context {name!r} (it has: {known}); pass --context with one of them")
        ctx = contexts[name]
        cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
        if cluster_name not in clusters:
            raise KubeSetupError(f"kubeconfig {where}: context {name!r} names cluster {cluster_name!r}, which is not defined")
        cluster, cluster_base = clusters[cluster_name]
        user, user_base = users.get(user_name, ({}, cluster_base)) if user_name else ({}, cluster_base)
        if user_name and user_name not in users:
            raise KubeSetupError(f"kubeconfig {where}: context {name!r} names user {user_name!r}, which is not defined")
        server = cluster.get("server")
        if not isinstance(server, str) or urllib.parse.urlsplit(server).scheme not in ("https", "http") or not urllib.parse.urlsplit(server).netloc:
            raise KubeSetupError(f"kubeconfig {where}: cluster {cluster_name!r} has no usable server URL (got {server!r}); expected https://<host>[:port]")
        config = cls(context=name, server=server.rstrip("/"), namespace=ctx.get("namespace") if isinstance(ctx.get("namespace"), str) else None,
                     base_dir=user_base)
        config.insecure = cluster.get("insecure-skip-tls-verify") is True
        config.ca_data = _pem(cluster, "certificate-authority", cluster_base, where, text=True)
        config.token = user.get("token") if isinstance(user.get("token"), str) and user.get("token") else None
        token_file = user.get("tokenFile")
        if config.token is None and isinstance(token_file, str) and token_file:
            config.token = _read(_resolve(token_file, user_base), where, "tokenFile").decode().strip()
        cert = _pem(user, "client-certificate", user_base, where)
        key = _pem(user, "client-key", user_base, where)
        if (cert is None) != (key is None):
            raise KubeSetupError(f"kubeconfig {where}: user {user_name!r} has a client certificate without its key, or a key without its certificate")
        config.client_cert_pem, config.client_key_pem = cert, key
        if isinstance(user.get("username"), str) and isinstance(user.get("password"), str):
            config.basic = (user["username"], user["password"])
        if user.get("exec") is not None:
            if not isinstance(user["exec"], Mapping) or not isinstance(user["exec"].get("command"), str):
                raise KubeSetupError(f"kubeconfig {where}: user {user_name!r}: exec needs a command")
            config.exec_spec = user["exec"]
        if config.server.startswith("http://") and (config.token or config.basic or config.exec_spec):
            raise KubeSetupError(f"kubeconfig {where}: cluster {cluster_name!r} is plain http:// but user {user_name!r} has credentials; "
                                 "mlstack sends credentials only over https://")
        return config


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _read(path: Path, where: str, key: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_KUBECONFIG_BYTES)
    except OSError as exc:
        raise KubeSetupError(f"kubeconfig {where}: {key} {path} cannot be read ({exc.strerror or exc})") from None


def _pem(entry: Mapping[str, Any], key: str, base: Path, where: str, *, text: bool = False) -> Any:
    data = entry.get(f"{key}-data")
    if isinstance(data, str) and data:
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise KubeSetupError(f"kubeconfig {where}: {key}-data is not base64") from None
    elif isinstance(entry.get(key), str) and entry.get(key):
        raw = _read(_resolve(entry[key], base), where, key)
    else:
        return None
    if b"-----BEGIN" not in raw:
        raise KubeSetupError(f"kubeconfig {where}: {key} is not PEM")
    return raw.decode("ascii", "replace") if text else raw


class KubeClient:
    """JSON GETs against one cluster, as one kubeconfig context allows. Read-only by design."""

    def __init__(self, config: KubeConfig, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.config = config
        self.timeout = timeout
        self._token: Optional[str] = config.token
        self._context: Optional[ssl.SSLContext] = None

    @classmethod
    def from_kubeconfig(cls, *, kubeconfig: Optional[str] = None, context: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> "KubeClient":
        return cls(KubeConfig.load(kubeconfig=kubeconfig, context=context), timeout=timeout)

    def _ssl(self) -> Optional[ssl.SSLContext]:
        if not self.config.server.startswith("https://"):
            return None
        if self._context is None:
            ctx = ssl.create_default_context(cadata=self.config.ca_data) if self.config.ca_data else ssl.create_default_context()
            if self.config.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            cert, key = self.config.client_cert_pem, self.config.client_key_pem
            if cert is not None and key is not None:
                _load_chain(ctx, cert, key)
            self._context = ctx
        return self._context

    def _exec_credential(self) -> None:
        spec = self.config.exec_spec
        assert spec is not None
        api = spec.get("apiVersion") if isinstance(spec.get("apiVersion"), str) else "client.authentication.k8s.io/v1beta1"
        env = dict(os.environ)
        for item in spec.get("env") or []:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
                env[item["name"]] = item["value"]
        env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api, "kind": "ExecCredential", "spec": {"interactive": False}})
        argv = [spec["command"], *[str(a) for a in (spec.get("args") or [])]]
        try:
            done = subprocess.run(argv, env=env, capture_output=True, timeout=EXEC_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            raise KubeSetupError(f"kubeconfig context {self.config.context!r}: credential plugin {spec['command']!r} is not installed") from None
        except subprocess.TimeoutExpired:
            raise KubeSetupError(f"kubeconfig context {self.config.context!r}: credential plugin {spec['command']!r} did not answer in {EXEC_TIMEOUT:g} s") from None
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise KubeSetupError(f"kubeconfig context {self.config.context!r}: credential plugin {spec['command']!r} failed (exit {done.returncode}: {detail[0][:200]})")
        try:
            status = json.loads(done.stdout)["status"]
        except (ValueError, KeyError, TypeError):
            raise KubeSetupError(f"kubeconfig context {self.config.context!r}: credential plugin {spec['command']!r} printed no ExecCredential") from None
        if isinstance(status, Mapping) and isinstance(status.get("token"), str) and status["token"]:
            self._token = status["token"]
        elif isinstance(status, Mapping) and isinstance(status.get("clientCertificateData"), str) and isinstance(status.get("clientKeyData"), str):
            self.config.client_cert_pem = status["clientCertificateData"].encode()
            self.config.client_key_pem = status["clientKeyData"].encode()
            self._context = None
        else:
            raise KubeSetupError(f"kubeconfig context {self.config.context!r}: credential plugin {spec['command']!r} returned neither a token nor a client certificate")

    def get(self, path: str) -> dict[str, Any]:
        """GET ``path`` (``/apis/...``) and return its JSON object."""
        if self.config.exec_spec is not None and self._token is None and self.config.client_cert_pem is None:
            self._exec_credential()
        url = self.config.server + path
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "mlstack-verify"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        elif self.config.basic:
            user, password = self.config.basic
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        where = f"GET {path} on {self.config.server} (context {self.config.context})"
        try:
            opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=self._ssl()), _NoRedirect())
            with opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = _status_message(exc)
            if status == 404:
                raise KubeNotFound(f"{where}: not found") from None
            if status in (401, 403):
                raise KubeSetupError(f"{where}: HTTP {status} {detail}; the context's credentials may not read this object "
                                     "(it needs get on inferenceservices.serving.kserve.io in the namespace)") from None
            raise KubeReplyError(f"{where}: HTTP {status} {detail}") from None
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", exc)
            raise KubeSetupError(f"{where}: cannot reach the API server ({reason})") from None
        if len(body) > MAX_REPLY_BYTES:
            raise KubeReplyError(f"{where}: the answer is larger than {MAX_REPLY_BYTES >> 20} MiB")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise KubeReplyError(f"{where}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise KubeReplyError(f"{where}: the answer is not a JSON object")
        return data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The API server does not redirect; following one could carry the bearer token elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib's signature
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


def _status_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read(64 << 10))
        message = body.get("message") if isinstance(body, dict) else None
        return str(message)[:300] if message else (exc.reason or "")
    except Exception:  # a garbled error body still reports the status
        return str(exc.reason or "")


def _load_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl loads client certificates from files only: a private directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="mlstack-kube-") as tmp:
        cert_path, key_path = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        try:
            ctx.load_cert_chain(str(cert_path), str(key_path))
        except ssl.SSLError as exc:
            raise KubeSetupError(f"the kubeconfig's client certificate or key cannot be loaded ({exc.reason or exc})") from None
