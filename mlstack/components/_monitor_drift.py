"""The drift half of a Monitor: mlstack's drift job or SageMaker Model Monitor, and their alarms.

A mixin of :class:`~mlstack.components.monitor.Monitor`, kept apart so each file reads in one go.

The drift job runs as the single step of a SageMaker pipeline started by an EventBridge
Scheduler schedule. A pipeline rather than a schedule calling CreateProcessingJob directly:
a processing job name can never be reused and the scheduler cannot make a unique one, while a
pipeline names each execution's job itself, keeps the execution history and retries, and the
schedule's role needs only StartPipelineExecution on one pipeline.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from ..drift import (
    DIMENSION_ENDPOINT,
    DIMENSION_FEATURE,
    METRIC_CAPTURED_RECORDS,
    METRIC_CORRUPT_FILES,
    METRIC_FEATURES_DRIFTED,
    METRIC_KL,
    METRIC_PSI,
    NAMESPACE as DRIFT_NAMESPACE,
)
from ..errors import ConfigError, Problem
from ..specs.base import parse_ecr_image
from ..specs.monitor import (
    CAPTURE_FILES_CORRUPT,
    DRIFT_JOB_STALLED,
    FEATURES_DRIFTED,
    DriftMethod,
    DriftSpec,
    feature_drift_alarm,
    feature_kl_alarm,
)

__all__ = ["DriftParts", "MODEL_MONITOR_NAMESPACE", "MODEL_MONITOR_DIMENSIONS", "model_monitor_metric"]

# SageMaker Model Monitor's data-quality metrics. AWS pages disagree on these names (one says
# "/aws/sagemaker/Endpoints/data-metric" with EndpointName/ScheduleName); these are the ones
# AWS's own SageMaker Python SDK queries for its data-quality dashboard
# (sagemaker/dashboard/data_quality_dashboard.py: {aws/sagemaker/Endpoints/data-metrics,
# Endpoint,Feature,MonitoringSchedule}). Change them here and nowhere else.
MODEL_MONITOR_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_MONITOR_DIMENSIONS = ("Endpoint", "MonitoringSchedule", "Feature")
_PROCESSING_DIR = "/opt/ml/processing"


def model_monitor_metric(feature: str) -> str:
    """The Model Monitor metric holding the baseline drift of ``feature``."""
    return f"feature_baseline_drift_{feature}"


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _object_arns(partition: str, uri: str) -> str:
    """``s3://b/p/`` -> ``arn:...:s3:::b/p/*``; an object key stays exact."""
    bucket, key = _s3_parts(uri)
    if not key or key.endswith("/"):
        return f"arn:{partition}:s3:::{bucket}/{key}*"
    return f"arn:{partition}:s3:::{bucket}/{key}"


def _prefix_arn(partition: str, uri: str) -> str:
    bucket, key = _s3_parts(uri)
    return f"arn:{partition}:s3:::{bucket}/{key.rstrip('/') + '/' if key else ''}*"


def _rate(hours: int) -> str:
    return "rate(1 hour)" if hours == 1 else f"rate({hours} hours)"


def _cron(hours: int) -> str:
    # Model Monitor accepts hourly, daily, or "every N hours" crons only.
    if hours == 1:
        return "cron(0 * ? * * *)"
    if hours == 24:
        return "cron(0 0 ? * * *)"
    return f"cron(0 0/{hours} ? * * *)"


def short_name(prefix: str, suffix: str, limit: int) -> str:
    """``<prefix>-<suffix>`` within ``limit`` characters (a hash keeps cut names unique)."""
    name = f"{prefix}-{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def assume_role_policy(service: str, account: pulumi.Input[str], source_arn: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """A trust policy letting ``service`` assume a role on behalf of ``account`` (and ``source_arn``) only."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn is not None:
        condition["ArnEquals"] = {"aws:SourceArn": source_arn}
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": condition}
            ],
        }
    )


