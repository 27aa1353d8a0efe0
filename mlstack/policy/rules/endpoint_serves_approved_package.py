"""Checks that prod serves what the registry approved (``mlstack-endpoint-serves-approved-package``)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ...lineage import MODEL_VERSION
from ..kit.models import model_package_version
from ..kit.resource_types import KSERVE_TYPE, MODEL_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import environment_of
from ..kit.values import UNKNOWN, get, is_set, plain, tags_of

__all__ = ["POLICY", "NAME", "APPROVAL_STATUS", "APPROVAL_LABEL"]

NAME = "mlstack-endpoint-serves-approved-package"
#: The label on which a KServe service records the registry version it serves.
VERSION_LABEL = "mlstack.dev/model-version"
#: The lineage tag on which the stack program records the approval status it verified in the
#: registry at deploy time for the version it serves (mlstack.components.serving).
APPROVAL_STATUS = "mlstack:approval-status"
#: The same, as the KServe label lineage tags become.
APPROVAL_LABEL = "mlstack.dev/approval-status"
APPROVED = "Approved"

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


def _status_problem(what: str, version: Any, status: Any, env: str, key: str) -> str | None:
    """What is wrong with the approval status recorded for a served version, or None."""
    if status is UNKNOWN or status == APPROVED:
        return None
    shown = f"version {version}" if is_set(version) and version is not UNKNOWN else "its version"
    if not is_set(status):
        return (
            f"{what} must record that {shown} is Approved in the registry ({key}, which the stack program sets after "
            f"asking the registry at deploy time); serve it through mlstack's Endpoint (mlstack:endpoints) or record the "
            f"status verified with mlstack.lookups.model_package_status"
        )
    return (
        f"{what} serves {shown}, whose registry status is {status!r}, in {env}; {env} must serve Approved versions only: "
        f"approve it with `mlstack promote`, or pin modelVersion to an Approved version"
    )


def _check_kserve(args: ResourceValidationArgs, env: str, report_violation: ReportViolation) -> None:
    labels = get(args.props, "metadata", "labels", default={})
    version = get(labels, VERSION_LABEL) if labels is not UNKNOWN else UNKNOWN
    name = get(args.props, "metadata", "name", default=args.name)
    if not is_set(version):
        report_violation(
            f"KServe InferenceService {name!r} must record which registry version its storageUri holds (label "
            f"{VERSION_LABEL}); pin modelVersion on the endpoint to the Approved version whose artifacts it serves.",
            None,
        )
    status = get(labels, APPROVAL_LABEL) if labels is not UNKNOWN else UNKNOWN
    problem = _status_problem(f"KServe InferenceService {name!r}", version, status, env, f"label {APPROVAL_LABEL}")
    if problem:
        report_violation(problem + ".", None)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (MODEL_TYPE, KSERVE_TYPE):
        return
    env = environment_of(args.props, args.stack_tags)
    if not applies(args.get_config(), env):
        return
    if args.resource_type == KSERVE_TYPE:
        _check_kserve(args, env, report_violation)
        return
    tags = tags_of(args.props)
    recorded = tags.get(MODEL_VERSION) if isinstance(tags, dict) else UNKNOWN
    status = tags.get(APPROVAL_STATUS) if isinstance(tags, dict) else UNKNOWN
    served_packages = False
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
        served_packages = True
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
    if served_packages:
        problem = _status_problem(f"SageMaker model {args.name!r}", recorded, status, env, f"tag {APPROVAL_STATUS}")
        if problem:
            report_violation(problem + ".", None)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that prod SageMaker models serve a versioned model package from the registry (resolved at deploy time and "
        "recorded in the mlstack:model-version lineage tag), never a bare model data URL, that prod KServe services record "
        "the registry version they serve, and that the registry status the program verified at deploy time "
        "(mlstack:approval-status) is Approved."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["registry"],
    display_name="Endpoints serve approved model packages",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(["prod"], "endpoints must serve an Approved model package"),
        }
    ),
    remediation_steps="Let the Endpoint component resolve the latest Approved package; approve with `mlstack promote`.",
)
