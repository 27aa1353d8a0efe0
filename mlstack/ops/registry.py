"""Reading the model registry: versions of a model package group, the latest Approved one.

Shared by ``mlstack promote`` (the baseline a candidate is compared with), ``mlstack status``
and :func:`mlstack.lookups.latest_approved_model_package` (what an Endpoint deploys when it
serves "latest approved")::

    package = latest_approved(aws.client("sagemaker"), "churn-churn-xgb")
    package["ModelPackageArn"] if package else "no Approved version yet"

Every answer is checked before it is believed: an answer that is not what the API promises (an
HTML page from a proxy, a missing list or field, a summary of another group or status, a list out
of the requested order, a page token that repeats) raises :class:`MalformedResponse` (exit 1).
It is never read as "no versions" or "nothing approved yet", which would let a first-version
rule approve a candidate with nothing to compare it with.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterable, Iterator, Mapping, Optional

from .aws import MalformedResponse, OpsError, is_not_found, unreadable_answers

__all__ = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "APPROVAL_STATUSES",
    "latest_approved",
    "latest_version",
    "iter_versions",
    "find_version",
    "describe_package",
    "describe_group",
    "model_version",
    "package_group",
    "group_ref",
    "arn_owner",
    "MalformedResponse",
]

APPROVED = "Approved"
PENDING = "PendingManualApproval"
REJECTED = "Rejected"
#: SageMaker's ModelApprovalStatus enum.
APPROVAL_STATUSES = (APPROVED, PENDING, REJECTED)

_VERSION = re.compile(r"/(\d+)$")
# A versioned model package: arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>
_VERSIONED_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/(?P<group>[^/\s]+)/(?P<version>[1-9]\d*)$")
_GROUP_ARN = re.compile(r"^(?P<owner>arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:)model-package-group/(?P<group>[^/\s]+)$")
_LIST = "SageMaker ListModelPackages"
_PAGE_LIMIT = 10_000  # pages of one listing; a server that keeps handing out tokens is not trusted forever


def _shown(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(response: Any) -> str:
    """An answer as shown in a message: without botocore's ResponseMetadata, shortened."""
    if isinstance(response, dict):
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return _shown(response)


def model_version(package: Any) -> Optional[int]:
    """The version number of a model package (a summary, a description or an ARN).

    A ``ModelPackageVersion`` that is not a positive whole number, or that disagrees with the
    version in the package's ARN, raises :class:`MalformedResponse`.
    """
    if isinstance(package, Mapping):
        arn = package.get("ModelPackageArn")
        from_arn = _VERSION.search(arn) if isinstance(arn, str) else None
        raw = package.get("ModelPackageVersion")
        if raw is None:
            return int(from_arn.group(1)) if from_arn else None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise MalformedResponse(f"SageMaker gave model package {arn!r} the version {_shown(raw)}, not a positive whole number")
        if from_arn and int(from_arn.group(1)) != raw:
            raise MalformedResponse(f"SageMaker gave model package {arn!r} the version {raw}, which disagrees with its ARN")
        return raw
    match = _VERSION.search(str(package))
    return int(match.group(1)) if match else None


def package_group(arn: str) -> Optional[str]:
    """The group named in a versioned model package ARN (``.../model-package/<group>/<n>``), else None."""
    match = _VERSIONED_ARN.match(arn)
    return match.group("group") if match else None


