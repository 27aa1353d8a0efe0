"""Monitor: operational alarms, data drift, a dashboard and drift-triggered retraining for one endpoint.

What a monitor creates (children named ``<name>-<role>``):

- a KMS key (rotation on) and an SNS topic encrypted with it, with optional e-mail / HTTPS
  subscriptions — or your own topic and key;
- CloudWatch alarms on the endpoint's metrics (5XX and 4XX error rate, p99 ModelLatency,
  vanished traffic, GPU utilization and memory on GPU instances), named
  ``<alarm prefix>-<mlstack name>``;
- drift, one of two paths:

  * ``job`` (default): a one-step SageMaker pipeline running ``python -m mlstack.drift`` as a
    processing job, started hourly by EventBridge Scheduler, and alarms on the ``mlstack/Drift``
    metrics;
  * ``model-monitor``: a data-quality job definition and monitoring schedule on the
    endpoint's data capture, and alarms on ``feature_baseline_drift_<feature>``;

  the job's resources belong to a :class:`~mlstack.components.monitor.drift.DriftJob` child
  (see there), the alarms (:mod:`.drift_alarms`) to the monitor;

- an optional composite alarm that alone pages, an EventBridge rule that starts a retraining
  pipeline when chosen alarms enter ALARM, and a CloudWatch dashboard.

The endpoint is passed as an object (see :class:`MonitoredEndpoint`); KServe endpoints are
rejected: their metrics live in Prometheus, and :class:`~.prometheus.PrometheusAlerts` alerts on them.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional, Protocol, runtime_checkable

import pulumi
import pulumi_aws as aws
from pydantic import ConfigDict, Field, field_validator

from ...errors import format_path
from ...specs.base import Environment
from ...specs.monitor import DriftMethod, MonitorSettings, MonitorSpec, WatchedEndpoint, monitor_endpoint_problems, quality_image
from ..base import ArgumentProblem, Component, ComponentArgs, ComponentError
from ..names import short_name
from ..secure import assume_role_policy
from .dashboard import dashboard_body
from .drift import DriftJob, DriftJobArgs
from .drift_alarms import drift_alarms
from .notifications import notifications
from .quality import QualityJob, QualityJobArgs, quality_alarms

__all__ = ["Monitor", "MonitorArgs", "MonitoredEndpoint", "RetrainPipeline"]


@runtime_checkable
class MonitoredEndpoint(Protocol):
    """What a Monitor needs from an endpoint (the public contract of mlstack's Endpoint)."""

    endpoint_name: pulumi.Output[str]
    variant_names: list[str]
    instance_type: str
    is_gpu: bool
    data_capture_uri: Optional[pulumi.Output[str]]
    model_name: str
    spec: Any

    def metric(self, name: str, *, statistic: str = "Sum", period: int = 60, variant: str | None = None, namespace: str = "AWS/SageMaker") -> dict: ...
    def metric_invocations(self) -> dict: ...
    def metric_5xx_errors(self) -> dict: ...
    def metric_4xx_errors(self) -> dict: ...
    def metric_model_latency(self, statistic: str = "p99") -> dict: ...
    def metric_gpu_utilization(self) -> dict: ...
    def metric_gpu_memory_utilization(self) -> dict: ...


@runtime_checkable
class RetrainPipeline(Protocol):
    """What a Monitor needs from a TrainingPipeline to start it."""

    arn: pulumi.Output[str]
    trigger_role_arn: pulumi.Output[str]


class MonitorArgs(ComponentArgs, MonitorSettings):
    """Inputs of :class:`Monitor`: the settings of ``mlstack:monitors`` plus the objects they name."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    endpoint: Any
    """The endpoint to watch: an mlstack Endpoint (or any object with its contract, see MonitoredEndpoint)."""
    retrain_pipeline: Any = None
    """The TrainingPipeline that retrain starts when retrain.pipelineArn is not set."""
    model_gates: list[Any] = Field(default_factory=list)
    """The promotion gates of the endpoint's model (GateSpec, mlstack:models[].gates): quality alarms follow them."""
    alarm_prefix: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    """Prefix of every physical name (alarms, dashboard, pipeline, schedule), e.g. churn-prod-churn-xgb."""
    environment: Environment = Environment.DEV
    """dev, staging or prod; prod requires the drift image pinned by digest."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every taggable child, lineage tags included (see mlstack.lineage)."""
    secret_notifications: bool = False
    """Pass the subscription endpoints (e-mail addresses, HTTPS URLs) as Pulumi secrets, so they never appear in plain text in the state or in previews; the stack program sets it when mlstack:monitors holds a secret."""

    @field_validator("endpoint")
    @classmethod
    def _has_the_endpoint_contract(cls, value: Any) -> Any:
        missing = [
            attr
            for attr in ("endpoint_name", "variant_names", "is_gpu", "instance_type", "data_capture_uri", "metric_invocations", "metric")
            if not hasattr(value, attr)
        ]
        if missing:
            raise ValueError(f"endpoint must be an mlstack Endpoint; {type(value).__name__} lacks {', '.join(missing)}")
        return value

    @classmethod
    def from_spec(cls, spec: MonitorSpec, **kwargs: Any) -> "MonitorArgs":
        """The args of a monitor declared in ``mlstack:monitors``."""
        settings = spec.model_dump(exclude={"endpoint"}, by_alias=False)
        return cls(**settings, **kwargs)


def _backend(endpoint: Any) -> str:
    backend = getattr(getattr(endpoint, "spec", None), "backend", None) or getattr(endpoint, "backend", None) or "sagemaker"
    return str(getattr(backend, "value", backend)).lower()


class Monitor(Component, token="mlstack:index:Monitor"):
    """Alarms, drift detection, a dashboard and drift-triggered retraining for one endpoint.

    Example::

        monitor = Monitor("churn-xgb", MonitorArgs(
            endpoint=endpoint,                         # an mlstack Endpoint
            alarm_prefix="churn-prod-churn-xgb",
            alarms={"latency_p99_ms": 300},
            notifications={"emails": ["oncall@example.com"]},
            drift={"features": ["tenure", "plan"], "baseline_uri": "s3://data/baseline.csv",
                   "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlstack@sha256:...",
                   "features_drifted_threshold": 2},
            retrain={"alarms": ["features-drifted"]},   # or {"alarms": [...], "pipeline_arn": "arn:..."}
            retrain_pipeline=training_pipeline,         # an mlstack TrainingPipeline
            tags=lineage.tags(model="churn-xgb"),
        ))
        pulumi.export("alarms", monitor.alarm_names)

    Defaults: 5XX above 1 % and 4XX above 5 % of invocations, p99 latency above 1 s, no
    invocation for 60 minutes, GPU utilization / memory above 90 % per GPU; 3 of 5 one-minute
    periods must breach. Each alarm notifies the topic on ALARM and OK.
    """

    topic_arn: pulumi.Output[str]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    alarm_names: dict[str, str]
    """Physical alarm name by mlstack name."""

    def __init__(self, name: str, args: MonitorArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        _check(args)  # before anything is registered
        super().__init__(name, opts)
        self.args = args
        self.endpoint = args.endpoint
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)

        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._region = aws.get_region_output(opts=invoke).region
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke).partition

        self.alarms = {}
        self.alarm_names = {}
        self.composite: Optional[aws.cloudwatch.CompositeAlarm] = None
        self.slo_pages: dict[str, aws.cloudwatch.CompositeAlarm] = {}
        self.key: Optional[aws.kms.Key] = None
        self.topic: Optional[aws.sns.Topic] = None
        self.drift_job: Optional[DriftJob] = None
        self.quality_job: Optional[QualityJob] = None
        self.cooldown: Optional[aws.sfn.StateMachine] = None
        self.retrain_rule: Optional[aws.cloudwatch.EventRule] = None
        self.dashboard: Optional[aws.cloudwatch.Dashboard] = None

        self._notifications()
        # Members of a paging composite alarm notify nobody themselves.
        self._silent = set(args.composite.members()) if args.composite and args.composite.page_only_on_composite else set()
        self._endpoint_alarms()
        self._slo_pages()
        if args.drift:
            self._drift()
        if args.quality:
            self._quality()
        if args.composite:
            self._composite()
        if args.retrain:
            self._retrain()
        if args.dashboard:
            self._dashboard()

        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "alarm_names": self.alarm_names,
                "dashboard_name": self.dashboard.dashboard_name if self.dashboard else None,
                "retrain_rule_arn": self.retrain_rule.arn if self.retrain_rule else None,
            }
        )

    # -- notifications ------------------------------------------------------------------------

    def _notifications(self) -> None:
        made = notifications(self._name, self.args, region=self._region, account=self._account, partition=self._partition, parent=self)
        self.key, self.kms_key_arn, self.topic, self.topic_arn = made.key, made.kms_key_arn, made.topic, made.topic_arn

    # -- alarms -------------------------------------------------------------------------------

    def _alarm(self, key: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        physical = f"{self.args.alarm_prefix}-{key}"
        actions = [] if key in self._silent else [self.topic_arn]
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=physical,
            alarm_description=description,
            actions_enabled=True,
            alarm_actions=actions,
            ok_actions=actions,
            tags=self.args.tags,
            opts=self._child,
            **kwargs,
        )
        self.alarms[key] = alarm
        self.alarm_names[key] = physical
        return alarm

    @staticmethod
    def _at(metric: dict, period: int) -> dict:
        """An endpoint metric (MetricAlarm kwargs of the production variant) at ``period`` seconds."""
        return {**metric, "period": period}

    @staticmethod
    def _query(query_id: str, metric: dict) -> dict:
        body = {
            "metric_name": metric["metric_name"],
            "namespace": metric.get("namespace"),
            "dimensions": metric.get("dimensions"),
            "period": metric["period"],
            "stat": metric.get("extended_statistic") or metric.get("statistic"),
        }
        return {"id": query_id, "metric": body, "return_data": False}

    def _timing(self) -> dict:
        a = self.args.alarms
        return {"evaluation_periods": a.evaluation_periods, "datapoints_to_alarm": a.datapoints_to_alarm}

    def _error_rate_alarm(self, key: str, errors: dict, threshold: float, kind: str) -> None:
        period = self.args.alarms.period_minutes * 60
        queries = [
            self._query("errors", self._at(errors, period)),
            self._query("invocations", self._at(self.endpoint.metric_invocations(), period)),
            {
                "id": "rate",
                "expression": "IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)",
                "label": f"{kind} errors (% of invocations)",
                "return_data": True,
            },
        ]
        self._alarm(
            key,
            f"More than {threshold:g}% of the invocations of the production variant returned {kind} errors.",
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            metric_queries=queries,
            treat_missing_data="notBreaching",
            **self._timing(),
        )

    def _endpoint_alarms(self) -> None:
        # The production variant only: a shadow variant's errors reach no caller.
        a = self.args.alarms
        ep = self.endpoint
        period = a.period_minutes * 60
        if a.errors_5xx_percent is not None:
            self._error_rate_alarm("errors-5xx", ep.metric_5xx_errors(), a.errors_5xx_percent, "5XX")
        if a.errors_4xx_percent is not None:
            self._error_rate_alarm("errors-4xx", ep.metric_4xx_errors(), a.errors_4xx_percent, "4XX")
        if a.latency_p99_ms is not None:
            self._alarm(
                "latency-p99",
                f"p99 model latency of the production variant above {a.latency_p99_ms:g} ms.",
                **self._at(ep.metric_model_latency("p99"), period),
                threshold=a.latency_p99_ms * 1000,  # ModelLatency is in microseconds
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                **self._timing(),
            )
        if a.no_invocations_minutes is not None:
            minutes = a.no_invocations_minutes
            window = 60 if minutes < 10 or minutes % 5 else 300
            evaluation = math.ceil(minutes * 60 / window)
            self._alarm(
                "no-invocations",
                f"The endpoint received no invocation for {minutes} minutes.",
                **self._at(ep.metric_invocations(), window),
                comparison_operator="LessThanThreshold",
                threshold=1,
                evaluation_periods=evaluation,
                datapoints_to_alarm=evaluation,
                treat_missing_data="breaching",  # SageMaker publishes nothing when nothing is invoked
            )
        if ep.is_gpu:
            from ... import catalog

            gpus = max(catalog.gpu_count(ep.instance_type), 1) if ep.instance_type else 1
            for key, percent, metric, what in (
                ("gpu-utilization", a.gpu_utilization_percent, ep.metric_gpu_utilization, "GPU utilization"),
                ("gpu-memory", a.gpu_memory_percent, ep.metric_gpu_memory_utilization, "GPU memory utilization"),
            ):
                if percent is None:
                    continue
                # SageMaker reports these per instance as the sum over its GPUs (0-100 x GPUs).
                self._alarm(
                    key,
                    f"{what} above {percent:g}% per GPU ({percent * gpus:g}% over the {gpus} GPU(s) of {ep.instance_type}).",
                    **self._at(metric(), period),
                    threshold=percent * gpus,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                    **self._timing(),
                )

    # -- composite, retraining, dashboard -------------------------------------------------------

    def _composite(self) -> None:
        c = self.args.composite
        assert c is not None

        def state(key: str) -> str:
            return f'ALARM("{self.alarm_names[key]}")'

        parts = [state(k) for k in c.all_of]
        if c.any_of:
            any_rule = " OR ".join(state(k) for k in c.any_of)
            parts.append(f"({any_rule})" if len(c.any_of) > 1 and parts else any_rule)
        physical = f"{self.args.alarm_prefix}-{c.name}"
        self.composite = aws.cloudwatch.CompositeAlarm(
            f"{self._name}-{c.name}",
            alarm_name=physical,
            alarm_description=_composite_description(c.all_of, c.any_of),
            alarm_rule=" AND ".join(parts),
            actions_enabled=True,
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            tags=self.args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.alarms[k] for k in c.members()]),
        )
        self.alarm_names[c.name] = physical

    def _slo_pages(self) -> None:
        """An endpoint with ``slo``: the two multi-window burn-rate pages (composite alarms over
        the Endpoint's burn-rate alarms ``<endpoint>-slo-burn-<window>``), notifying the topic;
        see mlstack.specs.slo. An Endpoint object hands its alarms over (``slo_burn_alarms``);
        an endpoint given by its outputs (other languages) by its deterministic alarm names."""
        slo = getattr(getattr(self.endpoint, "spec", None), "slo", None)
        if slo is None:
            return
        from ..endpoint.slo import burn_alarm_names, page_rules

        members = getattr(self.endpoint, "slo_burn_alarms", None) or {}
        names = pulumi.Output.from_input(self.endpoint.endpoint_name).apply(burn_alarm_names)
        for key, long, short, description in page_rules(slo):
            physical = f"{self.args.alarm_prefix}-{key}"
            depends = [members[w] for w in (long, short) if w in members]
            self.slo_pages[key] = aws.cloudwatch.CompositeAlarm(
                f"{self._name}-{key}",
                alarm_name=physical,
                alarm_description=description,
                alarm_rule=names.apply(lambda n, l=long, s=short: f'ALARM("{n[l]}") AND ALARM("{n[s]}")'),
                actions_enabled=True,
                alarm_actions=[self.topic_arn],
                ok_actions=[self.topic_arn],
                tags=self.args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
            )
            self.alarm_names[key] = physical

    def _retrain(self) -> None:
        r = self.args.retrain
        assert r is not None
        names = [self.alarm_names[k] for k in r.alarms]
        pattern = {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": names, "state": {"value": ["ALARM"]}},
        }
        self.retrain_rule = aws.cloudwatch.EventRule(
            f"{self._name}-retrain",
            description=f"Retrain when {', '.join(r.alarms)} of {self.args.alarm_prefix} enter ALARM",
            event_pattern=json.dumps(pattern),
            tags=self.args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.alarms[k] for k in r.alarms if k in self.alarms]),
        )
        pipeline_arn: pulumi.Input[str] = r.pipeline_arn or self.args.retrain_pipeline.arn
        self.cooldown = self._cooldown(pipeline_arn)
        role = aws.iam.Role(
            f"{self._name}-retrain-role",
            description=f"EventBridge starting the retraining cooldown of {self.args.alarm_prefix}",
            assume_role_policy=assume_role_policy("events.amazonaws.com", self._account, self.retrain_rule.arn),
            tags=self.args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-retrain-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": "StartRetrainingCooldown", "Effect": "Allow", "Action": "states:StartExecution", "Resource": self.cooldown.arn}],
                }
            ),
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-retrain-target",
            rule=self.retrain_rule.name,
            arn=self.cooldown.arn,
            role_arn=role.arn,
            retry_policy={"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            opts=self._child,
        )

    def _cooldown(self, pipeline_arn: pulumi.Input[str]) -> aws.sfn.StateMachine:
        """A Step Functions state machine between every retrain trigger and the pipeline: it
        starts the pipeline only when its last execution (by any trigger) started more than
        retrain.cooldownHours ago.

        AWS SDK integrations return timestamps as ISO 8601 strings (e.g. CloudFormation's
        ``"CreationTime": "2013-08-23T01:02:15.422Z"`` as noted in functionless/functionless#489),
        which JSONata's ``$toMillis`` reads. Two alarms firing together could both find no recent
        run: the ClientRequestToken is the same for every start within one cooldown period, so
        SageMaker starts the pipeline once (StartPipelineExecution is idempotent on it).
        """
        r = self.args.retrain
        assert r is not None
        window_ms = r.cooldown_hours * 3600 * 1000
        role = aws.iam.Role(
            f"{self._name}-retrain-cooldown-role",
            description=f"Step Functions starting the retraining pipeline of {self.args.alarm_prefix} outside its cooldown",
            assume_role_policy=assume_role_policy("states.amazonaws.com", self._account),
            tags=self.args.tags,
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-retrain-cooldown-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "StartRetrainingPipelineAfterCooldown",
                            "Effect": "Allow",
                            "Action": ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
                            "Resource": pipeline_arn,
                        }
                    ],
                }
            ),
            opts=self._child,
        )
        start_args: dict[str, Any] = {
            "PipelineName": pipeline_arn,
            "PipelineExecutionDescription": f"mlstack retraining of {self.args.alarm_prefix}: {', '.join(r.alarms)}",
            "ClientRequestToken": "{% 'mlstack-retrain-' & $string($floor($toMillis($states.context.Execution.StartTime) / "
            + str(window_ms)
            + ")) & '-cooldown-window' %}",
        }
        if r.parameters:
            start_args["PipelineParameters"] = [{"Name": k, "Value": v} for k, v in sorted(r.parameters.items())]
        definition = {
            "Comment": f"Retrain {self.args.alarm_prefix} at most once every {r.cooldown_hours} hour(s)",
            "QueryLanguage": "JSONata",
            "StartAt": "LastStart",
            "States": {
                "LastStart": {
                    "Type": "Task",
                    "Resource": pulumi.Output.concat("arn:", self._partition, ":states:::aws-sdk:sagemaker:listPipelineExecutions"),
                    "Arguments": {"PipelineName": pipeline_arn, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1},
                    "Output": {"last": "{% $states.result.PipelineExecutionSummaries[0].StartTime %}"},
                    "Next": "CoolingDown",
                },
                "CoolingDown": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% $exists($states.input.last) and "
                            f"($toMillis($states.context.Execution.StartTime) - $toMillis($states.input.last)) < {window_ms} %}}",
                            "Next": "SkipRetrain",
                        }
                    ],
                    "Default": "StartRetrain",
                },
                "SkipRetrain": {"Type": "Succeed", "Comment": f"The pipeline started less than {r.cooldown_hours} hour(s) ago"},
                "StartRetrain": {
                    "Type": "Task",
                    "Resource": pulumi.Output.concat("arn:", self._partition, ":states:::aws-sdk:sagemaker:startPipelineExecution"),
                    "Arguments": start_args,
                    "End": True,
                },
            },
        }
        return aws.sfn.StateMachine(
            f"{self._name}-retrain-cooldown",
            name=short_name(self.args.alarm_prefix, "retrain-cooldown", 80),
            type="STANDARD",  # the execution history says when and why a retrain was skipped
            role_arn=role.arn,
            definition=pulumi.Output.json_dumps(definition),
            tags=self.args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _quality(self) -> None:
        quality = self.args.quality
        assert quality is not None
        image = quality_image(self.args)
        assert image is not None  # monitor_endpoint_problems
        drift = self.args.drift
        vpc = quality.vpc or (drift.vpc if drift is not None and drift.method is DriftMethod.JOB else None)
        self.quality_job = QualityJob(
            self._name,
            QualityJobArgs(
                quality=quality,
                endpoint=self.endpoint,
                image=image,
                gates=list(self.args.model_gates),
                alarm_prefix=self.args.alarm_prefix,
                kms_key_arn=self.kms_key_arn,
                vpc=vpc,
                tags=self.args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for alarm in quality_alarms(quality, self.args.model_gates, endpoint_name=self.endpoint.endpoint_name):
            self._alarm(alarm.key, alarm.description, **alarm.settings)

    def _drift(self) -> None:
        drift = self.args.drift
        assert drift is not None
        self.drift_job = DriftJob(
            self._name,
            DriftJobArgs(drift=drift, endpoint=self.endpoint, alarm_prefix=self.args.alarm_prefix, kms_key_arn=self.kms_key_arn, tags=self.args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for alarm in drift_alarms(drift, endpoint_name=self.endpoint.endpoint_name, schedule_name=self.drift_job.schedule_name):
            self._alarm(alarm.key, alarm.description, **alarm.settings)

    def _dashboard(self) -> None:
        alarm_arns = [a.arn for a in self.alarms.values()]
        if self.composite is not None:
            alarm_arns.insert(0, self.composite.arn)
        schedule = self.drift_job.monitoring_schedule if self.drift_job is not None else None
        body = dashboard_body(
            self.args, self.endpoint, alarm_arns=alarm_arns, region=self._region, data_quality_schedule=schedule.name if schedule is not None else ""
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=short_name(self.args.alarm_prefix, "monitor", 255),
            dashboard_body=body,
            opts=self._child,
        )


def _check(args: MonitorArgs) -> None:
    """The same rules as a stack file's mlstack:monitors (mlstack.specs.monitor), read off the
    endpoint object instead of its spec."""
    endpoint = args.endpoint
    spec = getattr(endpoint, "spec", None)
    model = getattr(endpoint, "model_name", None) or "?"
    if _backend(endpoint) == "kserve":
        raise ComponentError.bad(
            "endpoint",
            f"endpoint {getattr(spec, 'name', None) or model!r} is served by KServe, whose metrics are in Prometheus, not CloudWatch",
            fix="alert on it with mlstack.components.monitor.prometheus.PrometheusAlerts (a PrometheusRule)",
        )
    watched = WatchedEndpoint(
        name=getattr(spec, "name", None) or model,
        model=model,
        kserve=_backend(endpoint) == "kserve",
        captures=endpoint.data_capture_uri is not None,
        gpu=bool(endpoint.is_gpu),
        retrainable=args.retrain_pipeline is not None,
        gates=tuple(args.model_gates),
    )
    problems = monitor_endpoint_problems(args, watched, environment=args.environment.value)
    if problems:
        raise ComponentError.of([ArgumentProblem(_python_path(path), text) for path, text in problems])


def _python_path(path: tuple) -> str | None:
    """A key path below the monitor (``("retrain", "alarms", 1)``) as its Python argument ``retrain.alarms[1]``."""
    from pydantic.alias_generators import to_snake

    return format_path([to_snake(p) if isinstance(p, str) else p for p in path]) or None


def _composite_description(all_of: list[str], any_of: list[str]) -> str:
    parts = []
    if all_of:
        parts.append(" and ".join(all_of))
    if any_of:
        parts.append(f"any of {', '.join(any_of)}" if len(any_of) > 1 else any_of[0])
    return f"Pages only when {' and '.join(parts)} are in ALARM."
