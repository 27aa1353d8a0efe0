"""Checks that every taggable AWS resource says where it came from: non-empty lineage tags that name
its own stack's environment (``mlstack-resource-has-lineage-tags``)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ...lineage import ENVIRONMENT, REQUIRED_KEYS, is_taggable
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, environment_of
from ..kit.values import UNKNOWN, tags_of

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-resource-has-lineage-tags"


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not args.resource_type.startswith("aws:") or not is_taggable(args.resource_type):
        return
    config = args.get_config()
    env = environment_of(args.props, args.stack_tags)
    if not applies(config, env):
        return
    tags = tags_of(args.props)
    if tags is UNKNOWN:
        return  # computed at deployment; checked again by `pulumi up`
    missing = [key for key in config.get("requiredTags", REQUIRED_KEYS) if not (isinstance(tags.get(key), str) and tags[key].strip())]
    if missing:
        report_violation(
            f"{args.resource_type} {args.name!r} must carry non-empty lineage tags; missing or empty: {', '.join(missing)}. "
            "Pass tags=ctx.lineage.tags(...) (mlstack.lineage.Lineage.tags) to the resource, merged with any tags of your own.",
            None,
        )
    tagged_env = tags.get(ENVIRONMENT)
    if isinstance(tagged_env, str) and tagged_env.strip():
        if tagged_env not in ENVIRONMENTS:
            report_violation(
                f"tag {ENVIRONMENT} must be one of {', '.join(ENVIRONMENTS)} (got {tagged_env!r}); "
                "policies pick their per-environment rules from it. Use the stack's lineage tags.",
                None,
            )
        elif tagged_env != env:
            report_violation(
                f"tag {ENVIRONMENT} says {tagged_env!r} but the stack is {env!r}; a resource must carry its own "
                "stack's lineage so per-environment rules apply to it. Use the stack's ctx.lineage.tags(...).",
                None,
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that every taggable AWS resource carries non-empty mlstack lineage tags "
        "(team, environment, stack, git commit) naming its own stack's environment."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["lineage"],
    display_name="Resources carry lineage tags",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "taggable resources must carry lineage tags"),
            "requiredTags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "uniqueItems": True,
                "default": list(REQUIRED_KEYS),
                "description": "Tag keys every taggable AWS resource must carry with a non-empty value.",
            },
        }
    ),
    remediation_steps="Pass tags=ctx.lineage.tags(...) to every AWS resource a component creates.",
)
