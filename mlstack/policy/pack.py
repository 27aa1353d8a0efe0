"""The policies of mlstack's pack, in the order they are reported.

``policies/__main__.py`` builds the CrossGuard ``PolicyPack`` from :data:`POLICIES`, and
``mlstack check`` runs the very same objects in-process (:mod:`mlstack.policy.check`).

The pack serves each policy through :func:`fail_closed`: the Pulumi CLI sends every policy its
config with the schema defaults filled in (``Configure``), but the SDK hands a policy an empty
config when that never arrives, and a policy whose ``environments`` is empty checks nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from pulumi_policy import (
    Policy,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import (
    approved_models,
    encryption,
    environment_accounts,
    image_digests,
    instances,
    lineage_complete,
    lineage_tags,
    monitoring,
    public_access,
    rollout,
    training_gates,
)
from . import (
    iam_no_wildcard_grants,
    kms_key_policy,
    notebook_locked_down,
    resource_policy_not_public,
    service_principal_confused_deputy,
    trust_policy_restricted,
)
from . import transforms_evaluated

__all__ = ["PACK_NAME", "POLICIES", "pack_arguments", "fail_closed"]

PACK_NAME = "mlstack"

POLICIES = [
    environment_accounts.POLICY,
    lineage_tags.POLICY,
    encryption.POLICY,
    public_access.S3_POLICY,
    public_access.VPC_POLICY,
    rollout.POLICY,
    monitoring.POLICY,
    instances.POLICY,
    approved_models.POLICY,
    training_gates.POLICY,
    image_digests.POLICY,
    lineage_complete.POLICY,
    iam_no_wildcard_grants.POLICY,
    trust_policy_restricted.POLICY,
    kms_key_policy.POLICY,
    resource_policy_not_public.POLICY,
    service_principal_confused_deputy.POLICY,
    notebook_locked_down.POLICY,
    transforms_evaluated.POLICY,
]


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

        return ResourceValidationPolicy(
            validate=(lambda args, report: policy.validate(resource_args(args), report)) if policy.has_validation() else None,
            remediate=(lambda args: policy.remediate(resource_args(args))) if policy.has_remediation() else None,
            **metadata,
        )
    if isinstance(policy, StackValidationPolicy):
        return StackValidationPolicy(
            validate=lambda args, report: policy.validate(
                StackValidationArgs(args.resources, configured(args.get_config()), args.stack_tags), report
            ),
            **metadata,
        )
    raise TypeError(f"{policy.name!r} is neither a resource nor a stack validation policy")
