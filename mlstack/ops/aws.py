"""boto3 clients for day-2 operations, and AWS failures turned into readable errors.

:class:`Aws` builds clients from the standard AWS settings — the credential chain, profile,
region, ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) — with explicit overrides
from the command line (``--endpoint-url``, ``--region``, ``--profile``), so the commands run
against any AWS-compatible endpoint. Throttled calls are retried with exponential backoff
(botocore's ``standard`` retry mode by default, ``adaptive`` on request)::

    aws = Aws(AwsSettings(region="eu-west-1", endpoint_url="http://127.0.0.1:5000", max_attempts=3))
    sagemaker = aws.client("sagemaker")

Time is bounded: each attempt waits at most 5 s to connect and 15 s for each read, and every
call made through one :class:`Aws` shares a total deadline (120 s by default, ``--timeout`` or
``MLSTACK_AWS_TIMEOUT``) counted from its first call. The deadline is checked before every
attempt and before every retry pause, so a hung endpoint stops the command with
:class:`DeadlineExceeded` (exit 1) naming the call in flight, at most one attempt's timeouts
after the deadline, instead of retrying for minutes.

:func:`translate` maps a botocore exception to an :class:`OpsError` that says what failed and how
to fix it, with the exit code the CLI returns: 2 for setup problems the user must fix (no
credentials, access denied, unreachable endpoint, bad settings), 1 for a failed operation
(missing resource, throttled beyond the retry budget, a service error).
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Optional

__all__ = [
    "Aws",
    "AwsSettings",
    "OpsError",
    "MalformedResponse",
    "DeadlineExceeded",
    "unreadable_answers",
    "translate",
    "error_code",
    "is_not_found",
    "is_throttling",
    "is_access_denied",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RETRY_MODE",
    "DEFAULT_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "TIMEOUT_ENV",
]

#: Attempts per call (the first try included) unless --max-attempts or AWS_MAX_ATTEMPTS says otherwise.
DEFAULT_MAX_ATTEMPTS = 8
#: botocore retry mode: ``standard`` backs off exponentially with jitter on throttling and
#: transient errors; ``adaptive`` also rate-limits the client after throttling.
DEFAULT_RETRY_MODE = "standard"
RETRY_MODES = ("standard", "adaptive", "legacy")
#: Total seconds all AWS calls of one command may take, retries and pauses included.
DEFAULT_TIMEOUT = 120.0
#: Seconds to wait for a connection, and for each read of an answer, per attempt.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
TIMEOUT_ENV = "MLSTACK_AWS_TIMEOUT"

#: IAM action prefix per boto3 service name (for "grant the caller X" hints).
_IAM_PREFIX = {
    "cloudwatch": "cloudwatch",
    "pricing": "pricing",
    "service-quotas": "servicequotas",
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


class MalformedResponse(OpsError):
    """An AWS answer that lacks what the API promises: never read as an empty result (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message + "; stopping without a decision", exit_code=1)


