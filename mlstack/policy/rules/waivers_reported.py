"""Checks that every waiver is visible and current (``mlstack-waivers-reported``).

A waiver (:mod:`mlstack.policy.kit.waivers`) takes a violation out of the count; it must not
take it out of sight. This advisory stack policy runs last and lists, under CrossGuard as under
``mlstack check``: every violation a waiver covers (with the reason, owner and last day); every
violation that counts although a waiver names it (the waiver expired, or the pack config forbids
waivers of that policy in this environment); and every waiver of the stack file that names a
policy this pack does not have, or matched no violation (a stale exception to remove).

Under CrossGuard it sees the decisions the pack's other policies took in the same analyzer
process: resource policies run before stack policies, and this one is the last of the pack.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, stack_environment
from ..kit.waivers import stack_waivers, take_decisions

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-waivers-reported"


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    from . import policy_names

    taken = take_decisions()
    if not applies(args.get_config(), stack_environment(args.resources, args.stack_tags)):
        return
    known = policy_names()
    resources = {r.urn for r in args.resources}
    used = set()
    for d in taken:
        used.add((d.waiver.where, d.waiver.source))
        subject = d.urn if d.urn in resources else None
        target = f"on {d.urn}" if d.urn else "on the stack"
        if d.status == "applied":
            report_violation(f"{d.policy} {target} is waived: {d.message} [{d.describe()}]", subject)
        else:
            report_violation(f"{d.policy} {target} counts although a waiver names it: {d.describe()}", subject)
    for w in stack_waivers():
        if w.policy == NAME:
            report_violation(f"{w.where} waives {NAME}, which lists the waivers and cannot be waived; remove it", None)
        elif w.policy not in known:
            report_violation(f"{w.where} waives {w.policy!r}, which is not a policy of this pack; fix the name or remove the waiver", None)
        elif (w.where, w.source) not in used:
            report_violation(
                f"{w.where} ({w.policy} on {w.resource}, owner {w.owner}, until {w.expires}) matched no violation; "
                "remove it, or correct its resource URN (as `mlstack check` prints it)",
                None,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every waiver stays in sight: lists the violations waivers cover (reason, owner, last day), the "
        "violations that count although a waiver names them (expired, or forbidden in this environment by the pack "
        "config), and stack-file waivers that name an unknown policy or match no violation."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    tags=["waivers"],
    display_name="Waivers reported",
    config_schema=PolicyConfigSchema(properties={"environments": environments_property(ENVIRONMENTS, "waived violations and stale waivers are listed")}),
    remediation_steps="Fix the waived violations before their waivers expire; remove waivers that match nothing.",
)
