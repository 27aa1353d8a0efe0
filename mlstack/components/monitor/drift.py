"""The drift check of a Monitor: :class:`DriftJob`, a child component (the alarms on what it
publishes are in :mod:`.drift_alarms`; the Monitor creates them so they notify its topic).

Two methods (``drift.method``):

* ``job`` (default): a one-step SageMaker pipeline running ``python -m mlstack.drift`` as a
  processing job, started by an EventBridge Scheduler schedule, publishing PSI and KL per
  feature to ``mlstack/Drift``. A pipeline rather than a schedule calling CreateProcessingJob
  directly: a processing job name can never be reused and the scheduler cannot make a unique
  one, while a pipeline names each execution's job itself, keeps the execution history and
  retries, and the schedule's role needs only StartPipelineExecution on one pipeline.
  Children: ``<name>-drift-job-role`` (+ ``-policy``), ``<name>-drift-pipeline-role``,
  ``<name>-drift-pipeline-policy``, ``<name>-drift-pipeline``, ``<name>-drift-schedule-role``,
  ``<name>-drift-schedule-policy``, ``<name>-drift-schedule``;
* ``model-monitor``: a SageMaker data-quality job definition and monitoring schedule on the
  endpoint's data capture, alarms on ``feature_baseline_drift_<feature>``. Children:
  ``<name>-model-monitor-role`` (+ ``-policy``), ``<name>-data-quality``,
  ``<name>-data-quality-schedule``.

A DriftJob takes its Monitor's name, so its children keep the names they had when the Monitor
created them itself; each carries an alias to the Monitor as its former parent, so a stack
deployed before DriftJob existed updates them in place (same URN by alias) instead of
replacing them.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field

from ...drift import NAMESPACE as DRIFT_NAMESPACE
from ...errors import ConfigError, Problem
from ...specs.base import parse_ecr_image
from ...specs.monitor import DriftMethod, DriftSpec
from ..base import Component, ComponentArgs
from ..names import short_name
from ..secure import assume_role_policy, image_pull_statements, vpc_statements
from .drift_alarms import MODEL_MONITOR_NAMESPACE, data_quality_schedule_name

__all__ = ["DriftJob", "DriftJobArgs", "scheduled_pipeline"]

_PROCESSING_DIR = "/opt/ml/processing"


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


class DriftJobArgs(ComponentArgs):
    """Inputs of :class:`DriftJob`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    drift: DriftSpec
    """What to check, how often, with which method."""
    endpoint: Any
    """The endpoint whose captured requests are checked (an mlstack Endpoint, see MonitoredEndpoint)."""
    alarm_prefix: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    """Prefix of the physical names (pipeline, schedules, job definition), the Monitor's."""
    kms_key_arn: Optional[Any] = None
    """pulumi.Input[str]: the key of the job volumes and reports (the Monitor's)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every taggable child, lineage tags included."""