def vpc_statements(partition: str, region: str, account: str, vpc: Any) -> list[dict]:
    """What a job placed in ``vpc`` needs: describe the network, manage its interfaces in those subnets."""
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    return [
        {
            "Sid": "DescribeVpc",
            "Effect": "Allow",
            "Action": ["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            "Resource": "*",  # EC2 Describe* calls have no resource-level permissions
        },
        {
            "Sid": "JobNetworkInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
            "Resource": [
                f"{ec2}:network-interface/*",
                *[f"{ec2}:subnet/{s}" for s in vpc.subnet_ids],
                *[f"{ec2}:security-group/{g}" for g in vpc.security_group_ids],
            ],
        },
    ]


class DriftParts:
    """Drift resources and alarms of a Monitor (mixed into :class:`Monitor`)."""

    if TYPE_CHECKING:
        args: Any
        endpoint: Any
        kms_key_arn: Any
        _name: str
        _child: pulumi.ResourceOptions
        _region: pulumi.Output[str]
        _account: pulumi.Output[str]
        _partition: pulumi.Output[str]

        def _alarm(self, key: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm: ...

    # -- drift --------------------------------------------------------------------------------

    def _drift(self, drift: DriftSpec) -> None:
        if drift.method is DriftMethod.JOB:
            self._drift_job(drift)
            self._drift_job_alarms(drift)
        else:
            self._model_monitor(drift)

    def _job_role(self, drift: DriftSpec, role: str, namespace: str, image: pulumi.Input[str]) -> aws.iam.Role:
        """The role a drift run assumes: read capture and baseline, write reports, publish to ``namespace``."""
        job_role = aws.iam.Role(
            f"{self._name}-{role}",
            description=f"Drift runs of monitor {self.args.alarm_prefix}",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", self._account),
            tags=self.args.tags,
            opts=self._child,
        )
        capture = self.endpoint.data_capture_uri
        capture_kms = getattr(self.endpoint, "kms_key_arn", None)  # encrypts the captured data

        def statements(args: list) -> str:
            partition, region, account, capture_uri, image_uri, key_arn, capture_key = args
            bucket, key = _s3_parts(capture_uri)
            prefix = key.rstrip("/") + "/" if key else ""
            out: list[dict] = [
                {"Sid": "ReadCapturedRequests", "Effect": "Allow", "Action": "s3:GetObject", "Resource": _prefix_arn(partition, capture_uri)},
                {
                    "Sid": "ListCapturedRequests",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:{partition}:s3:::{bucket}",
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
                {"Sid": "ReadBaseline", "Effect": "Allow", "Action": "s3:GetObject", "Resource": _object_arns(partition, drift.baseline_uri)},
                {
                    "Sid": "PublishDriftMetrics",
                    "Effect": "Allow",
                    "Action": "cloudwatch:PutMetricData",
                    "Resource": "*",  # PutMetricData has no resource ARN; the namespace condition scopes it
                    "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
                },
                {
                    "Sid": "WriteJobLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [
                        f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs",
                        f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs:log-stream:*",
                    ],
                },
            ]
            if drift.method is DriftMethod.MODEL_MONITOR and drift.baseline_uri:
                out[2]["Resource"] = _prefix_arn(partition, drift.baseline_uri)
            if drift.report_uri:
                out.append({"Sid": "WriteReports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": _prefix_arn(partition, drift.report_uri)})
            ecr = parse_ecr_image(image_uri or "")
            if ecr:
                out.append({"Sid": "PullImageToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"})
                out.append(
                    {
                        "Sid": "PullImage",
                        "Effect": "Allow",
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                        "Resource": ecr.repository_arn(partition),
                    }
                )
            if drift.vpc:
                out += vpc_statements(partition, region, account, drift.vpc)
            keys = [k for k in (key_arn, capture_key) if k]
            if keys:
                out.append(
                    {
                        "Sid": "UseKeys",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                        "Resource": keys,
                    }
                )
            return json.dumps({"Version": "2012-10-17", "Statement": out})

        aws.iam.RolePolicy(
            f"{self._name}-{role}-policy",
            role=job_role.id,
            policy=pulumi.Output.all(self._partition, self._region, self._account, capture, image, self.kms_key_arn, capture_kms).apply(statements),
            opts=self._child,
        )
        return job_role

    def _drift_job(self, drift: DriftSpec) -> None:
        assert drift.image is not None  # validated by DriftSpec
        job_role = self._job_role(drift, "drift-job-role", DRIFT_NAMESPACE, drift.image)
        arguments: list[pulumi.Input[str]] = [
            "--endpoint-name", self.endpoint.endpoint_name,
            "--capture-uri", self.endpoint.data_capture_uri,
            "--baseline-uri", drift.baseline_uri,
            "--features", ",".join(drift.features),
            "--psi-threshold", f"{drift.psi_threshold():g}",
            "--window-hours", f"{drift.window():g}",
        ]  # fmt: skip
        if drift.categorical:
            arguments += ["--categorical", ",".join(drift.categorical)]
        if drift.report_uri:
            arguments += ["--report-uri", drift.report_uri]
        cluster: dict[str, Any] = {"InstanceType": drift.instance_type, "InstanceCount": 1, "VolumeSizeInGB": drift.volume_size_gb}
        if self.kms_key_arn is not None:
            cluster["VolumeKmsKeyId"] = self.kms_key_arn
        network: dict[str, Any] = {"EnableNetworkIsolation": False}  # the job calls S3 and CloudWatch
        if drift.vpc:
            network["VpcConfig"] = {"Subnets": list(drift.vpc.subnet_ids), "SecurityGroupIds": list(drift.vpc.security_group_ids)}
        definition = {
            "Version": "2020-12-01",
            "Metadata": {},
            "Parameters": [],
            "Steps": [
                {
                    "Name": "DriftCheck",
                    "Type": "Processing",
                    "Arguments": {
                        "ProcessingResources": {"ClusterConfig": cluster},
                        "AppSpecification": {
                            "ImageUri": drift.image,
                            "ContainerEntrypoint": ["python", "-m", "mlstack.drift"],
                            "ContainerArguments": arguments,
                        },
                        "RoleArn": job_role.arn,
                        "Environment": {"AWS_REGION": self._region, "AWS_DEFAULT_REGION": self._region, "MLSTACK_LOG_LEVEL": "INFO"},
                        "StoppingCondition": {"MaxRuntimeInSeconds": drift.max_runtime_minutes * 60},
                        "NetworkConfig": network,
                    },
                }
            ],
        }
        pipeline_role = aws.iam.Role(
            f"{self._name}-drift-pipeline-role",
            description=f"Drift pipeline of monitor {self.args.alarm_prefix}",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", self._account),
            tags=self.args.tags,
            opts=self._child,
        )
        statements: list[dict] = [
            {
                "Sid": "RunDriftJobs",
                "Effect": "Allow",
                "Action": ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:AddTags"],
                # Pipelines name the jobs they start pipelines-<execution>-<step>-<suffix>.
                "Resource": pulumi.Output.concat("arn:", self._partition, ":sagemaker:", self._region, ":", self._account, ":processing-job/pipelines-*"),
            },
            {
                "Sid": "PassDriftJobRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": job_role.arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
        ]
        if self.kms_key_arn is not None:
            statements.append(
                {"Sid": "EncryptJobVolume", "Effect": "Allow", "Action": ["kms:CreateGrant", "kms:DescribeKey"], "Resource": self.kms_key_arn}
            )
        aws.iam.RolePolicy(
            f"{self._name}-drift-pipeline-policy",
            role=pipeline_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=self._child,
        )
        self.drift_pipeline = aws.sagemaker.Pipeline(
            f"{self._name}-drift-pipeline",
            pipeline_name=short_name(self.args.alarm_prefix, "drift", 256),
            pipeline_display_name=short_name(self.args.alarm_prefix, "drift", 82),
            pipeline_description=f"mlstack drift check of {self.args.alarm_prefix}: PSI and KL per feature to {DRIFT_NAMESPACE}",
            pipeline_definition=pulumi.Output.json_dumps(definition),
            role_arn=pipeline_role.arn,
            tags=self.args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline_role]),
        )
        schedule_role = aws.iam.Role(
            f"{self._name}-drift-schedule-role",
            description=f"EventBridge Scheduler starting the drift pipeline of {self.args.alarm_prefix}",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com", self._account),
            tags=self.args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-drift-schedule-policy",
            role=schedule_role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Sid": "StartDriftPipeline", "Effect": "Allow", "Action": "sagemaker:StartPipelineExecution", "Resource": self.drift_pipeline.arn}
                    ],
                }
            ),
            opts=self._child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{self._name}-drift-schedule",
            description=f"Runs the drift check of {self.args.alarm_prefix} every {drift.interval_hours} hour(s)",
            schedule_expression=_rate(drift.interval_hours),
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.drift_pipeline.arn,
                "role_arn": schedule_role.arn,
                "retry_policy": {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
            },
            opts=self._child,
        )

    def _drift_job_alarms(self, drift: DriftSpec) -> None:
        period = drift.interval_hours * 3600
        ep_name = self.endpoint.endpoint_name
        for feature in drift.features:
            dims = {DIMENSION_ENDPOINT: ep_name, DIMENSION_FEATURE: feature}
            threshold = drift.threshold_for(feature)
            self._alarm(
                feature_drift_alarm(feature),
                f"Population stability index of feature {feature} above {threshold:g} (captured requests vs training baseline).",
                namespace=DRIFT_NAMESPACE,
                metric_name=METRIC_PSI,
                dimensions=dims,
                statistic="Maximum",
                period=period,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=threshold,
                treat_missing_data="notBreaching",  # a run without captured data publishes no PSI
            )
            kl = drift.kl_threshold_for(feature)
            if kl is not None:
                self._alarm(
                    feature_kl_alarm(feature),
                    f"KL divergence of feature {feature} above {kl:g} (captured requests vs training baseline).",
                    namespace=DRIFT_NAMESPACE,
                    metric_name=METRIC_KL,
                    dimensions=dims,
                    statistic="Maximum",
                    period=period,
                    evaluation_periods=1,
                    comparison_operator="GreaterThanThreshold",
                    threshold=kl,
                    treat_missing_data="notBreaching",
                )
        if drift.features_drifted_threshold is not None:
            self._alarm(
                FEATURES_DRIFTED,
                f"At least {drift.features_drifted_threshold} feature(s) drifted (PSI above {drift.psi_threshold():g}) in one run.",
                namespace=DRIFT_NAMESPACE,
                metric_name=METRIC_FEATURES_DRIFTED,
                dimensions={DIMENSION_ENDPOINT: ep_name},
                statistic="Maximum",
                period=period,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=drift.features_drifted_threshold,
                treat_missing_data="notBreaching",
            )
        if drift.stalled_alarm:
            # Every run publishes CapturedRecords (0 for an idle window): no datapoint means no run.
            self._alarm(
                DRIFT_JOB_STALLED,
                f"The drift job has not reported for {2 * drift.interval_hours} hours; check the drift pipeline's executions.",
                namespace=DRIFT_NAMESPACE,
                metric_name=METRIC_CAPTURED_RECORDS,
                dimensions={DIMENSION_ENDPOINT: ep_name},
                statistic="SampleCount",
                period=period,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                comparison_operator="LessThanThreshold",
                threshold=1,
                treat_missing_data="breaching",
            )
        # A run skips capture files it cannot read (and publishes how many); data lost that way
        # would otherwise only show as a quieter drift signal.
        self._alarm(
            CAPTURE_FILES_CORRUPT,
            "The drift job skipped capture files it could not read (corrupt gzip, not UTF-8, no capture events); "
            "its log names them: inspect and remove them from the capture prefix.",
            namespace=DRIFT_NAMESPACE,
            metric_name=METRIC_CORRUPT_FILES,
            dimensions={DIMENSION_ENDPOINT: ep_name},
            statistic="Maximum",
            period=period,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",  # a run that did not report is drift-job-stalled's to catch
        )

    def _model_monitor(self, drift: DriftSpec) -> None:
        assert drift.report_uri is not None  # validated by DriftSpec
        image: pulumi.Input[str] = drift.image or self._region.apply(_model_monitor_image)
        job_role = self._job_role(drift, "model-monitor-role", MODEL_MONITOR_NAMESPACE, image)
        schedule_name = short_name(self.args.alarm_prefix, "data-quality", 63)
        baseline = drift.baseline_uri.rstrip("/")
        cluster: dict[str, Any] = {"instance_count": 1, "instance_type": drift.instance_type, "volume_size_in_gb": drift.volume_size_gb}
        if self.kms_key_arn is not None:
            cluster["volume_kms_key_id"] = self.kms_key_arn
        definition = aws.sagemaker.DataQualityJobDefinition(
            f"{self._name}-data-quality",
            name=short_name(self.args.alarm_prefix, "data-quality", 63),
            role_arn=job_role.arn,
            data_quality_app_specification={"image_uri": image},
            data_quality_baseline_config={
                "constraints_resource": {"s3_uri": f"{baseline}/constraints.json"},
                "statistics_resource": {"s3_uri": f"{baseline}/statistics.json"},
            },
            data_quality_job_input={
                "endpoint_input": {"endpoint_name": self.endpoint.endpoint_name, "local_path": f"{_PROCESSING_DIR}/input/endpoint"}
            },
            data_quality_job_output_config={
                "kms_key_id": self.kms_key_arn,
                "monitoring_outputs": {"s3_output": {"s3_uri": drift.report_uri, "local_path": f"{_PROCESSING_DIR}/output"}},
            },
            job_resources={"cluster_config": cluster},
            stopping_condition={"max_runtime_in_seconds": drift.max_runtime_minutes * 60},
            network_config=(
                {"vpc_config": {"subnets": list(drift.vpc.subnet_ids), "security_group_ids": list(drift.vpc.security_group_ids)}}
                if drift.vpc
                else None
            ),
            tags=self.args.tags,
            opts=self._child,
        )
        self.monitoring_schedule = aws.sagemaker.MonitoringSchedule(
            f"{self._name}-data-quality-schedule",
            name=schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition.name,
                "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": _cron(drift.interval_hours)},
            },
            tags=self.args.tags,
            opts=self._child,
        )
        for feature in drift.features:
            threshold = drift.threshold_for(feature)
            self._alarm(
                feature_drift_alarm(feature),
                f"Model Monitor baseline drift of feature {feature} above {threshold:g}.",
                namespace=MODEL_MONITOR_NAMESPACE,
                metric_name=model_monitor_metric(feature),
                dimensions=dict(zip(MODEL_MONITOR_DIMENSIONS, (self.endpoint.endpoint_name, schedule_name, feature))),
                statistic="Maximum",
                period=drift.interval_hours * 3600,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=threshold,
                treat_missing_data="notBreaching",
            )


def _model_monitor_image(region: str) -> str:
    """AWS's Model Monitor analyzer image for ``region``, from the SageMaker SDK's registry table."""
    try:
        from sagemaker.core import image_uris  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigError(
            [
                Problem(
                    "drift.image",
                    "Model Monitor needs its analyzer image and the SageMaker SDK (which knows it per region) is not installed",
                    hint="set drift.image to sagemaker-model-monitor-analyzer of your region, or pip install sagemaker",
                )
            ]
        ) from None
    return image_uris.retrieve("model-monitor", region)


