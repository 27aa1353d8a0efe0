"""LastApprovedMetrics: the first step of a training pipeline with last-approved gates.

Deployed by TrainingPipeline as the code of a Lambda function (Python runtime, boto3 built in)
and invoked by the pipeline's LambdaStep at execution start. It reads the newest Approved
version of the model package group and returns, for every last-approved gate, the bound the
candidate's metric is compared with::

    event  = {"model_package_group": "churn-churn-xgb",
              "gates": '[{"index": 0, "metric": "accuracy", "op": ">=", "tolerance": 0.005}]'}
    result = {"found": True, "version": "7",
              "bound_0": 0.915, "describe_0": "last approved v7 0.92 - 0.005 = 0.915"}

With no Approved version ``found`` is false and the gates pass (nothing to regress against),
as ``mlstack promote`` decides too. An Approved version without the metric fails the step:
the comparison cannot be made. Metrics are read from the customer metadata
``mlstack:metric:<name>`` that the pipeline's Register step writes.
"""

import json
import math
import sys

METRIC_PREFIX = "mlstack:metric:"
#: The bound with no Approved version yet: the most lenient finite number for the gate's direction
#: (JSON has no infinity), so every candidate passes.
NO_BASELINE = sys.float_info.max


class UnreadableRegistry(ValueError):
    """SageMaker answered in a way the step cannot trust: the run fails rather than passing a gate."""


def bound(baseline, op, tolerance):
    """The number a metric is compared with: baseline - tolerance for >=/>, + tolerance otherwise."""
    return baseline - tolerance if op in (">=", ">") else baseline + tolerance


def last_approved_metrics(client, group, gates):
    """The handler's result for ``gates`` (a list of dicts) against ``group``, using ``client``."""
    response = client.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    # Fail closed: an answer without its list is not "nothing approved yet" (which passes every gate).
    summaries = response.get("ModelPackageSummaryList") if isinstance(response, dict) else None
    if not isinstance(summaries, list) or not all(isinstance(s, dict) and isinstance(s.get("ModelPackageArn"), str) for s in summaries):
        raise UnreadableRegistry(f"ListModelPackages of {group} answered without a readable ModelPackageSummaryList")
    result = {"found": bool(summaries), "version": "none"}
    if not summaries:
        for gate in gates:
            result[f"bound_{gate['index']}"] = -NO_BASELINE if gate["op"] in (">=", ">") else NO_BASELINE
            result[f"describe_{gate['index']}"] = "no Approved version yet: passes"
        return result
    arn = summaries[0]["ModelPackageArn"]
    if f":model-package/{group}/" not in arn:
        raise UnreadableRegistry(f"the newest Approved version {arn!r} is not in model package group {group}")
    package = client.describe_model_package(ModelPackageName=arn)
    if not isinstance(package, dict) or package.get("ModelApprovalStatus") != "Approved" or package.get("ModelPackageArn") != arn:
        raise UnreadableRegistry(f"DescribeModelPackage of {arn} did not describe an Approved version of {group}")
    version = str(package.get("ModelPackageVersion", "?"))
    result["version"] = version
    properties = package.get("CustomerMetadataProperties") or {}
    for gate in gates:
        raw = properties.get(METRIC_PREFIX + gate["metric"])
        if raw is None:
            raise ValueError(
                f"the last Approved version {version} of {group} has no {gate['metric']!r} metric "
                f"({METRIC_PREFIX}{gate['metric']}), so the gate {gate['metric']} {gate['op']} last-approved cannot be checked"
            )
        try:
            base = float(str(raw).strip())
        except ValueError:
            base = math.nan
        if not math.isfinite(base):
            # NaN compares false with everything and -inf passes every >= gate: neither is a baseline.
            raise UnreadableRegistry(f"the last Approved version {version} of {group} records {gate['metric']!r} as {raw!r}, not a finite number")
        tolerance = float(gate.get("tolerance") or 0.0)
        value = bound(base, gate["op"], tolerance)
        result[f"bound_{gate['index']}"] = value
        slack = f" {'-' if gate['op'] in ('>=', '>') else '+'} {tolerance:g}" if tolerance else ""
        result[f"describe_{gate['index']}"] = f"last approved v{version} {base:g}{slack} = {value:g}"
    return result


def handler(event, context):  # pragma: no cover - the AWS entry point
    import boto3

    return last_approved_metrics(boto3.client("sagemaker"), event["model_package_group"], json.loads(event["gates"]))
