"""The quality check of a Monitor: :class:`QualityJob`, a child component running ``python -m
mlstack.drift.quality`` on a schedule (the drift job's machinery: a one-step SageMaker pipeline
started by EventBridge Scheduler, see :func:`.drift.scheduled_pipeline`), and the alarms on what
it publishes to ``mlstack/Quality`` (:func:`quality_alarms`; the Monitor creates them so they
notify its topic, join its composite alarm and may start retraining).

Children: ``<name>-quality-job-role`` (+ ``-policy``), ``<name>-quality-pipeline-role``,
``<name>-quality-pipeline-policy``, ``<name>-quality-pipeline``, ``<name>-quality-schedule-role``,
``<name>-quality-schedule-policy``, ``<name>-quality-schedule``.

The alarms follow the model's promotion gates: a gate ``accuracy >= last-approved`` becomes
"production accuracy >= the served version's evaluation accuracy - quality.tolerance" (the job
reads that accuracy off the model package it judges and publishes the margin), ``auc >= 0.80``
becomes "production auc >= 0.80 - tolerance", and ``bias_delta <= 0.01`` bounds the worst gap
between slices.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field

from ...drift import quality as q
from ...specs.base import parse_ecr_image
from ...specs.quality import (
    BIAS_GAP,
    LABEL_COVERAGE_LOW,
    LABELS_STALE,
    LOWER_IS_BETTER,
    OUTPUT_DRIFT,
    QUALITY_JOB_STALLED,
    QUALITY_REFERENCE_MISSING,
    QualitySpec,
    bias_threshold,
    gated_quality_metrics,
    quality_alarm,
)
from ..base import Component, ComponentArgs
from ..secure import assume_role_policy, image_pull_statements, vpc_statements
from .drift import _object_arns, _prefix_arn, _s3_parts, scheduled_pipeline
from .drift_alarms import DriftAlarm

__all__ = ["QualityJob", "QualityJobArgs", "quality_alarms", "job_gates", "alarm_period"]


def job_gates(quality: QualitySpec, gates: Any) -> list[dict[str, Any]]:
    """The bounds the job checks (its ``--gates``): the model's gates on metrics the problem
    type produces, widened by ``quality.tolerance``, then ``quality.thresholds``."""
    out: list[dict[str, Any]] = []
    for gate in gates or ():
        if gate.metric in quality.produced and gate.op != "==":
            out.append({"metric": gate.metric, "op": gate.op, "threshold": gate.threshold, "tolerance": quality.tolerance})
    for metric, value in quality.thresholds.items():
        out.append({"metric": metric, "op": "<=" if metric in LOWER_IS_BETTER else ">=", "threshold": value, "tolerance": 0.0})
    return out


def alarm_period(quality: QualitySpec) -> int:
    """Seconds of one alarm period: the job's interval, at most a day (CloudWatch's limit)."""
    return min(quality.interval_hours, 24) * 3600


def quality_alarms(quality: QualitySpec, gates: Any, *, endpoint_name: pulumi.Input[str]) -> list[DriftAlarm]:
    """The alarms on ``mlstack/Quality`` (see the module docstring and the README's section
    "Model quality, fairness and late labels" for what each means to the on-call engineer)."""
    alarms: list[DriftAlarm] = []
    period = alarm_period(quality)
    ep = {q.DIMENSION_ENDPOINT: endpoint_name}

    def add(key: str, description: str, metric: str, dims: dict, **settings: Any) -> None:
        settings.setdefault("evaluation_periods", 1)
        alarms.append(DriftAlarm(key, description, {"namespace": q.NAMESPACE, "metric_name": metric, "dimensions": dims, "period": period, **settings}))

    bounds = job_gates(quality, gates)
    for metric in gated_quality_metrics(quality, gates):
        rules = "; ".join(_describe(b) for b in bounds if b["metric"] == metric)
        strict = any(b["op"] in (">", "<") for b in bounds if b["metric"] == metric)  # a margin of 0 breaches "> X"
        add(
            quality_alarm(metric),
            f"Production {metric} of the labelled predictions is outside its bound ({rules}). "
            "Check the label feed first (labels-stale, label-coverage-low), then the slices and output drift.",
            q.METRIC_GATE_MARGIN,
            {**ep, q.DIMENSION_METRIC: metric},
            statistic="Minimum",
            comparison_operator="LessThanOrEqualToThreshold" if strict else "LessThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",  # no labels yet: the label alarms speak
        )
    if quality.slices:
        bound = bias_threshold(quality, gates)
        add(
            BIAS_GAP,
            f"The worst gap between slices of {', '.join(quality.slices)} (demographic parity or equal opportunity) is above {bound:g}.",
            q.METRIC_BIAS_DELTA,
            ep,
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=bound,
            treat_missing_data="notBreaching",
        )
    if quality.baseline_uri:
        add(
            OUTPUT_DRIFT,
            f"The model's outputs drifted from its validation baseline (PSI above {quality.output_psi_threshold:g}).",
            q.METRIC_OUTPUT_PSI,
            ep,
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=quality.output_psi_threshold,
            treat_missing_data="notBreaching",
        )
    stale = quality.stale_hours()
    add(
        LABELS_STALE,
        f"No label has arrived for {stale:g} hours: the ground-truth feed to {quality.ground_truth_uri} may be broken, "
        "and quality alarms cannot fire without labels. (Also in ALARM until the first labels land.)",
        q.METRIC_NEWEST_LABEL_AGE,
        ep,
        statistic="Minimum",
        comparison_operator="GreaterThanThreshold",
        threshold=stale,
        treat_missing_data="breaching",  # no label at all, or no run: fail closed
    )
    add(
        LABEL_COVERAGE_LOW,
        f"Fewer than {quality.min_label_coverage_percent:g}% of the predictions made {quality.label_lag_hours:g} hours ago have a label; "
        "quality is judged on too few (or biased) labels.",
        q.METRIC_LABEL_COVERAGE,
        ep,
        statistic="Minimum",
        comparison_operator="LessThanThreshold",
        threshold=quality.min_label_coverage_percent,
        treat_missing_data="notBreaching",  # no predictions in the window: nothing to cover
    )
    # PutMetricAlarm: Period x EvaluationPeriods may not exceed 7 days (604,800 s) for periods of an
    # hour or more (the PutMetricAlarmRequest.period reference of AWS's SDK documentation); an
    # interval above 3.5 days is watched over the last 7 days.
    stalled_periods = max(1, min(math.ceil(2 * quality.interval_hours * 3600 / period), 604_800 // period))
    add(
        QUALITY_JOB_STALLED,
        f"The quality job has not reported for {stalled_periods * period // 3600} hours; check the quality pipeline's executions.",
        q.METRIC_JUDGED,
        ep,
        statistic="SampleCount",
        comparison_operator="LessThanThreshold",
        threshold=1,
        evaluation_periods=stalled_periods,
        datapoints_to_alarm=stalled_periods,
        treat_missing_data="breaching",
    )
    if any(b["threshold"] == "last-approved" for b in bounds):
        add(
            QUALITY_REFERENCE_MISSING,
            "The quality job could not read the served model package's evaluation metrics (mlstack:metric:<name>), so a "
            "gate against the approved version is not being checked.",
            q.METRIC_REFERENCE_MISSING,
            ep,
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
        )
    return alarms


def _describe(bound: dict[str, Any]) -> str:
    slack = f" - {bound['tolerance']:g}" if bound["op"] in (">=", ">") else f" + {bound['tolerance']:g}"
    base = "the approved version's evaluation" if bound["threshold"] == "last-approved" else f"{bound['threshold']:g}"
    return f"{bound['metric']} {bound['op']} {base}{slack if bound['tolerance'] else ''}"


class QualityJobArgs(ComponentArgs):
    """Inputs of :class:`QualityJob`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    quality: QualitySpec
    """What to judge and how often."""
    endpoint: Any
    """The endpoint whose captured predictions are judged (an mlstack Endpoint)."""
    image: str
    """The image with mlstack installed (quality.image, else the drift job's)."""
    gates: list[Any] = Field(default_factory=list)
    """The model's promotion gates (GateSpec)."""
    alarm_prefix: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    """Prefix of the physical names, the Monitor's."""
    kms_key_arn: Optional[Any] = None
    """pulumi.Input[str]: the key of the job volumes and reports (the Monitor's)."""
    vpc: Optional[Any] = None
    """VpcSpec: quality.vpc, else the drift job's."""
    tags: dict[str, str] = Field(default_factory=dict)


