"""boto3 clients for day-2 operations, and AWS failures turned into readable errors.

:class:`Aws` builds clients from the standard AWS settings — the credential chain, profile,
region, ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) — with explicit overrides
from the command line (``--endpoint-url``, ``--region``, ``--profile``), so the commands run
against any AWS-compatible endpoint. Throttled calls are retried with exponential backoff
(botocore's ``standard`` retry mode by default, ``adaptive`` on request)::

    aws = Aws(AwsSettings(region="eu-west-1", endpoint_url="http://127.0.0.1:5000", max_attempts=3))
    sagemaker = aws.client("sagemaker")

:func:`translate` maps a botocore exception to an :class:`OpsError` that says what failed and how
to fix it, with the exit code the CLI returns: 2 for setup problems the user must fix (no
credentials, access denied, unreachable endpoint, bad settings), 1 for a failed operation
(missing resource, throttled beyond the retry budget, a service error).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

__all__ = [
    "Aws",
    "AwsSettings",
    "OpsError",
    "translate",
    "error_code",
    "is_not_found",
    "is_throttling",
    "is_access_denied",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RETRY_MODE",
]

#: Attempts per call (the first try included) unless --max-attempts or AWS_MAX_ATTEMPTS says otherwise.
DEFAULT_MAX_ATTEMPTS = 8
#: botocore retry mode: ``standard`` backs off exponentially with jitter on throttling and
#: transient errors; ``adaptive`` also rate-limits the client after throttling.
DEFAULT_RETRY_MODE = "standard"
RETRY_MODES = ("standard", "adaptive", "legacy")

#: IAM action prefix per boto3 service name (for "grant the caller X" hints).
_IAM_PREFIX = {
    "cloudwatch": "cloudwatch",
    "resourcegroupstaggingapi": "tag",
    "sagemaker": "sagemaker",
    "s3": "s3",
    "sts": "sts",
}

_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "NotAuthorized",
    "AllAccessDisabled",
}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
}
_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
}
_NOT_FOUND = {
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "NoSuchKey",
    "NoSuchBucket",
    "NoSuchEntity",
    "404",
}
# SageMaker answers most missing-resource lookups with a ValidationException.
_NOT_FOUND_PHRASES = ("could not find", "not found", "does not exist", "cannot find")


class OpsError(Exception):
    """An operation could not be carried out; ``exit_code`` is what the CLI returns (1 or 2)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def _env_int(name: str) -> Optional[int]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise OpsError(f"{name}={raw!r} is not a whole number; set it to e.g. 5 or unset it", exit_code=2) from None


@dataclass(frozen=True)
class AwsSettings:
    """Where and how to reach AWS. ``None`` means: the standard AWS setting (environment, profile)."""

    region: Optional[str] = None
    """Region of the stack's resources (the stack's aws:region unless overridden)."""
    profile: Optional[str] = None
    """A named profile of the shared AWS config files (else AWS_PROFILE, else the default chain)."""
    endpoint_url: Optional[str] = None
    """Send every call to this AWS-compatible endpoint (else AWS_ENDPOINT_URL[_<SERVICE>], else AWS)."""
    max_attempts: Optional[int] = None
    """Attempts per call including the first (else AWS_MAX_ATTEMPTS, else DEFAULT_MAX_ATTEMPTS)."""
    retry_mode: Optional[Literal["standard", "adaptive", "legacy"]] = None
    """botocore retry mode (else AWS_RETRY_MODE, else standard)."""

    def resolved_retries(self) -> dict[str, Any]:
        """The botocore ``retries`` config these settings give."""
        attempts = self.max_attempts if self.max_attempts is not None else _env_int("AWS_MAX_ATTEMPTS")
        if attempts is None:
            attempts = DEFAULT_MAX_ATTEMPTS
        if attempts < 1:
            raise OpsError(f"max attempts must be at least 1 (got {attempts}); 1 means no retries", exit_code=2)
        mode = self.retry_mode or os.environ.get("AWS_RETRY_MODE", "").strip() or DEFAULT_RETRY_MODE
        if mode not in RETRY_MODES:
            raise OpsError(f"retry mode {mode!r} is not one of {', '.join(RETRY_MODES)}; fix --retry-mode or AWS_RETRY_MODE", exit_code=2)
        # botocore's "max_attempts" counts retries only; "total_max_attempts" counts the first try
        # too, as AWS_MAX_ATTEMPTS and --max-attempts do.
        return {"mode": mode, "total_max_attempts": attempts}

    def effective_endpoint(self, service: str | None = None) -> Optional[str]:
        """The endpoint override in effect (explicit, then the environment), or None for AWS itself."""
        if self.endpoint_url:
            return self.endpoint_url
        if service:
            specific = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}", "").strip()
            if specific:
                return specific
        return os.environ.get("AWS_ENDPOINT_URL", "").strip() or None


