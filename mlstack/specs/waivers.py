"""``mlstack:waivers``: reviewable exceptions to policies.

A waiver names one policy and one resource (its URN, as ``mlstack check`` and ``pulumi preview``
print it), says why, who owns the exception and until when::

    mlstack:waivers:
      - policy: mlstack-endpoint-requires-monitoring
        resource: urn:pulumi:churn-dev::mlstack::mlstack:index:Endpoint$aws:sagemaker/endpoint:Endpoint::shadow
        reason: shadow endpoint fed by the primary's capture; monitored there (RISK-142)
        owner: churn-ml@example.com
        expires: "2027-03-31"   # quoted: unquoted, the Pulumi CLI reads a timestamp

The same entries (without ``policy``) may sit in the policy pack config, under the policy's
``waivers`` setting. :mod:`mlstack.policy.kit.waivers` decides, identically under CrossGuard and
``mlstack check``, whether a violation is waived; this module only describes a waiver.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import Field, field_validator

from .base import Spec

__all__ = ["WaiverSpec", "MAX_WAIVER_DAYS", "POLICY_PATTERN", "URN_PATTERN", "STACK_RESOURCE", "MAX_WAIVERS"]

#: A policy name of mlstack's pack.
POLICY_PATTERN = r"^mlstack-[a-z0-9]+(-[a-z0-9]+)*$"
#: A Pulumi URN: ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``.
URN_PATTERN = r"^urn:pulumi:[^:\s]+::[^:\s]+::[^\s]+::[^\n\r]+$"
#: ``resource`` of a waiver of a violation reported against the whole stack (no resource).
STACK_RESOURCE = "stack"
MAX_WAIVERS = 200


#: How far ahead a waiver may expire: a date further out is refused, so every exception is
#: reviewed (renewed with a new date, or dropped) at least once a year.
MAX_WAIVER_DAYS = 366


class WaiverSpec(Spec):
    """An exception to one policy for one resource, with a reason, an owner and an expiry date."""

    policy: str = Field(pattern=POLICY_PATTERN, max_length=128)
    """The policy waived, e.g. mlstack-endpoint-requires-monitoring."""
    resource: str = Field(min_length=1, max_length=1024)
    """The URN of the resource the policy is waived for, as `mlstack check` prints it; or `stack` for a violation reported against the whole stack."""
    reason: str = Field(min_length=10, max_length=1000)
    """Why the exception is acceptable (reviewed with the stack file); at least 10 characters."""
    owner: str = Field(min_length=1, max_length=256)
    """Who answers for the exception (an e-mail or a team handle)."""
    expires: dt.date
    """The last day (UTC, YYYY-MM-DD) the waiver applies; after it the violation counts again and the expired waiver is reported."""

    @field_validator("resource")
    @classmethod
    def _urn_or_stack(cls, value: str) -> str:
        if value != STACK_RESOURCE and not re.match(URN_PATTERN, value):
            raise ValueError(
                "must be a resource URN as `mlstack check` prints it (urn:pulumi:<stack>::<project>::<type>::<name>) "
                f"or {STACK_RESOURCE!r} for a violation of the whole stack"
            )
        return value

    @field_validator("expires")
    @classmethod
    def _within_the_review_horizon(cls, value: dt.date) -> dt.date:
        latest = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=MAX_WAIVER_DAYS)
        if value > latest:
            raise ValueError(
                f"is {value}, more than {MAX_WAIVER_DAYS} days ahead (at the latest {latest}): a waiver is an exception "
                "reviewed at least once a year, not a way to switch a policy off; set an earlier date and renew it when it expires"
            )
        return value

    @field_validator("reason", "owner")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value
