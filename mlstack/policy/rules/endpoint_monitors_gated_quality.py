"""Checks that an endpoint whose model has promotion gates watches the gated metrics in production
when its ground truth is declared (``mlstack-endpoint-monitors-gated-quality``)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy, Severity

from ...specs.quality import PROBLEM_METRICS
from ..kit.index import StackIndex, physical_name
from ..kit.quality import gated_endpoints, quality_alarms
from ..kit.resource_types import ENDPOINT_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import stack_environment

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-endpoint-monitors-gated-quality"
GATE_METRICS = ("QualityGateMargin", "ModelQuality")


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    env = stack_environment(args.resources, args.stack_tags)
    if not applies(config, env):
        return
    index = StackIndex(args.resources)
    urns = {physical_name(e): e.urn for e in index.of_type(ENDPOINT_TYPE)}
    alarms = quality_alarms(index)
    for endpoint in gated_endpoints():
        if endpoint.quality is None or endpoint.name not in urns:
            continue  # no ground truth: mlstack-endpoint-declares-ground-truth advises
        where = f"mlstack:monitors[{endpoint.monitor_index}].quality"
        watched = alarms.get(endpoint.name, {})
        problem = str(endpoint.quality.get("problemType", ""))
        produced = PROBLEM_METRICS.get(problem, ())
        for metric in endpoint.metrics:
            if metric not in produced:
                report_violation(
                    f"endpoint {endpoint.name!r}: model {endpoint.model!r} is gated on {metric!r}, which a {problem or 'undeclared'} "
                    f"quality job cannot measure (it produces {', '.join(produced) or 'nothing'}); set {where}.problemType to the "
                    "model's problem type or gate the model on metrics it produces.",
                    urns[endpoint.name],
                )
            elif not any(metric in watched.get(m, ()) for m in GATE_METRICS):
                report_violation(
                    f"endpoint {endpoint.name!r} must alarm on production {metric} in {env}: model {endpoint.model!r} is gated on it "
                    f"and its ground truth is declared ({where}), but no alarm watches mlstack/Quality QualityGateMargin with "
                    f"Metric={metric!r}. Keep the Monitor's quality-{metric} alarm.",
                    urns[endpoint.name],
                )
        if endpoint.bias and ("BiasDelta" not in watched or not endpoint.quality.get("slices")):
            report_violation(
                f"endpoint {endpoint.name!r} must monitor bias by slice in {env}: model {endpoint.model!r} has a bias_delta gate, "
                f"but {where} declares no slices (or no bias-gap alarm watches mlstack/Quality BiasDelta). List the request "
                "features the gate compares in quality.slices (e.g. [age_band, region]).",
                urns[endpoint.name],
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that where an endpoint's ground truth is declared (mlstack:monitors[].quality), every promotion gate of "
        "its model on a quality metric has a production alarm, and a bias_delta gate has a bias-by-slice alarm."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["monitoring", "quality"],
    display_name="Gated models are watched in production",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(["staging", "prod"], "gated metrics must be monitored in production")}
    ),
    remediation_steps="Keep the Monitor's quality alarms (quality-<metric>, bias-gap) and declare quality.slices for a bias gate.",
)