@dataclass
class Aws:
    """A boto3 session and one client per service, built from :class:`AwsSettings`.

    Example::

        aws = Aws(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:5000"))
        aws.client("sagemaker").list_model_package_groups()
    """

    settings: AwsSettings = field(default_factory=AwsSettings)
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3
            from botocore.exceptions import BotoCoreError

            try:
                self._session = boto3.session.Session(profile_name=self.settings.profile, region_name=self.settings.region)
            except BotoCoreError as exc:
                raise translate(exc, self) from None
        return self._session

    @property
    def region(self) -> str:
        return self.session.region_name or "us-east-1"

    def client(self, service: str) -> Any:
        """A client for ``service`` (cached), with retries, timeouts and the endpoint override."""
        if service not in self._clients:
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError

            endpoint = self.settings.effective_endpoint(service)
            config = Config(
                retries=self.settings.resolved_retries(),
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="mlstack-ops",
                # AWS-compatible servers (moto, LocalStack, MinIO) serve buckets by path.
                s3={"addressing_style": "path"} if service == "s3" and endpoint else None,
            )
            try:
                self._clients[service] = self.session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.settings.endpoint_url or None,
                    config=config,
                )
            except ValueError as exc:  # e.g. a malformed endpoint URL or credential provider setting
                if self.settings.endpoint_url:
                    raise OpsError(f"endpoint URL {self.settings.endpoint_url!r} is not usable: {exc}; pass a URL such as http://127.0.0.1:5000", exit_code=2) from None
                raise OpsError(f"cannot set up the AWS client: {exc}; check the AWS_* environment variables and config files", exit_code=2) from None
            except BotoCoreError as exc:
                raise translate(exc, self) from None
        return self._clients[service]

    def check_account(self, expected: str, *, stack: str) -> None:
        """Stop (exit 2) when the credentials in use belong to another account than ``expected``."""
        actual = self.client("sts").get_caller_identity()["Account"]
        if actual != expected:
            raise OpsError(
                f"stack {stack!r} lives in account {expected} (mlstack:accountId) but the AWS credentials in use "
                f"belong to {actual}; switch credentials (e.g. --profile) or fix mlstack:accountId",
                exit_code=2,
            )

    def iam_action(self, operation: str) -> str:
        """``sagemaker:ListModelPackages`` for an operation one of this object's clients calls."""
        for service, client in self._clients.items():
            if operation in client.meta.service_model.operation_names:
                return f"{_IAM_PREFIX.get(service, service)}:{operation}"
        return operation


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message") or "").strip()


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)


def is_not_found(exc: BaseException) -> bool:
    """Whether a ClientError says the resource does not exist."""
    code = error_code(exc)
    if code in _NOT_FOUND:
        return True
    if code == "ValidationException":
        message = _error_message(exc).lower()
        return any(phrase in message for phrase in _NOT_FOUND_PHRASES)
    return False


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in _THROTTLING


def is_access_denied(exc: BaseException) -> bool:
    return error_code(exc) in _ACCESS_DENIED or (_status(exc) == 403 and error_code(exc) not in _BAD_CREDENTIALS)


def translate(exc: BaseException, aws: Optional[Aws] = None) -> OpsError:
    """An :class:`OpsError` for a botocore exception: what went wrong and how to fix it."""
    from botocore import exceptions as bce

    settings = aws.settings if aws else AwsSettings()
    endpoint = settings.effective_endpoint()
    where = f" at {endpoint}" if endpoint else ""
    if isinstance(exc, OpsError):
        return exc
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return OpsError(
            f"no usable AWS credentials ({exc}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "choose a profile with AWS_PROFILE or --profile, or sign in with `aws sso login`",
            exit_code=2,
        )
    if isinstance(exc, bce.ProfileNotFound):
        return OpsError(f"{exc}; list profiles with `aws configure list-profiles` or drop --profile/AWS_PROFILE", exit_code=2)
    if isinstance(exc, (bce.CredentialRetrievalError, bce.TokenRetrievalError, bce.SSOError, bce.NoAuthTokenError)):
        return OpsError(f"cannot obtain AWS credentials: {exc}; refresh them (e.g. `aws sso login`) and retry", exit_code=2)
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ProxyConnectionError, bce.SSLError)):
        return OpsError(
            f"cannot reach AWS{where}: {exc}; check the network, --endpoint-url / AWS_ENDPOINT_URL and the region",
            exit_code=2,
        )
    if isinstance(exc, (bce.ReadTimeoutError, bce.ConnectionClosedError)):
        return OpsError(f"AWS{where} did not answer in time: {exc}; retry later", exit_code=1)
    if isinstance(exc, bce.NoRegionError):
        return OpsError("no AWS region: set aws:region in the stack file, AWS_REGION, or pass --region", exit_code=2)
    if isinstance(exc, bce.ParamValidationError):
        return OpsError(f"invalid request: {exc}", exit_code=2)
    if isinstance(exc, bce.ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "") or "the call"
        action = aws.iam_action(operation) if aws else operation
        message = _error_message(exc) or str(exc)
        if code in _BAD_CREDENTIALS:
            return OpsError(
                f"AWS{where} rejected the credentials ({code}: {message}); they are invalid or expired: refresh them, "
                "or check that they belong to the account and partition you are calling",
                exit_code=2,
            )
        if is_access_denied(exc):
            return OpsError(
                f"access denied: {action} ({code}: {message}); grant the caller {action} on this resource "
                "or use credentials that have it",
                exit_code=2,
            )
        if is_throttling(exc):
            attempts = (exc.response.get("ResponseMetadata") or {}).get("RetryAttempts", 0) + 1
            return OpsError(
                f"AWS throttled {action} and {attempts} attempt{'s' if attempts != 1 else ''} did not get through "
                f"({code}: {message}); retry later or raise --max-attempts (or AWS_MAX_ATTEMPTS)",
                exit_code=1,
            )
        if is_not_found(exc):
            return OpsError(f"not found: {action} ({code}: {message})", exit_code=1)
        return OpsError(f"{action} failed ({code or 'error'}: {message})", exit_code=1)
    if isinstance(exc, bce.BotoCoreError):
        return OpsError(f"AWS call failed: {exc}", exit_code=1)
    return OpsError(f"{type(exc).__name__}: {exc}", exit_code=1)
