"""Checks that every resource was judged as it will be deployed (``mlstack-transforms-evaluated``).

Pulumi's engine runs a resource's new-style transforms between the program and the provider:
the resource's own (the ``transforms=`` option), those of each of its ancestors, then the
stack's (``pulumi.runtime.register_resource_transform``), in that order (pulumi/pulumi
``pkg/resource/deploy/source_eval.go``, ``RegisterResource``). A transform may rewrite any
input, so the resource a policy sees before them is not necessarily the one deployed.

CrossGuard sees resources after the engine transformed them: under ``pulumi preview`` and
``pulumi up`` this policy has nothing to report. ``mlstack check`` plans offline on Pulumi's
mock runtime, which records transforms but never runs them (there is no engine to call them
back), so it judges the inputs the program wrote; it tells this policy which resources had
transforms (:mod:`mlstack.policy.kit.offline`), and each is reported: the verdict on them is
not the verdict on what deploys. Stack invoke transforms (``register_invoke_transform``), which
may change what a lookup returns, are reported once for the stack. Old-style
``transformations=`` run inside the program, offline too, and need no report.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from ..kit.offline import unevaluated_transforms
from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, stack_environment

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-transforms-evaluated"

_WHERE = {
    "resource": "its own transforms= option",
    "parent": "a transforms= option of a component it belongs to",
    "stack": "a stack transform (pulumi.runtime.register_resource_transform)",
}


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    offline = unevaluated_transforms()
    if not offline.by_urn and not offline.invoke_transforms:
        return
    if not applies(args.get_config(), stack_environment(args.resources, args.stack_tags)):
        return
    for resource in args.resources:
        sources = offline.by_urn.get(resource.urn)
        if not sources:
            continue
        where = " and ".join(_WHERE.get(s, s) for s in sources)
        report_violation(
            f"{resource.resource_type.rsplit(':', 1)[-1]} {resource.name!r} is changed by {where}, which Pulumi's engine runs "
            "at deployment and the offline check cannot: the policies judged the inputs the program wrote, which may not be "
            "what deploys. Set those inputs in the program (component arguments) instead, or judge this stack with "
            "CrossGuard (pulumi preview --policy-pack policies), which sees transformed resources.",
            resource.urn,
        )
    if offline.invoke_transforms:
        report_violation(
            f"the program registers {offline.invoke_transforms} invoke transform(s) (pulumi.runtime.register_invoke_transform), "
            "which change lookups at deployment and which the offline check cannot run; remove them, or judge this stack "
            "with CrossGuard (pulumi preview --policy-pack policies).",
            None,
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that every resource was judged as it will be deployed: resources changed by transforms (their own "
        "transforms= option, a parent component's, or a stack transform) and stack invoke transforms are reported by "
        "`mlstack check`, which plans offline and cannot run them; under CrossGuard, which sees transformed resources, "
        "it reports nothing."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["offline-check"],
    display_name="Transforms evaluated before judging",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "resources changed by transforms the offline check cannot run are reported")
        }
    ),
    remediation_steps="Pass the values a transform would set as component arguments, or check the stack with CrossGuard.",
)