class DeadlineExceeded(OpsError):
    """The command's total AWS time ran out (exit 1); the message names the call in flight."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


# What botocore (or code reading its answer) raises on an answer it cannot read: an HTML page
# where JSON was due (UnicodeDecodeError), a list where an object was due (AttributeError), a
# timestamp that is not one (ValueError), JSON nested too deep (RecursionError)...
_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError, OverflowError)


@contextmanager
def unreadable_answers(what: str) -> Iterator[None]:
    """Inside the block, an exception that only an unreadable answer explains becomes a
    :class:`MalformedResponse` naming ``what`` (e.g. ``SageMaker ListModelPackages``); AWS errors
    and mlstack's own errors pass through unchanged::

        with unreadable_answers("SageMaker DescribeModelPackage"):
            package = client.describe_model_package(ModelPackageName=arn)
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (OpsError, ClientError, BotoCoreError):
        raise
    except _UNREADABLE as exc:
        detail = str(exc).replace("\n", " ")[:200]
        raise MalformedResponse(f"{what} answered something mlstack cannot read ({type(exc).__name__}: {detail})") from None


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
    timeout: Optional[float] = None
    """Total seconds for every AWS call of one command (else MLSTACK_AWS_TIMEOUT, else 120)."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Seconds to wait for a connection, per attempt (never more than ``timeout``)."""
    read_timeout: float = DEFAULT_READ_TIMEOUT
    """Seconds to wait for each read of an answer, per attempt (never more than ``timeout``)."""

    def resolved_timeout(self) -> float:
        """The total deadline in seconds: --timeout, else MLSTACK_AWS_TIMEOUT, else DEFAULT_TIMEOUT."""
        if self.timeout is not None:
            value: Any = self.timeout
            source = "--timeout"
        else:
            raw = os.environ.get(TIMEOUT_ENV, "").strip()
            if not raw:
                return DEFAULT_TIMEOUT
            source = f"{TIMEOUT_ENV}={raw!r}"
            try:
                value = float(raw)
            except ValueError:
                raise OpsError(f"{source} is not a number of seconds; set it to e.g. 120 or unset it", exit_code=2) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            shown = source if source != "--timeout" else f"--timeout {value!r}"
            raise OpsError(f"{shown}: the timeout must be a positive, finite number of seconds (e.g. 120)", exit_code=2)
        return float(value)

    def resolved_timeouts(self) -> tuple[float, float, float]:
        """(connect, read, total) seconds; no single attempt may wait longer than the total."""
        total = self.resolved_timeout()
        for name, value in (("connect timeout", self.connect_timeout), ("read timeout", self.read_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise OpsError(f"the {name} must be a positive, finite number of seconds (got {value!r})", exit_code=2)
        return min(self.connect_timeout, total), min(self.read_timeout, total), total

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
    in_flight: Optional[str] = field(default=None, init=False)
    """The call under way (``sagemaker:ListModelPackages``), None between calls."""
    last_call: Optional[str] = field(default=None, init=False)
    """The most recent call started (kept after it ends)."""
    attempt: int = field(default=0, init=False)
    """Attempts made so far by the call under way (or the last call)."""
    _started: Optional[float] = field(default=None, init=False, repr=False)
    _timeouts: Optional[tuple[float, float, float]] = field(default=None, init=False, repr=False)

    @property
    def timeouts(self) -> tuple[float, float, float]:
        """(connect, read, total) seconds in effect."""
        if self._timeouts is None:
            self._timeouts = self.settings.resolved_timeouts()
        return self._timeouts

    def remaining(self) -> float:
        """Seconds left before the deadline (the full budget before the first call)."""
        total = self.timeouts[2]
        return total if self._started is None else total - (time.monotonic() - self._started)

    def check_deadline(self, doing: Optional[str] = None) -> None:
        """Raise :class:`DeadlineExceeded` when the deadline has passed."""
        if self._started is not None and self.remaining() <= 0:
            raise DeadlineExceeded(self._deadline_message(doing))

    def _deadline_message(self, doing: Optional[str], last: Optional[BaseException] = None) -> str:
        total = self.timeouts[2]
        call = doing or self.in_flight or "an AWS call"
        made = f" ({self.attempt} attempt{'s' if self.attempt != 1 else ''} made)" if self.attempt and not doing else ""
        failed = f"; the last one failed: {last}" if last is not None else ""
        return (
            f"gave up after the {total:g} s deadline for AWS calls while {call} was in flight{made}{failed}; "
            f"raise --timeout (or {TIMEOUT_ENV}) if AWS is slow, or check --endpoint-url / AWS_ENDPOINT_URL and the network"
        )

    # botocore event handlers: they name the call in flight and enforce the deadline between attempts.
    def _on_call(self, model: Any = None, **_: Any) -> None:
        if self._started is None:
            self._started = time.monotonic()
        service = (model.service_model.service_name if model is not None else "aws")
        self.in_flight = self.last_call = f"{_IAM_PREFIX.get(service, service)}:{model.name if model is not None else 'call'}"
        self.attempt = 0
        self.check_deadline()

    def _on_send(self, **_: Any) -> None:
        self.check_deadline()
        self.attempt += 1

    def _on_retry(self, response: Any = None, caught_exception: Any = None, **_: Any) -> None:
        if isinstance(caught_exception, (DeadlineExceeded, MalformedResponse)):
            raise caught_exception
        if self._started is None or self.remaining() > 0:
            return
        failed = caught_exception is not None
        if not failed and response is not None:
            http, parsed = response
            code = str(((parsed or {}).get("Error") or {}).get("Code") or "")
            failed = getattr(http, "status_code", 200) >= 500 or code in _THROTTLING
        if failed:  # would be retried after a pause: stop instead
            if caught_exception is not None:
                last: Any = caught_exception
            else:
                error = (response[1] or {}).get("Error") or {}
                last = f"HTTP {response[0].status_code}" + (f" {error.get('Code')}: {error.get('Message', '')}".rstrip(": ") if error.get("Code") else "")
            raise DeadlineExceeded(self._deadline_message(None, last))

    def _on_done(self, **_: Any) -> None:
        self.in_flight = None

    @classmethod
    def from_session(cls, session: Any, settings: Optional[AwsSettings] = None) -> "Aws":
        """Clients with these settings' retries, timeouts and deadline over an existing boto3
        ``session`` (e.g. one holding a stack's assumed-role credentials)."""
        aws = cls(settings or AwsSettings(region=session.region_name))
        aws._session = session
        return aws

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
            connect_timeout, read_timeout, _ = self.timeouts
            config = Config(
                retries=self.settings.resolved_retries(),
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                user_agent_extra="mlstack-ops",
                # AWS-compatible servers (moto, LocalStack, MinIO) serve buckets by path.
                s3={"addressing_style": "path"} if service == "s3" and endpoint else None,
            )
            try:
                client = self.session.client(
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
            events = client.meta.events
            events.register("before-call", self._on_call)
            events.register("before-send", self._on_send)
            events.register_first("needs-retry", self._on_retry)
            events.register("after-call", self._on_done)
            self._clients[service] = client
        return self._clients[service]

    def check_account(self, expected: str, *, stack: str) -> None:
        """Stop (exit 2) when the credentials in use belong to another account than ``expected``."""
        sts = self.client("sts")
        with unreadable_answers("STS GetCallerIdentity"):
            actual = sts.get_caller_identity()["Account"]
        if not isinstance(actual, str) or not actual.isdigit() or len(actual) != 12:
            raise MalformedResponse(f"STS GetCallerIdentity answered an account id that is not 12 digits ({actual!r})")
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
        call = f" to {aws.in_flight}" if aws and aws.in_flight else ""
        attempts = f" after {aws.attempt} attempts" if aws and aws.attempt > 1 else ""
        return OpsError(
            f"AWS{where} did not answer{call} in time{attempts}: {exc}; retry later, or raise --timeout (or {TIMEOUT_ENV})",
            exit_code=1,
        )
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
