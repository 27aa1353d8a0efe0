"""Checks that notebooks reach the network through the stack's VPC and give their users no root
(``mlstack-notebook-locked-down``).

* SageMaker notebook instances (``aws.sagemaker.NotebookInstance``) must set
  ``direct_internet_access="Disabled"`` (with ``subnet_id`` and ``security_groups``: traffic then
  leaves through the VPC) and ``root_access="Disabled"``. The provider defaults both to
  ``Enabled`` (terraform-provider-aws ``internal/service/sagemaker/notebook_instance.go``), so
  leaving them out is a violation.
* SageMaker Studio domains (``aws.sagemaker.Domain``) must set ``app_network_access_type="VpcOnly"``;
  the API's default ``PublicInternetOnly`` gives every app direct internet access.

Notebook volumes and domain storage are judged by ``mlstack-storage-encrypted-with-kms``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from ..kit.settings import applies, environments_property
from ..kit.stack import ENVIRONMENTS, environment_of
from ..kit.values import UNKNOWN, get, is_set

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-notebook-locked-down"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (NOTEBOOK, DOMAIN):
        return
    if not applies(args.get_config(), environment_of(args.props, args.stack_tags)):
        return
    if args.resource_type == DOMAIN:
        access = get(args.props, "appNetworkAccessType", default="PublicInternetOnly")
        if access not in ("VpcOnly", UNKNOWN):
            report_violation(
                f"SageMaker domain {args.name!r} must keep its apps off the internet, but app_network_access_type is "
                f"{access!r}; set app_network_access_type=\"VpcOnly\" with the stack's private subnet_ids (add VPC "
                "endpoints or a NAT for what the apps must reach).",
                None,
            )
        return
    internet = get(args.props, "directInternetAccess", default="Enabled")
    if internet not in ("Disabled", UNKNOWN):
        report_violation(
            f"SageMaker notebook instance {args.name!r} must not have direct internet access, but direct_internet_access "
            f"is {internet!r} (the default is Enabled); set direct_internet_access=\"Disabled\" with subnet_id and "
            "security_groups of the stack's private subnets.",
            None,
        )
    elif internet == "Disabled" and not is_set(get(args.props, "subnetId")):
        report_violation(
            f"SageMaker notebook instance {args.name!r} must name its subnet_id: with direct internet access disabled "
            "SageMaker requires a VPC subnet (and security_groups) to create it.",
            None,
        )
    root = get(args.props, "rootAccess", default="Enabled")
    if root not in ("Disabled", UNKNOWN):
        report_violation(
            f"SageMaker notebook instance {args.name!r} must not give its users root, but root_access is {root!r} (the "
            "default is Enabled); set root_access=\"Disabled\" and install packages through a lifecycle configuration.",
            None,
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Checks that SageMaker notebook instances have direct internet access and root access disabled (both default "
        "to Enabled) and that Studio domains are VpcOnly."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["network", "iam"],
    display_name="Notebooks have no internet or root access",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(ENVIRONMENTS, "notebooks must have no direct internet and no root access")}
    ),
    remediation_steps="Create notebooks with direct_internet_access and root_access \"Disabled\" in the stack's private subnets.",
)
