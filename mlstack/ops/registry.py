"""Reading the model registry: versions of a model package group, the latest Approved one.

Shared by ``mlstack promote`` (the baseline a candidate is compared with), ``mlstack status``
and :func:`mlstack.lookups.latest_approved_model_package` (what an Endpoint deploys when it
serves "latest approved")::

    package = latest_approved(aws.client("sagemaker"), "churn-churn-xgb")
    package["ModelPackageArn"] if package else "no Approved version yet"
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Optional

from .aws import OpsError, is_not_found

__all__ = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "latest_approved",
    "latest_version",
    "iter_versions",
    "find_version",
    "describe_package",
    "describe_group",
    "model_version",
    "MalformedResponse",
]

APPROVED = "Approved"
PENDING = "PendingManualApproval"
REJECTED = "Rejected"

_VERSION = re.compile(r"/(\d+)$")


def model_version(package: Any) -> Optional[int]:
    """The version number of a model package (a summary, a description or an ARN)."""
    if isinstance(package, dict):
        if package.get("ModelPackageVersion") is not None:
            return int(package["ModelPackageVersion"])
        package = package.get("ModelPackageArn", "")
    match = _VERSION.search(str(package))
    return int(match.group(1)) if match else None


def latest_approved(client: Any, group_name: str, *, exclude: Iterable[str] = ()) -> Optional[dict[str, Any]]:
    """The summary of the newest Approved version of ``group_name`` (by creation time), skipping
    the ARNs in ``exclude``; None when there is none (or the group does not exist)."""
    skip = set(exclude)
    response = client.list_model_packages(
        ModelPackageGroupName=group_name,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
        # Sorted newest first, so the first one not skipped is within len(skip) + 1 results.
        MaxResults=len(skip) + 1,
    )
    for summary in _summaries(response, "ListModelPackages"):
        if summary["ModelPackageArn"] not in skip:
            return summary
    return None


def _summaries(response: Any, operation: str) -> list[dict[str, Any]]:
    """The package summaries of a ListModelPackages answer; an answer without a readable list is
    an error, never "no versions" (which would read as "nothing approved yet")."""
    summaries = response.get("ModelPackageSummaryList") if isinstance(response, dict) else None
    if not isinstance(summaries, list) or not all(isinstance(s, dict) and isinstance(s.get("ModelPackageArn"), str) for s in summaries):
        raise MalformedResponse(f"SageMaker {operation} answered without a readable ModelPackageSummaryList ({str(response)[:200]!r})")
    return summaries


class MalformedResponse(OpsError):
    """An AWS answer that lacks what the API promises: never read as an empty result (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message + "; stopping without a decision", exit_code=1)


def latest_version(client: Any, group_name: str) -> Optional[dict[str, Any]]:
    """The summary of the newest version of ``group_name`` whatever its approval status."""
    response = client.list_model_packages(
        ModelPackageGroupName=group_name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )
    packages = _summaries(response, "ListModelPackages")
    return packages[0] if packages else None


def iter_versions(client: Any, group_name: str, *, status: Optional[str] = None) -> Iterator[dict[str, Any]]:
    """Every version summary of ``group_name`` (optionally only those with ``status``), newest first."""
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group_name, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        kwargs["ModelApprovalStatus"] = status
    for page in client.get_paginator("list_model_packages").paginate(**kwargs):
        yield from page.get("ModelPackageSummaryList", [])


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
        return client.describe_model_package_group(ModelPackageGroupName=group_name)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def describe_package(client: Any, arn: str) -> dict[str, Any]:
    """The full description of a model package; OpsError (exit 2) when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        return client.describe_model_package(ModelPackageName=arn)
    except ClientError as exc:
        if is_not_found(exc):
            raise OpsError(f"model package {arn!r} does not exist; check the ARN (list versions with `mlstack status`)", exit_code=2) from None
        raise
