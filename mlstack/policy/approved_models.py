"""``mlstack-endpoint-serves-approved-package``: prod serves what the registry approved."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ..lineage import MODEL_VERSION
from ._common import KSERVE_TYPE, UNKNOWN, applies, environment_of, environments_property, get, is_set, model_package_version, plain, tags_of

__all__ = ["POLICY", "MODEL_TYPE"]

NAME = "mlstack-endpoint-serves-approved-package"
MODEL_TYPE = "aws:sagemaker/model:Model"
#: The label on which a KServe service records the registry version it serves.
VERSION_LABEL = "mlstack.dev/model-version"

FIX = (
    "serve the registry's latest Approved version: primary_container.model_package_name = "
    "mlstack.lookups.latest_approved_model_package(group) (what the Endpoint component does), and tag the model "
    "with its mlstack:model-version"
)


def _containers(props: Any) -> list[tuple[str, Any]]:
    out = []
    primary = plain(get(props, "primaryContainer"))
    if primary:
        out.append(("primaryContainer", primary))
    for i, container in enumerate(plain(get(props, "containers", default=[])) or []):
        out.append((f"containers[{i}]", container))
    return out


def _check_kserve(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    labels = get(args.props, "metadata", "labels", default={})
    version = get(labels, VERSION_LABEL) if labels is not UNKNOWN else UNKNOWN
    if not is_set(version):
        name = get(args.props, "metadata", "name", default=args.name)
        report_violation(
            f"KServe InferenceService {name!r} must record which registry version its storageUri holds (label "
            f"{VERSION_LABEL}); pin modelVersion on the endpoint to the Approved version whose artifacts it serves.",
            None,
        )


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (MODEL_TYPE, KSERVE_TYPE):
        return
    env = environment_of(args.props, args.stack_tags)
    if not applies(args.get_config(), env):
        return
    if args.resource_type == KSERVE_TYPE:
        _check_kserve(args, report_violation)
        return
    tags = tags_of(args.props)
    recorded = tags.get(MODEL_VERSION) if isinstance(tags, dict) else UNKNOWN
    containers = _containers(args.props)
    if not containers:
        report_violation(f"SageMaker model {args.name!r} must serve a model package from the registry; {FIX}.", None)
    for where, container in containers:
        if container is UNKNOWN or not isinstance(container, dict):
            continue
        bare = [key for key in ("modelDataUrl", "modelDataSource") if is_set(container.get(key))]
        package = container.get("modelPackageName")
        if bare:
            report_violation(
                f"SageMaker model {args.name!r} {where} serves a bare model artifact ({', '.join(bare)}) in {env}; "
                f"{env} endpoints must serve an Approved model package from the registry: remove {', '.join(bare)} and {FIX}.",
                None,
            )
            continue
        if not is_set(package):
            report_violation(f"SageMaker model {args.name!r} {where} must name a model package; {FIX}.", None)
            continue
        if package is UNKNOWN:
            continue
        parsed = model_package_version(package)
        if parsed is None:
            report_violation(
                f"SageMaker model {args.name!r} {where} must name one versioned model package ARN "
                f"(arn:...:model-package/<group>/<version>), got {package!r}; {FIX}.",
                None,
            )
            continue
        if recorded is UNKNOWN:
            continue
        if not is_set(recorded):
            report_violation(
                f"SageMaker model {args.name!r} must record the version it serves ({parsed[0]} version {parsed[1]}) in "
                f"lineage; tag it {MODEL_VERSION}={parsed[1]} (ctx.lineage.tags(model_version=...)) when it is resolved at "
                "deploy time.",
                None,
            )
        elif str(recorded) != parsed[1]:
            report_violation(
                f"SageMaker model {args.name!r} serves {parsed[0]} version {parsed[1]} but its lineage records version "
                f"{recorded!r}; the {MODEL_VERSION} tag must name the Approved version resolved at deploy time.",
                None,
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that prod SageMaker models serve a versioned model package from the registry (resolved as the latest "
        "Approved version at deploy time and recorded in the mlstack:model-version lineage tag), never a bare model "
        "data URL, and that prod KServe services record the registry version they serve."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Endpoints serve approved model packages",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(["prod"], "endpoints must serve an Approved model package"),
        }
    ),
    remediation_steps="Let the Endpoint component resolve the latest Approved package; approve with `mlstack promote`.",
)
