"""Checks that an endpoint whose model has promotion gates declares its ground truth, so
production is judged against the gates (``mlstack-endpoint-declares-ground-truth``; advisory)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ..kit.index import StackIndex, physical_name
from ..kit.quality import gated_endpoints
from ..kit.resource_types import ENDPOINT_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import stack_environment

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-endpoint-declares-ground-truth"


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    urns = {physical_name(e): e.urn for e in StackIndex(args.resources).of_type(ENDPOINT_TYPE)}
    for endpoint in gated_endpoints():
        if endpoint.quality is not None or endpoint.name not in urns:
            continue
        gated = ", ".join(endpoint.metrics + (["bias_delta"] if endpoint.bias else []))
        report_violation(
            f"endpoint {endpoint.name!r} serves model {endpoint.model!r}, gated on {gated}, but nothing judges those metrics in "
            f"production: declare where its labels land in mlstack:monitors[].quality (groundTruthUri, problemType, "
            "labelLagHours, slices) so a drop below the gates alarms.",
            urns[endpoint.name],
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description="Checks that an endpoint whose model has promotion gates declares its ground truth, so production quality is judged against the gates.",
    validate=validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["monitoring", "quality"],
    display_name="Gated models declare their ground truth",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(["staging", "prod"], "endpoints of gated models should declare ground truth")}
    ),
    remediation_steps="Add quality (groundTruthUri, problemType, slices) to the endpoint's monitor.",
)
