"""Waivers: whether a violation is under a reviewable exception, decided the same way under
CrossGuard and ``mlstack check``.

Waivers come from two places, both visible to a policy under the Pulumi CLI:

- the stack file's ``mlstack:waivers`` (:class:`mlstack.specs.waivers.WaiverSpec`), which
  CrossGuard hands the pack as stack config (``PULUMI_CONFIG``) and ``mlstack check`` sets from
  the stack file (:mod:`mlstack.policy.kit.stack`);
- the pack config: each policy's own ``waivers`` setting (the same entries without ``policy``),
  next to ``waiversForbiddenIn``, the environments where no waiver of that policy applies (set it
  on the policies you make mandatory, e.g. ``["prod"]``).

:func:`decide` answers for one violation: ``applied`` (the violation does not count),
``expired`` (the last day has passed: it counts again), ``forbidden`` (the pack config forbids
waivers of this policy in this environment: it counts), or None (no waiver names it). Unknown
environments count as prod (fail closed). Each decision is recorded (:func:`decisions`) for
``mlstack-waivers-reported``, the advisory stack policy that lists waived violations and stale
waivers, so exceptions are reported, not silently dropped, under CrossGuard too.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ...specs.waivers import STACK_RESOURCE, WaiverSpec
from .stack import ENVIRONMENTS, FALLBACK_ENVIRONMENT, config_value

__all__ = [
    "Waiver",
    "Decision",
    "WAIVERS_SETTING",
    "FORBIDDEN_SETTING",
    "STACK_KEY",
    "waiver_properties",
    "stack_waivers",
    "config_waivers",
    "decide",
    "take_decisions",
    "recording_decisions",
    "today",
]

WAIVERS_SETTING = "waivers"
FORBIDDEN_SETTING = "waiversForbiddenIn"
STACK_KEY = "mlstack:waivers"
STACK_SOURCE = "stack file"
CONFIG_SOURCE = "pack config"


@dataclass(frozen=True)
class Waiver:
    """A waiver as read, with where it was written (``mlstack:waivers[2]``, or
    ``<policy>.waivers[0]`` in the pack config)."""

    policy: str
    resource: str
    reason: str
    owner: str
    expires: dt.date
    source: str
    where: str

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "resource": self.resource,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "source": self.source,
            "where": self.where,
        }


@dataclass(frozen=True)
class Decision:
    """What a waiver does to one violation."""

    status: str  # applied | expired | forbidden
    waiver: Waiver
    policy: str
    urn: str | None
    message: str
    environment: str

    def describe(self) -> str:
        w = self.waiver
        if self.status == "applied":
            return f"waived until {w.expires} by {w.owner} ({w.source} {w.where}): {w.reason}"
        if self.status == "expired":
            return f"the waiver {w.where} ({w.owner}) expired on {w.expires}; renew it with a new reason or fix the violation"
        return f"the waiver {w.where} ({w.owner}) does not apply: the pack config forbids waivers of {self.policy} in {self.environment}"


def today() -> dt.date:
    """Today in UTC: a waiver applies through its ``expires`` day, wherever the check runs."""
    return dt.datetime.now(dt.timezone.utc).date()


def waiver_properties() -> dict[str, Any]:
    """The two settings every policy of the pack takes, as JSON Schema (the Pulumi CLI validates
    them against the pack's schema)."""
    schema = WaiverSpec.model_json_schema(by_alias=True)
    properties = {k: v for k, v in copy.deepcopy(schema["properties"]).items() if k != "policy"}
    for prop in properties.values():
        prop.pop("title", None)
    properties["expires"] = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": properties["expires"]["description"]}
    properties["resource"]["pattern"] = rf"^(urn:pulumi:[^:\s]+::[^:\s]+::[^\s]+::[^\n\r]+|{STACK_RESOURCE})$"
    item = {
        "type": "object",
        "properties": properties,
        "required": [k for k in schema.get("required", []) if k != "policy"],
        "additionalProperties": False,
    }
    return {
        WAIVERS_SETTING: {
            "type": "array",
            "items": item,
            "default": [],
            "description": "Reviewable exceptions to this policy: resource (URN, or `stack`), reason, owner, expires (YYYY-MM-DD).",
        },
        FORBIDDEN_SETTING: {
            "type": "array",
            "items": {"type": "string", "enum": list(ENVIRONMENTS)},
            "uniqueItems": True,
            "default": [],
            "description": "Environments where no waiver of this policy applies (set it on the policies you make mandatory, e.g. [\"prod\"]).",
        },
    }


def _parse(entry: Any, *, policy: str | None, source: str, where: str) -> Waiver | None:
    """One waiver, or None when it is not a valid one (an invalid waiver waives nothing)."""
    if not isinstance(entry, Mapping):
        return None
    data = dict(entry)
    if policy is not None:
        if "policy" in data and data["policy"] != policy:
            return None
        data["policy"] = policy
    try:
        spec = WaiverSpec.model_validate(data)
    except (ValidationError, TypeError, ValueError):
        return None
    return Waiver(spec.policy, spec.resource, spec.reason, spec.owner, spec.expires, source, where)


def stack_waivers() -> list[Waiver]:
    """The valid waivers of the stack file's ``mlstack:waivers`` (as the stack config carries it)."""
    entries = config_value(STACK_KEY)
    if not isinstance(entries, list):
        return []
    found = (_parse(e, policy=None, source=STACK_SOURCE, where=f"{STACK_KEY}[{i}]") for i, e in enumerate(entries))
    return [w for w in found if w is not None]


def config_waivers(policy: str, config: Mapping[str, Any] | None) -> list[Waiver]:
    """The valid waivers of one policy's ``waivers`` setting."""
    entries = (config or {}).get(WAIVERS_SETTING)
    if not isinstance(entries, (list, tuple)):
        return []
    found = (_parse(e, policy=policy, source=CONFIG_SOURCE, where=f"{policy}.{WAIVERS_SETTING}[{i}]") for i, e in enumerate(entries))
    return [w for w in found if w is not None]


def _environment(stack_tags: Mapping[str, str] | None) -> str:
    from ...lineage import ENVIRONMENT

    for value in ((stack_tags or {}).get(ENVIRONMENT), config_value(ENVIRONMENT)):
        if isinstance(value, str) and value in ENVIRONMENTS:
            return value
    return FALLBACK_ENVIRONMENT


# Decisions taken during one evaluation, for mlstack-waivers-reported. Under CrossGuard one
# analyzer process serves one operation and the resource policies (Analyze) run before the
# stack policies (AnalyzeStack); gRPC may call from several threads, hence the lock.
_LOCK = threading.Lock()
_DECISIONS: list[Decision] = []


@contextmanager
def recording_decisions() -> Iterator[list[Decision]]:
    """A fresh record of decisions for one evaluation (``mlstack check`` runs one per stack)."""
    global _DECISIONS
    with _LOCK:
        saved, _DECISIONS = _DECISIONS, []
        current = _DECISIONS
    try:
        yield current
    finally:
        with _LOCK:
            _DECISIONS = saved


def take_decisions() -> list[Decision]:
    """The decisions taken since the last call, once each, and forget them: the stack analysis
    that lists them ends an operation (the next preview in a long-lived process starts afresh)."""
    with _LOCK:
        taken = list(dict.fromkeys(_DECISIONS))
        _DECISIONS.clear()
    return taken


def decide(
    policy: str,
    urn: str | None,
    message: str,
    *,
    config: Mapping[str, Any] | None,
    stack_tags: Mapping[str, str] | None,
    on: dt.date | None = None,
) -> Decision | None:
    """Whether a waiver covers the violation of ``policy`` on ``urn`` (None: the whole stack).

    Of several waivers naming it, one that applies wins, the latest-expiring first.
    """
    target = urn or STACK_RESOURCE
    candidates = [w for w in (*stack_waivers(), *config_waivers(policy, config)) if w.policy == policy and w.resource == target]
    if not candidates:
        return None
    environment = _environment(stack_tags)
    day = on or today()
    candidates.sort(key=lambda w: w.expires, reverse=True)
    forbidden = (config or {}).get(FORBIDDEN_SETTING) or ()
    if environment in forbidden:
        status, waiver = "forbidden", candidates[0]
    elif candidates[0].expires >= day:
        status, waiver = "applied", candidates[0]
    else:
        status, waiver = "expired", candidates[0]
    decision = Decision(status, waiver, policy, urn, message, environment)
    with _LOCK:
        _DECISIONS.append(decision)
    return decision
