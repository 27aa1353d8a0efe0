"""The policies of mlstack's pack, in the order they are reported.

``policies/__main__.py`` builds the CrossGuard ``PolicyPack`` from :data:`POLICIES`, and
``mlstack check`` runs the very same objects in-process (:mod:`mlstack.policy.check`). Each policy
is defined in its own module of :mod:`mlstack.policy.rules`; :data:`RULES` lists those modules in
the pack's fixed order, which is the order of violations in a report (mandatory first):

1. the stack's account and environment, before anything scaled by the environment;
2. lineage tags, encryption, public access and private networking;
3. serving: progressive rollout, monitoring, instance limits, approved packages;
4. training and provenance: gated registration, pinned images, complete lineage, the signed decision log;
5. identity and sharing: wildcard grants, trust policies, key policies, resource policies,
   service principals, notebooks;
6. what the offline check could not evaluate (transforms);
7. the waivers: every waived violation and stale waiver, listed (last, so it sees every decision).

Every policy takes two more settings, ``waivers`` and ``waiversForbiddenIn``
(:mod:`mlstack.policy.kit.waivers`); a violation a waiver covers is not reported by its policy
but by ``mlstack-waivers-reported`` (advisory), here and in ``mlstack check`` alike.

The pack serves each policy through :func:`fail_closed`: the Pulumi CLI sends every policy its
config with the schema defaults filled in (``Configure``), but the SDK hands a policy an empty
config when that never arrives, and a policy whose ``environments`` is empty checks nothing.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

# Imported by name, not discovered: `mlstack policy-pack build` vendors what this module imports.
from .rules import (
    audit_log_object_locked,
    endpoint_declares_ground_truth,
    endpoint_monitors_gated_quality,
    endpoint_requires_monitoring,
    endpoint_requires_progressive_rollout,
    endpoint_serves_approved_package,
    iam_no_wildcard_grants,
    iam_trust_policy_restricted,
    image_pinned_by_digest,
    instance_types_within_limits,
    kms_key_restricted_and_rotated,
    model_lineage_complete,
    notebook_locked_down,
    pipeline_gates_registration,
    resource_has_lineage_tags,
    resource_policy_not_public,
    s3_bucket_blocks_public_access,
    sagemaker_runs_in_vpc,
    service_principal_has_source_condition,
    stack_environment_matches_account,
    stack_within_budget,
    storage_encrypted_with_kms,
    transforms_evaluated,
    waivers_reported,
)
from .kit.waivers import decide, waiver_properties

__all__ = ["PACK_NAME", "RULES", "POLICIES", "pack_arguments", "fail_closed"]

PACK_NAME = "mlstack"

#: The rule modules, in the pack's order (see the module docstring).
RULES: tuple[ModuleType, ...] = (
    stack_environment_matches_account,
    resource_has_lineage_tags,
    storage_encrypted_with_kms,
    s3_bucket_blocks_public_access,
    sagemaker_runs_in_vpc,
    endpoint_requires_progressive_rollout,
    endpoint_requires_monitoring,
    endpoint_monitors_gated_quality,
    endpoint_declares_ground_truth,
    instance_types_within_limits,
    stack_within_budget,
    endpoint_serves_approved_package,
    pipeline_gates_registration,
    image_pinned_by_digest,
    model_lineage_complete,
    audit_log_object_locked,
    iam_no_wildcard_grants,
    iam_trust_policy_restricted,
    kms_key_restricted_and_rotated,
    resource_policy_not_public,
    service_principal_has_source_condition,
    notebook_locked_down,
    transforms_evaluated,
    waivers_reported,
)



def _with_waiver_settings(policy: Policy) -> Policy:
    """``policy`` with the waiver settings in its config schema (idempotent)."""
    schema = policy.config_schema
    properties = dict(schema.properties) if schema is not None else {}
    if all(key in properties for key in waiver_properties()):
        return policy
    properties.update(waiver_properties())
    policy.config_schema = PolicyConfigSchema(properties=properties, required=schema.required if schema is not None else None)
    return policy


POLICIES: list[Policy] = [_with_waiver_settings(rule.POLICY) for rule in RULES]


def pack_arguments() -> dict:
    """Keyword arguments of ``pulumi_policy.PolicyPack`` for mlstack's pack."""
    return {
        "name": PACK_NAME,
        "display_name": "mlstack",
        "policies": [fail_closed(policy) for policy in POLICIES],
        "description": "mlstack's rules for MLOps stacks on AWS: lineage, encryption, private access, progressive "
        "rollout, monitoring, instance limits, approved models, gated registration, pinned images.",
        "provider": "aws",
        "tags": ["mlops", "sagemaker", "kserve"],
    }


def fail_closed(policy: Policy) -> Policy:
    """``policy`` as the pack serves it: every setting the analyzer was not configured with takes
    its schema default, so the policy runs with its defaults even if ``Configure`` never arrives.

    A setting that was configured is kept whole, as the Pulumi CLI reconciles config. Name,
    description, level, severity and schema are the policy's own, so the CLI sees no difference.
    """
    schema = policy.config_schema
    defaults = {key: prop["default"] for key, prop in (schema.properties if schema else {}).items() if "default" in prop}

    def configured(config: Any) -> dict[str, Any]:
        return {**copy.deepcopy(defaults), **(config or {})}

    def waiving(report: ReportViolation, config: dict[str, Any], stack_tags: Any, urn: str | None) -> ReportViolation:
        # A violation a waiver covers is reported by mlstack-waivers-reported instead (advisory);
        # one whose waiver expired or is forbidden here counts, and says so.
        def report_violation(message: str, violating: str | None = None) -> None:
            if policy.name == waivers_reported.NAME:  # the list of exceptions cannot itself be waived
                report(message, violating)
                return
            decision = decide(policy.name, violating or urn, message, config=config, stack_tags=stack_tags)
            if decision is not None and decision.status == "applied":
                return
            report(f"{message} ({decision.describe()})" if decision is not None else message, violating)

        return report_violation

    metadata: dict[str, Any] = {
        "name": policy.name,
        "description": policy.description,
        "enforcement_level": policy.enforcement_level,
        "config_schema": policy.config_schema,
        "display_name": policy.display_name,
        "severity": policy.severity,
        "framework": policy.framework,
        "tags": policy.tags,
        "remediation_steps": policy.remediation_steps,
        "url": policy.url,
    }
    if isinstance(policy, ResourceValidationPolicy):

        def resource_args(args: ResourceValidationArgs) -> ResourceValidationArgs:
            return ResourceValidationArgs(
                args.resource_type, args.props, args.urn, args.name, args.opts, args.provider,
                configured(args.get_config()), args.stack_tags,
            )

        def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> Any:
            configured_args = resource_args(args)
            return policy.validate(configured_args, waiving(report, dict(configured_args.get_config()), args.stack_tags, args.urn))

        return ResourceValidationPolicy(
            validate=validate_resource if policy.has_validation() else None,
            remediate=(lambda args: policy.remediate(resource_args(args))) if policy.has_remediation() else None,
            **metadata,
        )
    if isinstance(policy, StackValidationPolicy):
        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> Any:
            config = configured(args.get_config())
            return policy.validate(StackValidationArgs(args.resources, config, args.stack_tags), waiving(report, config, args.stack_tags, None))

        return StackValidationPolicy(
            validate=validate_stack,
            **metadata,
        )
    raise TypeError(f"{policy.name!r} is neither a resource nor a stack validation policy")