def arn_owner(arn: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:`` of a SageMaker ARN ('' when it is not one)."""
    match = re.match(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:", arn)
    return match.group(0) if match else ""


def _same_name(a: str, b: str) -> bool:
    # SageMaker ARNs spell resource names in lower case; names compare without case.
    return a.casefold() == b.casefold()


def group_ref(group: str) -> tuple[str, str]:
    """(name, owner) of a group given by name or by ARN (another account's group, which the
    SageMaker calls accept in ModelPackageGroupName); owner is ``arn:...:<region>:<account>:``
    for an ARN, '' for a name."""
    match = _GROUP_ARN.match(group)
    if match:
        return match.group("group"), arn_owner(group)
    return group, ""


def _check_summary(summary: Any, *, group: str, status: Optional[str]) -> dict[str, Any]:
    if not isinstance(summary, dict):
        raise MalformedResponse(f"{_LIST} answered a summary that is not an object ({_shown(summary)})")
    arn = summary.get("ModelPackageArn")
    if not isinstance(arn, str) or not _VERSIONED_ARN.match(arn):
        raise MalformedResponse(f"{_LIST} answered a summary without a model package version ARN ({_shown(arn)})")
    name, where = group_ref(group)
    owner = summary.get("ModelPackageGroupName", package_group(arn))
    if not isinstance(owner, str) or not _same_name(owner, name) or not _same_name(package_group(arn) or "", name):
        raise MalformedResponse(f"{_LIST} for group {group!r} answered {arn} of group {_shown(owner)}")
    if where and not _same_name(arn_owner(arn), where):
        # A group named by its ARN: a version of a same-named group in another account or region is not one of its versions.
        raise MalformedResponse(f"{_LIST} for group {group!r} answered {arn}, which lives in another account or region")
    model_version(summary)  # a version that is not a number, or disagrees with the ARN, stops here
    approval = summary.get("ModelApprovalStatus")
    if status is not None and approval != status:
        raise MalformedResponse(f"{_LIST} asked for {status} versions answered {arn} with ModelApprovalStatus {_shown(approval)}")
    if approval is not None and approval not in APPROVAL_STATUSES:
        raise MalformedResponse(f"{_LIST} answered {arn} with an unknown ModelApprovalStatus {_shown(approval)}")
    if not isinstance(summary.get("CreationTime"), _dt.datetime):
        raise MalformedResponse(f"{_LIST} answered {arn} without a CreationTime")
    return summary


def _summaries(response: Any, operation: str = "ListModelPackages", *, group: Optional[str] = None, status: Optional[str] = None) -> list[dict[str, Any]]:
    """The package summaries of a ListModelPackages answer; an answer without a readable list is
    an error, never "no versions" (which would read as "nothing approved yet")."""
    summaries = response.get("ModelPackageSummaryList") if isinstance(response, dict) else None
    if not isinstance(summaries, list) or not all(isinstance(s, dict) and isinstance(s.get("ModelPackageArn"), str) for s in summaries):
        raise MalformedResponse(f"SageMaker {operation} answered without a readable ModelPackageSummaryList ({_body(response)})")
    if group is not None:
        summaries = [_check_summary(s, group=group, status=status) for s in summaries]
    return summaries


def _pages(client: Any, group_name: str, *, status: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[list[dict[str, Any]]]:
    """Pages of version summaries, newest first, each checked; stops at the last page.

    The order is checked too (newest first across pages), since "the first Approved one" is the
    answer to "latest Approved": a server that answers in another order is not believed.
    """
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group_name, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        kwargs["ModelApprovalStatus"] = status
    if page_size:
        kwargs["MaxResults"] = page_size
    tokens: set[str] = set()
    newest_allowed: Optional[_dt.datetime] = None
    for _ in range(_PAGE_LIMIT):
        with unreadable_answers(_LIST):
            response = client.list_model_packages(**kwargs)
        summaries = _summaries(response, group=group_name, status=status)
        for summary in summaries:
            created = summary["CreationTime"]
            try:
                out_of_order = newest_allowed is not None and created > newest_allowed
            except TypeError:  # naive and aware datetimes do not compare
                raise MalformedResponse(f"{_LIST} answered creation times that cannot be compared ({created!r})") from None
            if out_of_order:
                raise MalformedResponse(
                    f"{_LIST} asked for the newest first answered {summary['ModelPackageArn']} (created {created}) after a version created before it"
                )
            newest_allowed = created
        yield summaries
        token = response.get("NextToken")
        if token is None or token == "":
            return
        if not isinstance(token, str):
            raise MalformedResponse(f"{_LIST} answered a NextToken that is not a string ({_shown(token)})")
        if token in tokens:
            raise MalformedResponse(f"{_LIST} answered the same NextToken twice (the listing would never end)")
        tokens.add(token)
        kwargs["NextToken"] = token
    raise MalformedResponse(f"{_LIST} kept answering NextToken after {_PAGE_LIMIT} pages")


def latest_approved(client: Any, group_name: str, *, exclude: Iterable[str] = ()) -> Optional[dict[str, Any]]:
    """The summary of the newest Approved version of ``group_name`` (by creation time), skipping
    the ARNs in ``exclude``; None when there is none (or the group does not exist).

    None means SageMaker said so in a well-formed answer: every page was read (a truncated
    listing is followed to its end), and any answer that is not well-formed raises
    :class:`MalformedResponse`.
    """
    skip = {arn.casefold() for arn in exclude}
    # Sorted newest first, so the first one not skipped is within len(skip) + 1 results.
    for page in _pages(client, group_name, status=APPROVED, page_size=min(len(skip) + 1, 100)):
        for summary in page:
            if summary["ModelPackageArn"].casefold() not in skip:
                return summary
    return None


def latest_version(client: Any, group_name: str) -> Optional[dict[str, Any]]:
    """The summary of the newest version of ``group_name`` whatever its approval status."""
    for page in _pages(client, group_name, page_size=1):
        if page:
            return page[0]
    return None


def iter_versions(client: Any, group_name: str, *, status: Optional[str] = None) -> Iterator[dict[str, Any]]:
    """Every version summary of ``group_name`` (optionally only those with ``status``), newest first."""
    for page in _pages(client, group_name, status=status):
        yield from page


def find_version(client: Any, group_name: str, version: int) -> Optional[dict[str, Any]]:
    """The summary of version ``version`` of ``group_name``, or None."""
    for summary in iter_versions(client, group_name):
        if model_version(summary) == version:
            return summary
    return None


def describe_group(client: Any, group_name: str) -> Optional[dict[str, Any]]:
    """The model package group, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        with unreadable_answers("SageMaker DescribeModelPackageGroup"):
            response = client.describe_model_package_group(ModelPackageGroupName=group_name)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    wanted, where = group_ref(group_name)
    name = response.get("ModelPackageGroupName") if isinstance(response, dict) else None
    if not isinstance(name, str) or not _same_name(name, wanted):
        raise MalformedResponse(
            f"SageMaker DescribeModelPackageGroup for {group_name!r} answered {'group ' + repr(name) if isinstance(name, str) else 'without a group name'} "
            f"({_body(response)})"
        )
    group_arn = response.get("ModelPackageGroupArn")
    match = _GROUP_ARN.match(group_arn) if isinstance(group_arn, str) else None
    if not match or not _same_name(match.group("group"), wanted) or (where and not _same_name(arn_owner(group_arn), where)):
        raise MalformedResponse(f"SageMaker DescribeModelPackageGroup for {group_name!r} answered the group ARN {_shown(group_arn)}")
    return response


def _check_package(package: Any, arn: str) -> dict[str, Any]:
    what = "SageMaker DescribeModelPackage"
    if not isinstance(package, dict):
        raise MalformedResponse(f"{what} of {arn} answered something that is not an object ({_shown(package)})")
    answered = package.get("ModelPackageArn")
    if not isinstance(answered, str) or not _same_name(answered, arn):
        raise MalformedResponse(f"{what} of {arn} answered about {_shown(answered)}")
    status = package.get("ModelApprovalStatus")
    if status not in APPROVAL_STATUSES:
        raise MalformedResponse(f"{what} of {arn} answered ModelApprovalStatus {_shown(status)}, not one of {', '.join(APPROVAL_STATUSES)}")
    group = package.get("ModelPackageGroupName")
    if group is not None and (not isinstance(group, str) or (package_group(answered) and not _same_name(group, package_group(answered) or ""))):
        raise MalformedResponse(f"{what} of {arn} answered group {_shown(group)}, which disagrees with the ARN")
    if package_group(answered) and group is None:
        raise MalformedResponse(f"{what} of {arn} answered without ModelPackageGroupName")
    model_version(package)
    metadata = package.get("CustomerMetadataProperties")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise MalformedResponse(f"{what} of {arn} answered CustomerMetadataProperties that are not a map of strings ({_shown(metadata)})")
    for key in ("ModelMetrics", "LastModifiedBy"):
        if package.get(key) is not None and not isinstance(package[key], dict):
            raise MalformedResponse(f"{what} of {arn} answered a {key} that is not an object ({_shown(package[key])})")
    if package.get("ApprovalDescription") is not None and not isinstance(package["ApprovalDescription"], str):
        raise MalformedResponse(f"{what} of {arn} answered an ApprovalDescription that is not text")
    return package


def describe_package(client: Any, arn: str) -> dict[str, Any]:
    """The full description of a model package; OpsError (exit 2) when it does not exist,
    :class:`MalformedResponse` when the answer is not a description of ``arn`` with a known
    approval status."""
    from botocore.exceptions import ClientError

    try:
        with unreadable_answers("SageMaker DescribeModelPackage"):
            package = client.describe_model_package(ModelPackageName=arn)
    except ClientError as exc:
        if is_not_found(exc):
            raise OpsError(f"model package {arn!r} does not exist; check the ARN (list versions with `mlstack status`)", exit_code=2) from None
        raise
    return _check_package(package, arn)
