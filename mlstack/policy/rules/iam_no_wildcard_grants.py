"""Checks that identity policies grant named actions, not administrator or service-wide access
(``mlstack-iam-no-wildcard-grants``).

Judged in every identity policy a stack writes (role inline policies, ``RolePolicy``, ``Policy``,
``UserPolicy``, ``GroupPolicy``) and every managed policy it attaches:

* ``Action: "*"`` (or any action pattern whose service part is a wildcard), and ``NotAction`` in an
  Allow: administrator access;
* ``<service>:*`` on ``Resource: "*"`` (or ``NotResource``): every action of a service on every
  resource;
* an IAM wildcard (``iam:*``, ``iam:Put*``, ``iam:*Policy``) that covers an action changing
  permissions, on any resource; such an action (``iam:PutRolePolicy``, ``iam:AttachRolePolicy``,
  ...) on every role or policy;
* ``iam:PassRole`` on every role without a positive ``iam:PassedToService`` condition naming
  services (the caller could hand any role, admin roles too, to any service);
* attachments of ``AdministratorAccess*``, ``PowerUserAccess`` and ``*FullAccess*`` managed
  policies (allow specific ARNs with ``allowedManagedPolicies``).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from ..kit.iam import Parsed, Statement, parse
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, environment_of
from ..kit.values import UNKNOWN, get, plain

__all__ = ["POLICY", "NAME", "grant_problems", "broad_managed_policy"]

NAME = "mlstack-iam-no-wildcard-grants"

#: Identity policy documents: type -> property.
DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
ROLE = "aws:iam/role:Role"
#: Managed policy attachments: type -> (property, holds a list).
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn", False),
    "aws:iam/policyAttachment:PolicyAttachment": ("policyArn", False),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": ("policyArn", False),
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": ("policyArn", False),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": ("policyArns", True),
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": ("policyArns", True),
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": ("policyArns", True),
    ROLE: ("managedPolicyArns", True),
}

#: IAM actions that change what a principal may do: with them a role can grant itself anything.
ESCALATION = (
    "iam:passrole",
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:attachrolepolicy",
    "iam:attachuserpolicy",
    "iam:attachgrouppolicy",
    "iam:putrolepolicy",
    "iam:putuserpolicy",
    "iam:putgrouppolicy",
    "iam:updateassumerolepolicy",
    "iam:putrolepermissionsboundary",
    "iam:deleterolepermissionsboundary",
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:addusertogroup",
)
#: Resources that stand for every role or policy of an account (or of every account).
_ALL_IAM = re.compile(r"^(\*|arn:[^:]*:iam::[^:]*:(\*|role/\*|policy/\*|user/\*|group/\*))$", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _pattern(action: str) -> re.Pattern[str]:
    """An IAM action pattern (``*`` and ``?`` wildcards, case-insensitive) as a regex."""
    return re.compile("^" + re.escape(action).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.IGNORECASE)


def _matches(pattern: str, action: str) -> bool:
    return bool(_pattern(pattern).match(action))


def _wild(action: str) -> bool:
    return "*" in action or "?" in action


def grant_problems(statement: Statement) -> list[str]:
    """What is wrong with one Allow statement of an identity policy (empty when nothing)."""
    if not statement.allow:
        return []
    if statement.not_action:
        return [
            f"allows every action except {', '.join(map(repr, statement.written)) or 'none'} (NotAction): that is "
            "administrator access; it must list the actions needed in Action"
        ]

    def say(actions: list[str]) -> str:
        return ", ".join(repr(statement.as_written(a)) for a in actions)

    all_resources = statement.not_resource or "*" in statement.resources
    all_iam = statement.not_resource or any(_ALL_IAM.match(r) for r in statement.resources)
    problems: list[str] = []
    admin = [a for a in statement.actions if a == "*" or ":" in a and _wild(a.split(":", 1)[0])]
    if admin:
        problems.append(f"allows {say(admin)}: every action of every service (administrator access); it must list the actions needed")
    iam_wild = [a for a in statement.actions if a not in admin and _wild(a) and any(_matches(a, e) for e in ESCALATION)]
    if iam_wild:
        problems.append(
            f"allows {say(iam_wild)}, which covers actions that change IAM permissions (the role could "
            "grant itself anything); it must list the IAM actions needed, on exact ARNs"
        )
    service_wide = [a for a in statement.actions if a not in admin and a not in iam_wild and a.split(":", 1)[-1] == "*"]
    if service_wide and all_resources:
        problems.append(
            f"allows {say(service_wide)} on every resource (\"*\"); it must list the actions needed on "
            "the exact resource ARNs"
        )
    exact = [a for a in statement.actions if a in ESCALATION and a != "iam:passrole"]
    if exact and all_iam:
        problems.append(
            f"allows {say(exact)} on every role, user or policy; it must name the exact ARNs it may change"
        )
    passes = [a for a in statement.actions if a not in admin and a not in iam_wild and _matches(a, "iam:passrole")]
    if passes and all_iam and not _passed_to_named_services(statement):
        problems.append(
            "allows iam:PassRole on every role without an iam:PassedToService condition; it must name the roles it "
            "passes (their ARNs), or add Condition StringEquals iam:PassedToService <service principal>"
        )
    return problems


def _passed_to_named_services(statement: Statement) -> bool:
    return any(
        c.positive and c.values and all(v and not v.startswith("*") and v != "?" for v in c.values)
        for c in statement.condition("iam:passedtoservice")
    )


def broad_managed_policy(arn: str) -> str | None:
    """The name of a managed policy that grants administrator or service-wide access, else None."""
    name = arn.strip().rsplit("/", 1)[-1] if "/" in arn else arn.strip().rsplit(":", 1)[-1]
    lower = name.lower()
    if lower.startswith("administratoraccess") or lower == "poweruseraccess" or "fullaccess" in lower:
        return name
    return None


def _documents(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    prop = DOCUMENTS.get(args.resource_type)
    if prop:
        out.append((prop, get(args.props, prop)))
    if args.resource_type == ROLE:
        inline = plain(get(args.props, "inlinePolicies", default=[]))
        if isinstance(inline, list):
            for i, item in enumerate(inline):
                if isinstance(item, dict):
                    out.append((f"inlinePolicies[{i}] ({item.get('name') or 'unnamed'})", item.get("policy")))
    return out


def _kind(resource_type: str) -> str:
    return {
        ROLE: "IAM role",
        "aws:iam/rolePolicy:RolePolicy": "role policy",
        "aws:iam/policy:Policy": "IAM policy",
        "aws:iam/userPolicy:UserPolicy": "user policy",
        "aws:iam/groupPolicy:GroupPolicy": "group policy",
    }.get(resource_type, "policy attachment")


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not args.resource_type.startswith("aws:iam/"):
        return
    config = args.get_config()
    if not applies(config, environment_of(args.props, args.stack_tags)):
        return
    kind = _kind(args.resource_type)
    for where, value in _documents(args):
        if value is None:
            continue
        parsed = parse(value)
        if parsed is UNKNOWN:
            continue
        assert isinstance(parsed, Parsed)
        if parsed.duplicates:
            report_violation(
                f"{kind} {args.name!r} {where} must write each key once, but repeats {', '.join(map(repr, parsed.duplicates))}: "
                "parsers disagree about which one counts. Remove the repeated keys.",
                None,
            )
        for statement in parsed.statements:
            for problem in grant_problems(statement):
                place = "" if where == "policy" and kind.endswith("policy") else f"{where} "
                report_violation(f"{kind} {args.name!r} {place}statement {statement.label} {problem}.", None)
    attachment = ATTACHMENTS.get(args.resource_type)
    if attachment:
        prop, many = attachment
        value = plain(get(args.props, prop))
        arns = value if many and isinstance(value, list) else [value]
        allowed = [p for p in (config.get("allowedManagedPolicies") or ()) if isinstance(p, str)]
        for arn in arns:
            if not isinstance(arn, str):
                continue
            name = broad_managed_policy(arn)
            if name and not any(fnmatch.fnmatchcase(arn, p) for p in allowed):
                report_violation(
                    f"{kind} {args.name!r} must not attach {name} ({arn}): it grants administrator or service-wide "
                    "access. Attach an inline policy that lists the actions needed on exact ARNs (or allow this ARN in "
                    f"allowedManagedPolicies of {NAME} if it is truly needed).",
                    None,
                )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that identity policies grant named actions: no Action \"*\" or NotAction, no service:* on every "
        "resource, no iam:* or permission-changing actions on every role, no iam:PassRole on every role without "
        "iam:PassedToService, and no AdministratorAccess, PowerUserAccess or *FullAccess managed policies."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["iam"],
    display_name="IAM grants name actions, not admin or wildcards",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "identity policies must not grant wildcard access"),
            "allowedManagedPolicies": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "default": [],
                "description": "Managed policy ARNs (shell-style patterns) that may be attached although their name says "
                "AdministratorAccess, PowerUserAccess or FullAccess.",
            },
        }
    ),
    remediation_steps="List the actions each role needs on exact resource ARNs; pass roles by ARN to named services.",
)