class DriftJob(Component, token="mlstack:index:DriftJob"):
    """The drift check of one endpoint, a child of its Monitor (see the module docstring).

    Example (what Monitor does)::

        job = DriftJob(name, DriftJobArgs(drift=args.drift, endpoint=endpoint, alarm_prefix="churn-prod-scoring",
                                          kms_key_arn=key.arn, tags=tags), opts=pulumi.ResourceOptions(parent=monitor))
        for alarm in drift_alarms(args.drift, endpoint_name=endpoint.endpoint_name, schedule_name=job.schedule_name):
            ...
    """

    pipeline: Optional[aws.sagemaker.Pipeline]
    schedule: Optional[aws.scheduler.Schedule]
    monitoring_schedule: Optional[aws.sagemaker.MonitoringSchedule]
    schedule_name: Optional[str]
    """The Model Monitor schedule's name (None for the job method)."""

    def __init__(self, name: str, args: DriftJobArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.args = args
        self.endpoint = args.endpoint
        self._name = name
        # Before DriftJob these were the Monitor's own children: the alias names that URN.
        former = opts.parent if opts is not None and opts.parent is not None else None
        self._child_opts = pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=former)] if former is not None else None)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._region = aws.get_region_output(opts=invoke).region
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke).partition
        self.pipeline = None
        self.schedule = None
        self.monitoring_schedule = None
        self.schedule_name = None
        drift = args.drift
        if drift.method is DriftMethod.JOB:
            self._drift_job(drift)
        else:
            self.schedule_name = data_quality_schedule_name(args.alarm_prefix)
            self._model_monitor(drift)
        self.register_outputs(
            {
                "pipeline_name": self.pipeline.pipeline_name if self.pipeline else None,
                "monitoring_schedule_name": self.schedule_name,
            }
        )

    def _job_role(self, drift: DriftSpec, role: str, namespace: str, image: pulumi.Input[str]) -> aws.iam.Role:
        """The role a drift run assumes: read capture and baseline, write reports, publish to ``namespace``."""
        job_role = aws.iam.Role(
            f"{self._name}-{role}",
            description=f"Drift runs of monitor {self.args.alarm_prefix}",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", self._account),
            tags=self.args.tags,
            opts=self._child_opts,
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
                out += image_pull_statements(ecr.repository_arn(partition))
            if drift.vpc:
                out += vpc_statements(partition, region, account, drift.vpc, sid="JobNetworkInterfaces")
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
            policy=pulumi.Output.all(self._partition, self._region, self._account, capture, image, self.args.kms_key_arn, capture_kms).apply(statements),
            opts=self._child_opts,
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
        if self.args.kms_key_arn is not None:
            cluster["VolumeKmsKeyId"] = self.args.kms_key_arn
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
        self.pipeline, self.schedule = scheduled_pipeline(
            self,
            self._name,
            kind="drift",
            alarm_prefix=self.args.alarm_prefix,
            step=definition["Steps"][0],
            job_role=job_role,
            kms_key_arn=self.args.kms_key_arn,
            interval_hours=drift.interval_hours,
            description=f"mlstack drift check of {self.args.alarm_prefix}: PSI and KL per feature to {DRIFT_NAMESPACE}",
            tags=self.args.tags,
            opts=self._child_opts,
            partition=self._partition,
            region=self._region,
            account=self._account,
        )

    def _model_monitor(self, drift: DriftSpec) -> None:
        assert drift.report_uri is not None  # validated by DriftSpec
        image: pulumi.Input[str] = drift.image or self._region.apply(_model_monitor_image)
        job_role = self._job_role(drift, "model-monitor-role", MODEL_MONITOR_NAMESPACE, image)
        schedule_name = self.schedule_name
        baseline = drift.baseline_uri.rstrip("/")
        cluster: dict[str, Any] = {"instance_count": 1, "instance_type": drift.instance_type, "volume_size_in_gb": drift.volume_size_gb}
        if self.args.kms_key_arn is not None:
            cluster["volume_kms_key_id"] = self.args.kms_key_arn
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
                "kms_key_id": self.args.kms_key_arn,
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
            opts=self._child_opts,
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
            opts=self._child_opts,
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


def scheduled_pipeline(
    owner: pulumi.Resource,
    name: str,
    *,
    kind: str,
    alarm_prefix: str,
    step: dict,
    job_role: aws.iam.Role,
    kms_key_arn: Any,
    interval_hours: int,
    description: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    partition: pulumi.Input[str],
    region: pulumi.Input[str],
    account: pulumi.Input[str],
) -> tuple[aws.sagemaker.Pipeline, aws.scheduler.Schedule]:
    """A one-step SageMaker pipeline running ``step`` (a processing step) and the EventBridge
    Scheduler schedule starting it every ``interval_hours``: the machinery of every mlstack
    monitoring job (``kind`` drift or quality names the children ``<name>-<kind>-pipeline``, ...)."""
    title = kind.capitalize()
    definition = {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [step]}
    pipeline_role = aws.iam.Role(
        f"{name}-{kind}-pipeline-role",
        description=f"{title} pipeline of monitor {alarm_prefix}",
        assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", account),
        tags=tags,
        opts=opts,
    )
    statements: list[dict] = [
        {
            "Sid": f"Run{title}Jobs",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:AddTags"],
            # Pipelines name the jobs they start pipelines-<execution>-<step>-<suffix>.
            "Resource": pulumi.Output.concat("arn:", partition, ":sagemaker:", region, ":", account, ":processing-job/pipelines-*"),
        },
        {
            "Sid": f"Pass{title}JobRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": job_role.arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    ]
    if kms_key_arn is not None:
        statements.append({"Sid": "EncryptJobVolume", "Effect": "Allow", "Action": ["kms:CreateGrant", "kms:DescribeKey"], "Resource": kms_key_arn})
    aws.iam.RolePolicy(
        f"{name}-{kind}-pipeline-policy",
        role=pipeline_role.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=opts,
    )
    pipeline = aws.sagemaker.Pipeline(
        f"{name}-{kind}-pipeline",
        pipeline_name=short_name(alarm_prefix, kind, 256),
        pipeline_display_name=short_name(alarm_prefix, kind, 82),
        pipeline_description=description,
        pipeline_definition=pulumi.Output.json_dumps(definition),
        role_arn=pipeline_role.arn,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[pipeline_role])),
    )
    schedule_role = aws.iam.Role(
        f"{name}-{kind}-schedule-role",
        description=f"EventBridge Scheduler starting the {kind} pipeline of {alarm_prefix}",
        assume_role_policy=assume_role_policy("scheduler.amazonaws.com", account),
        tags=tags,
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-{kind}-schedule-policy",
        role=schedule_role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Sid": f"Start{title}Pipeline", "Effect": "Allow", "Action": "sagemaker:StartPipelineExecution", "Resource": pipeline.arn}],
            }
        ),
        opts=opts,
    )
    schedule = aws.scheduler.Schedule(
        f"{name}-{kind}-schedule",
        description=f"Runs the {kind} check of {alarm_prefix} every {interval_hours} hour(s)",
        schedule_expression=_rate(interval_hours),
        flexible_time_window={"mode": "OFF"},
        target={
            "arn": pipeline.arn,
            "role_arn": schedule_role.arn,
            "retry_policy": {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
        },
        opts=opts,
    )
    return pipeline, schedule