class QualityJob(Component, token="mlstack:index:QualityJob"):
    """The scheduled quality check of one endpoint, a child of its Monitor.

    Example (what Monitor does)::

        job = QualityJob(name, QualityJobArgs(quality=args.quality, endpoint=endpoint, image=image, gates=model.gates,
                                              alarm_prefix="churn-prod-scoring", kms_key_arn=key.arn),
                         opts=pulumi.ResourceOptions(parent=monitor))
    """

    def __init__(self, name: str, args: QualityJobArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self._name = name
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        quality, endpoint = args.quality, args.endpoint
        gates = job_gates(quality, args.gates)
        package = getattr(endpoint, "model_package_arn", None) if any(g["threshold"] == "last-approved" for g in gates) else None

        job_role = aws.iam.Role(
            f"{name}-quality-job-role",
            description=f"Quality runs of monitor {args.alarm_prefix}",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", account),
            tags=args.tags,
            opts=child,
        )
        capture_kms = getattr(endpoint, "kms_key_arn", None)

        def statements(values: list) -> str:
            part, reg, acct, capture_uri, key_arn, capture_key, package_arn = values
            out: list[dict] = []
            for sid, uri in (("CapturedPredictions", capture_uri), ("GroundTruth", quality.ground_truth_uri)):
                bucket, key = _s3_parts(uri)
                prefix = key.rstrip("/") + "/" if key else ""
                out.append({"Sid": f"Read{sid}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": _prefix_arn(part, uri)})
                out.append(
                    {
                        "Sid": f"List{sid}",
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": f"arn:{part}:s3:::{bucket}",
                        "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                    }
                )
            if quality.baseline_uri:
                out.append({"Sid": "ReadOutputBaseline", "Effect": "Allow", "Action": "s3:GetObject", "Resource": _object_arns(part, quality.baseline_uri)})
            if quality.report_uri:
                out.append({"Sid": "WriteReports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": _prefix_arn(part, quality.report_uri)})
            out.append(
                {
                    "Sid": "PublishQualityMetrics",
                    "Effect": "Allow",
                    "Action": "cloudwatch:PutMetricData",
                    "Resource": "*",  # PutMetricData has no resource ARN; the namespace condition scopes it
                    "Condition": {"StringEquals": {"cloudwatch:namespace": q.NAMESPACE}},
                }
            )
            if package_arn:
                out.append({"Sid": "ReadApprovedEvaluation", "Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": package_arn})
            out.append(
                {
                    "Sid": "WriteJobLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [
                        f"arn:{part}:logs:{reg}:{acct}:log-group:/aws/sagemaker/ProcessingJobs",
                        f"arn:{part}:logs:{reg}:{acct}:log-group:/aws/sagemaker/ProcessingJobs:log-stream:*",
                    ],
                }
            )
            ecr = parse_ecr_image(args.image)
            if ecr:
                out += image_pull_statements(ecr.repository_arn(part))
            if args.vpc:
                out += vpc_statements(part, reg, acct, args.vpc, sid="JobNetworkInterfaces")
            keys = [k for k in (key_arn, capture_key, quality.ground_truth_kms_key_arn) if k]
            if keys:
                out.append({"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], "Resource": keys})
            return json.dumps({"Version": "2012-10-17", "Statement": out})

        aws.iam.RolePolicy(
            f"{name}-quality-job-role-policy",
            role=job_role.id,
            policy=pulumi.Output.all(partition, region, account, endpoint.data_capture_uri, args.kms_key_arn, capture_kms, package).apply(statements),
            opts=child,
        )
        arguments: list[pulumi.Input[str]] = [
            "--endpoint-name", endpoint.endpoint_name,
            "--capture-uri", endpoint.data_capture_uri,
            "--ground-truth-uri", quality.ground_truth_uri,
            "--problem-type", quality.problem_type.value,
            "--prediction-field", quality.prediction_field,
            "--window-hours", f"{quality.window_hours:g}",
            "--label-lag-hours", f"{quality.label_lag_hours:g}",
            "--min-slice-size", str(quality.min_slice_size),
            "--gates", json.dumps(gates, sort_keys=True),
        ]  # fmt: skip
        if quality.problem_type.value == "binary":
            arguments += ["--threshold", f"{quality.threshold:g}", "--negative-label", quality.negative_label]
        if quality.positive is not None:
            arguments += ["--positive-label", quality.positive]
        if quality.id_column:
            arguments += ["--id-column", quality.id_column]
        if quality.request_columns:
            arguments += ["--request-columns", ",".join(quality.request_columns)]
        if quality.slices:
            arguments += ["--slices", ",".join(quality.slices)]
        if quality.baseline_uri:
            arguments += ["--baseline-uri", quality.baseline_uri]
        if quality.report_uri:
            arguments += ["--report-uri", quality.report_uri]
        if package is not None:
            arguments += ["--model-package-arn", package]
        cluster: dict[str, Any] = {"InstanceType": quality.instance_type, "InstanceCount": 1, "VolumeSizeInGB": quality.volume_size_gb}
        if args.kms_key_arn is not None:
            cluster["VolumeKmsKeyId"] = args.kms_key_arn
        network: dict[str, Any] = {"EnableNetworkIsolation": False}  # the job calls S3, CloudWatch and SageMaker
        if args.vpc:
            network["VpcConfig"] = {"Subnets": list(args.vpc.subnet_ids), "SecurityGroupIds": list(args.vpc.security_group_ids)}
        step = {
            "Name": "QualityCheck",
            "Type": "Processing",
            "Arguments": {
                "ProcessingResources": {"ClusterConfig": cluster},
                "AppSpecification": {"ImageUri": args.image, "ContainerEntrypoint": ["python", "-m", "mlstack.drift.quality"], "ContainerArguments": arguments},
                "RoleArn": job_role.arn,
                "Environment": {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "MLSTACK_LOG_LEVEL": "INFO"},
                "StoppingCondition": {"MaxRuntimeInSeconds": quality.max_runtime_minutes * 60},
                "NetworkConfig": network,
            },
        }
        self.pipeline, self.schedule = scheduled_pipeline(
            self,
            name,
            kind="quality",
            alarm_prefix=args.alarm_prefix,
            step=step,
            job_role=job_role,
            kms_key_arn=args.kms_key_arn,
            interval_hours=quality.interval_hours,
            description=f"mlstack quality check of {args.alarm_prefix}: quality, fairness, output drift and label health to {q.NAMESPACE}",
            tags=args.tags,
            opts=child,
            partition=partition,
            region=region,
            account=account,
        )
        self.register_outputs({"pipeline_name": self.pipeline.pipeline_name})

