"""The sagemaker SDK, kept offline: whether it is installed (:func:`sdk_missing`,
:func:`require_sdk`) and a sandbox to import and use it in (:func:`offline_sdk`).

The SDK (v3) is heavy (hundreds of MB, ~1.5 s to import), so it is imported lazily, on the first
pipeline definition built in a process — never by ``import mlstack`` or ``mlstack --help``. It is
not a core dependency either: ``pip install 'mlstack[pipelines]'`` installs it, and
:func:`require_sdk` stops a stack that declares training, before anything is registered, when it
is missing (a message naming the extra, exit 2 in the CLI, no traceback).

A narrower import does not make a miss cheaper (measured here, CPU seconds of a fresh process,
sagemaker 3.27): ``import sagemaker.core.workflow`` alone costs 1.4 s, because
``sagemaker/core/__init__.py`` imports ``sagemaker.core.processing`` (and with it most of the
core) whatever submodule is asked for; the steps a pipeline needs live in
``sagemaker.mlops.workflow``, whose package ``__init__`` imports ``sagemaker.serve`` and
``sagemaker.train`` (2.2 s, 344 modules); importing everything ``definition._definition`` uses costs the
same 2.2 s. So a miss imports what it needs and the on-disk cache
(:mod:`mlstack.cache`) is what keeps warm runs from importing the SDK at all.

Inside :func:`offline_sdk` building needs no credentials and no network:

* ``AWS_DEFAULT_REGION`` is set before the import (some SDK modules create boto3 clients when
  imported) and ``SAGEMAKER_VALIDATE_ROLE=false`` stops role look-ups;
* the SDK's boto3 session has *no* credential providers, so a call to AWS fails at once with
  NoCredentialsError instead of reaching the network — even during a real ``pulumi up``
  where credentials exist. While the SDK is imported and builds, boto3's default session is
  that session and every botocore session the SDK makes itself (it makes a few) gets no
  credential providers either, so nothing probes the instance metadata service;
* the SDK's chatter (logging.basicConfig at import, INFO on every step) stays out of
  ``mlstack plan`` and ``pulumi up``, and its defaults config is validated once per process.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import warnings
from typing import Any, Iterator, Optional

__all__ = ["SDK_EXTRA", "sdk_missing", "require_sdk", "offline_sdk", "builder_fingerprint"]

_IMPORT_LOCK = threading.Lock()

#: What installs the SDK that builds pipeline definitions (pyproject's ``pipelines`` extra).
SDK_EXTRA = "pip install 'mlstack[pipelines]'"
_SDK_DISTRIBUTION = "sagemaker"
_SDK_MAJOR = 3


def sdk_missing() -> Optional[str]:
    """Why the sagemaker SDK cannot build pipeline definitions here, or None when it can.

    Reads the installed distribution's metadata only: importing the SDK takes seconds (and
    must happen inside :func:`offline_sdk`), and sagemaker 2.x shares its import name."""
    from importlib import metadata

    try:
        version = metadata.version(_SDK_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "the sagemaker SDK, which builds SageMaker pipeline definitions, is not installed"
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) != _SDK_MAJOR:
        return f"sagemaker {version} is installed; pipeline definitions are built with sagemaker>=3,<4"
    return None


#: Distributions besides the SDK's own (``sagemaker`` and the ``sagemaker-*`` parts it requires)
#: whose code runs while a definition is built: botocore's models and pydantic's serialisation.
_BUILD_DISTRIBUTIONS = ("boto3", "botocore", "pydantic", "pydantic-core")
#: mlstack's files that decide what a definition holds (the catalog says which instance types
#: have local storage, so no volume key).
# Every mlstack module (and data file) the build reads: a change to any of them is a change of
# the builder (tests/test_cache.py checks this list against definition.py's imports).
_BUILD_SOURCES = ("definition.py", "sdk.py", "iam.py", "../../catalog/__init__.py", "../../catalog/instance_storage.json")


@functools.lru_cache(maxsize=None)
def builder_fingerprint() -> str:
    """What besides its inputs a pipeline definition depends on, as text: the Python version,
    the version and the SHA-256 of the installed-files record (RECORD, which lists every file
    with its hash) of the SDK and of each ``sagemaker-*`` distribution it requires — an upgrade,
    a downgrade or a rebuilt install is another fingerprint — and of boto3, botocore and
    pydantic, and the SHA-256 of mlstack's own code that builds definitions. Read from
    installed metadata and files, without importing the SDK (a few milliseconds)."""
    import hashlib
    import re
    import sys
    from importlib import metadata
    from pathlib import Path

    names = {_SDK_DISTRIBUTION, *_BUILD_DISTRIBUTIONS}
    try:
        for requirement in metadata.requires(_SDK_DISTRIBUTION) or ():
            name = re.match(r"[A-Za-z0-9._-]+", requirement)
            if name and name[0].lower().startswith("sagemaker"):
                names.add(name[0].lower())
    except metadata.PackageNotFoundError:
        pass
    parts: dict[str, object] = {"python": list(sys.version_info[:2])}
    for name in sorted(names):
        try:
            dist = metadata.distribution(name)
            # RECORD lists every installed file with its hash: a rebuilt or patched install of the
            # same version is another fingerprint too.
            record = dist.read_text("RECORD") or ""
            parts[name] = [dist.version, hashlib.sha256(record.encode("utf-8")).hexdigest()]
        except metadata.PackageNotFoundError:
            parts[name] = None
    here = Path(__file__).parent
    code = hashlib.sha256()
    for source in _BUILD_SOURCES:
        code.update(source.encode() + b"\0" + (here / source).read_bytes() + b"\0")
    parts["mlstack-code"] = code.hexdigest()
    return json.dumps(parts, sort_keys=True)


def require_sdk(where: list[tuple[str, str]]) -> None:
    """Raise a :class:`~mlstack.errors.ConfigError` when the SDK is missing, with one problem
    per ``(key path, subject)`` in ``where`` — what declares a training pipeline, e.g.
    ``("mlstack:models[0].training", "model 'churn-xgb'")``."""
    reason = sdk_missing()
    if reason is None:
        return
    from ...errors import ConfigError, Problem

    raise ConfigError(
        [Problem(path, f"{subject} trains with a SageMaker pipeline, but {reason}", hint=f"run: {SDK_EXTRA}") for path, subject in where],
        title="a missing optional dependency",
    )


@functools.lru_cache(maxsize=None)
def _credentialless_session(region: str) -> Any:
    """A boto3 session for ``region`` with no credential providers at all (kept per process:
    its loaded service models make later definitions faster)."""
    import boto3
    import botocore.credentials
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("region", region)
    core.register_component("credential_provider", botocore.credentials.CredentialResolver(providers=[]))
    return boto3.Session(botocore_session=core)


def _no_credentials(*args: Any, **kwargs: Any) -> Any:
    import botocore.credentials

    return botocore.credentials.CredentialResolver(providers=[])


@contextlib.contextmanager
def offline_sdk(region: str) -> Iterator[Any]:
    """Import and use the SDK with no credentials, no network, no config files and no noise."""
    import boto3
    import botocore.credentials

    session = _credentialless_session(region)
    # The SDK also makes boto3 sessions of its own (a local-mode session inside every
    # ProcessingStep, clients at import): while it builds, every new botocore session gets no
    # credential providers either, so none probes the instance metadata or container endpoint.
    real_resolver = botocore.credentials.create_credential_resolver

    saved_env = {k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION", "SAGEMAKER_VALIDATE_ROLE")}
    saved_default = boto3.DEFAULT_SESSION
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    boto3.DEFAULT_SESSION = session
    botocore.credentials.create_credential_resolver = _no_credentials
    quieted: dict[logging.Logger, int] = {}
    patched: list[tuple[Any, str, Any]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _IMPORT_LOCK:
                try:
                    import sagemaker.core.workflow  # noqa: F401  (the import that creates boto3 clients)
                except ImportError as exc:  # an install that require_sdk's metadata check could not see
                    from ...errors import ConfigError, Problem

                    raise ConfigError(
                        [Problem("", f"the sagemaker SDK that builds pipeline definitions cannot be imported: {exc}", hint=f"run: {SDK_EXTRA}")],
                        title="a missing optional dependency",
                    ) from None
            # Some SDK modules call logging.basicConfig() when imported: give the root logger back,
            # and keep the SDK's chatter (INFO on every step, WARNINGs about fields it drops) out
            # of `mlstack plan` and `pulumi up` while it builds.
            root.handlers[:] = saved_root[0]
            root.setLevel(saved_root[1])
            patched = _validate_sdk_config_once()
            for name, logger in list(logging.Logger.manager.loggerDict.items()):
                if (name == "sagemaker" or name.startswith("sagemaker.")) and isinstance(logger, logging.Logger):
                    quieted[logger] = logger.level
                    logger.setLevel(logging.ERROR)
            yield session
    finally:
        botocore.credentials.create_credential_resolver = real_resolver
        boto3.DEFAULT_SESSION = saved_default
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for logger, level in quieted.items():
            logger.setLevel(level)
        for owner, attribute, original in patched:
            setattr(owner, attribute, original)


_VALID_SDK_CONFIGS: set[str] = set()


def _validate_sdk_config_once() -> list[tuple[Any, str, Any]]:
    """The SDK re-validates its defaults config against its JSON Schema (meta-schema check
    included, ~0.25 s) on every config look-up, some 40 per pipeline. Validate each distinct
    config once per process instead, with the SDK's own function; returns what to restore."""
    from sagemaker.core.config import config_manager
    from sagemaker.core.helper import session_helper

    def once(real: Any) -> Any:
        def validate(sagemaker_config: Optional[dict] = None) -> None:
            key = json.dumps(sagemaker_config, sort_keys=True, default=str)
            if key not in _VALID_SDK_CONFIGS:
                real(sagemaker_config)
                _VALID_SDK_CONFIGS.add(key)

        return validate

    manager = config_manager.SageMakerConfig
    originals = [
        (manager, "validate_sagemaker_config", manager.__dict__["validate_sagemaker_config"]),
        (session_helper, "validate_sagemaker_config", session_helper.validate_sagemaker_config),
    ]
    manager.validate_sagemaker_config = staticmethod(once(originals[0][2].__func__))  # type: ignore[method-assign]
    session_helper.validate_sagemaker_config = once(originals[1][2])
    return originals
