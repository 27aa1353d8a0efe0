"""``mlstack:monitors[]``: what a Monitor watches (alarms, drift) and what it does about it
(notifications, retraining, a composite alarm, a dashboard), and the rules between a monitor and
the rest of the stack (:func:`stack_monitor_problems`).

The same models validate the ``mlstack:monitors`` key of a stack file and the Python arguments
of the component (:class:`~mlstack.components.monitor.MonitorArgs` extends
:class:`MonitorSettings`, the part of :class:`MonitorSpec` without the endpoint's name). Every
alarm a monitor creates has an *mlstack name* (``errors-5xx``, ``feature-drift-tenure``, ...)
that ``retrain.alarms`` and ``composite`` refer to; :meth:`MonitorSettings.alarm_names` lists
the names a configuration can create.

Example (a stack file)::

    mlstack:monitors:
      - endpoint: scoring
        alarms: {latencyP99Ms: 300}
        notifications: {emails: [oncall@example.com]}
        drift: {features: [tenure, plan], baselineUri: s3://churn-data/baseline.csv,
                image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlstack@sha256:...}
        retrain: {alarms: [features-drifted]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Optional

from pydantic import Field, StringConstraints, model_validator

from .. import catalog
from ..errors import SpecProblems
from .base import DIGEST_PATTERN, ContainerImage, KmsKeyArn, Problems, S3Uri, Slug, Spec, VpcSpec, did_you_mean
from .quality import QualitySpec, quality_alarm_names

__all__ = [
    "DriftMethod",
    "AlarmsSpec",
    "NotificationsSpec",
    "FeatureThresholdSpec",
    "DriftSpec",
    "RetrainSpec",
    "CompositeSpec",
    "PrometheusSpec",
    "MonitorSettings",
    "MonitorSpec",
    "ENDPOINT_ALARMS",
    "GPU_ALARMS",
    "DRIFT_JOB_STALLED",
    "CAPTURE_FILES_CORRUPT",
    "FEATURES_DRIFTED",
    "feature_drift_alarm",
    "feature_kl_alarm",
    "image_problem",
    "monitor_endpoint_problems",
    "stack_monitor_problems",
    "WatchedEndpoint",
    "QualitySpec",
    "quality_image",
]

#: mlstack names of the alarms on the endpoint's own metrics, by the setting that turns them on.
ENDPOINT_ALARMS = {
    "errors_5xx_percent": "errors-5xx",
    "errors_4xx_percent": "errors-4xx",
    "latency_p99_ms": "latency-p99",
    "no_invocations_minutes": "no-invocations",
    "gpu_utilization_percent": "gpu-utilization",
    "gpu_memory_percent": "gpu-memory",
}
#: The alarms that exist only on endpoints with GPU instances.
GPU_ALARMS = frozenset({"gpu-utilization", "gpu-memory"})
FEATURES_DRIFTED = "features-drifted"
DRIFT_JOB_STALLED = "drift-job-stalled"
CAPTURE_FILES_CORRUPT = "capture-files-corrupt"
"""The drift job's alarm on capture files it had to skip as unreadable (CorruptCaptureFiles > 0)."""


def feature_drift_alarm(feature: str) -> str:
    """mlstack name of the per-feature drift alarm (PSI for the job, baseline drift for Model Monitor)."""
    return f"feature-drift-{feature}"


def feature_kl_alarm(feature: str) -> str:
    """mlstack name of the per-feature KL-divergence alarm (drift job only)."""
    return f"feature-kl-{feature}"


FeatureName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")]
"""A feature (column) name: letters, digits, _ . - ; no commas (the drift job takes a comma-separated list)."""

AlarmRef = Annotated[str, StringConstraints(min_length=1, max_length=160)]

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$", max_length=2048)]
SnsTopicArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")]
PipelineArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$")
]
_DIGEST = re.compile(DIGEST_PATTERN)

# Fields whose values may be secrets (mlstack.config.SECRET_OK): the Monitor passes them on as
# Pulumi secrets when mlstack:monitors holds one.
_SECRET_OK = {"x-mlstack-secret": True}


class DriftMethod(str, Enum):
    """How drift is measured."""

    JOB = "job"
    """mlstack's own drift job (python -m mlstack.drift) on a schedule: PSI and KL per feature in mlstack/Drift."""
    MODEL_MONITOR = "model-monitor"
    """SageMaker Model Monitor's data-quality schedule (closed to new AWS customers): feature_baseline_drift_<feature>."""


class AlarmsSpec(Spec):
    """Alarms on the endpoint's own CloudWatch metrics. Each has a sensible default; null turns an alarm off."""

    errors_5xx_percent: Optional[float] = Field(default=1.0, ge=0, le=100, alias="errors5xxPercent")
    """Alarm errors-5xx when more than this percent of invocations fail with a 5XX (model or container error); default 1."""
    errors_4xx_percent: Optional[float] = Field(default=5.0, ge=0, le=100, alias="errors4xxPercent")
    """Alarm errors-4xx when more than this percent of invocations are rejected with a 4XX (bad requests); default 5."""
    latency_p99_ms: Optional[float] = Field(default=1000.0, ge=0)
    """Alarm latency-p99 when the p99 of ModelLatency exceeds this many milliseconds (CloudWatch measures microseconds); default 1000."""
    no_invocations_minutes: Optional[int] = Field(default=60, ge=1, le=1440)
    """Alarm no-invocations when the endpoint receives no request for this many minutes (traffic vanished); default 60."""
    gpu_utilization_percent: Optional[float] = Field(default=90.0, ge=0, le=100)
    """GPU endpoints only: alarm gpu-utilization above this percent per GPU (scaled by the GPUs per instance); default 90."""
    gpu_memory_percent: Optional[float] = Field(default=90.0, ge=0, le=100)
    """GPU endpoints only: alarm gpu-memory above this percent of GPU memory per GPU (scaled by the GPUs per instance); default 90."""
    period_minutes: int = Field(default=1, ge=1, le=60)
    """Length of one evaluation period in minutes; default 1."""
    evaluation_periods: int = Field(default=5, ge=1, le=60)
    """How many recent periods an alarm looks at; default 5."""
    datapoints_to_alarm: int = Field(default=3, ge=1, le=60)
    """How many of those periods must breach before the alarm fires (M of N); default 3."""

    @model_validator(mode="after")
    def _m_of_n(self) -> "AlarmsSpec":
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise SpecProblems(
                [
                    (
                        ("datapointsToAlarm",),
                        f"{self.datapoints_to_alarm} datapoints cannot exceed evaluationPeriods "
                        f"({self.evaluation_periods}); lower datapointsToAlarm or raise evaluationPeriods",
                    )
                ]
            )
        return self

    def enabled(self) -> list[str]:
        """mlstack names of the alarms these settings turn on (GPU alarms included)."""
        return [name for field, name in ENDPOINT_ALARMS.items() if getattr(self, field) is not None]


class NotificationsSpec(Spec):
    """Where alarm notifications go: a KMS-encrypted SNS topic created for the monitor, or your own topic."""

    emails: list[Email] = Field(default_factory=list, max_length=20, json_schema_extra=_SECRET_OK)
    """E-mail addresses subscribed to the topic (each confirms by e-mail); may be secrets (pulumi config set --secret --path)."""
    https: list[HttpsUrl] = Field(default_factory=list, max_length=20, json_schema_extra=_SECRET_OK)
    """HTTPS endpoints (paging services, chat webhooks) subscribed to the topic; may be secrets, e.g. a URL carrying a token (pulumi config set --secret --path)."""
    topic_arn: Optional[SnsTopicArn] = None
    """Bring your own SNS topic instead of creating one; subscriptions are then yours to manage."""
    kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for the topic and the drift job instead of creating one (its policy must let cloudwatch.amazonaws.com use it)."""

    @model_validator(mode="after")
    def _own_topic_has_no_subscriptions(self) -> "NotificationsSpec":
        problems: Problems = []
        if self.topic_arn and (self.emails or self.https):
            problems.append(
                (
                    ("topicArn",),
                    "emails and https subscribe to the topic mlstack creates; with topicArn set, "
                    "subscribe them to your own topic or drop topicArn",
                )
            )
        for field in ("emails", "https"):
            values = getattr(self, field)
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                problems.append(((field,), f"lists {', '.join(map(repr, dupes))} more than once"))
        if problems:
            raise SpecProblems(problems)
        return self


class FeatureThresholdSpec(Spec):
    """Alarm thresholds for one feature, overriding the drift-wide ones."""

    threshold: Optional[float] = Field(default=None, ge=0)
    """Alarm feature-drift-<feature> above this value (PSI for the job, baseline drift distance for Model Monitor)."""
    kl: Optional[float] = Field(default=None, ge=0)
    """Drift job only: alarm feature-kl-<feature> above this KL divergence."""


class DriftSpec(Spec):
    """Data drift of the endpoint's captured requests against the training baseline.

    The features named here are the ones the endpoint's model takes: drift alarms, thresholds
    and the dashboard are limited to them, and a threshold for any other name is rejected.
    """

    method: DriftMethod = DriftMethod.JOB
    """job (default): mlstack's drift job on a schedule; model-monitor: SageMaker Model Monitor (closed to new AWS customers)."""
    features: list[FeatureName] = Field(min_length=1, max_length=100)
    """The model's input features, in the order of the captured CSV columns' names in the baseline."""
    categorical: list[FeatureName] = Field(default_factory=list)
    """Drift job: features compared by category rather than by quantile bins (default: inferred from the baseline)."""
    baseline_uri: S3Uri
    """Drift job: the training baseline (a CSV with a header, or a profile *.json). Model Monitor: the prefix holding statistics.json and constraints.json of its baselining job."""
    threshold: Optional[float] = Field(default=None, gt=0)
    """Alarm feature-drift-<feature> above this value for every feature: PSI for the job (default 0.2), baseline drift distance for Model Monitor (default 0.1)."""
    kl_threshold: Optional[float] = Field(default=None, ge=0)
    """Drift job only: alarm feature-kl-<feature> above this KL divergence for every feature (default: no KL alarms)."""
    feature_thresholds: dict[FeatureName, FeatureThresholdSpec] = Field(default_factory=dict)
    """Per-feature thresholds overriding threshold / klThreshold; keys must be listed in features."""
    features_drifted_threshold: Optional[int] = Field(default=None, ge=1)
    """Drift job only: alarm features-drifted when at least this many features are above threshold in one run."""
    interval_hours: int = Field(default=1, ge=1, le=24)
    """Run the drift check every this many hours; default 1 (hourly)."""
    window_hours: Optional[float] = Field(default=None, gt=0, le=168)
    """Drift job: hours of captured data each run reads (default: intervalHours)."""
    stalled_alarm: bool = True
    """Drift job: alarm drift-job-stalled when no run has reported for two intervals. (The job also always alarms capture-files-corrupt when a run had to skip capture files it could not read.)"""
    image: Optional[ContainerImage] = None
    """Drift job: an image with mlstack installed (required; pinned by @sha256 digest in prod). Model Monitor: default is AWS's analyzer image for the region."""
    instance_type: str = "ml.m5.large"
    """Processing instance type of each run; default ml.m5.large."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    """Storage volume of each run in GB (KMS-encrypted); default 30."""
    max_runtime_minutes: int = Field(default=60, ge=1, le=1440)
    """A run is stopped after this many minutes; default 60."""
    report_uri: Optional[S3Uri] = None
    """Where each run writes its report (drift job: optional; Model Monitor: required, its output location)."""
    vpc: Optional[VpcSpec] = None
    """Run each drift run in these private subnets (they need routes or VPC endpoints to S3, CloudWatch and ECR); default: SageMaker's network."""

    @model_validator(mode="after")
    def _consistent(self) -> "DriftSpec":
        problems: Problems = []
        declared = set(self.features)
        dupes = sorted({f for f in self.features if self.features.count(f) > 1})
        if dupes:
            problems.append((("features",), f"lists {', '.join(map(repr, dupes))} more than once"))
        for feature in self.feature_thresholds:
            if feature not in declared:
                problems.append(
                    (
                        ("featureThresholds", feature),
                        f"sets a drift threshold for feature {feature!r}, which the endpoint does not have; "
                        f"its features (drift.features) are {', '.join(self.features)}"
                        + did_you_mean(feature, self.features),
                    )
                )
        for i, feature in enumerate(self.categorical):
            if feature not in declared:
                problems.append(
                    (("categorical", i), f"{feature!r} is not in drift.features ({', '.join(self.features)})" + did_you_mean(feature, self.features))
                )
        message = catalog.check_instance_type(self.instance_type, catalog.Use.PROCESSING)
        if message:
            problems.append((("instanceType",), message))
        if self.method is DriftMethod.JOB:
            if not self.image:
                problems.append(
                    (
                        ("image",),
                        "the drift job needs a container image with mlstack installed, e.g. "
                        "<account>.dkr.ecr.<region>.amazonaws.com/mlstack@sha256:<digest>",
                    )
                )
            if self.baseline_uri.endswith("/"):
                problems.append(
                    (
                        ("baselineUri",),
                        f"{self.baseline_uri!r} is a prefix; the drift job reads one baseline object "
                        "(a CSV with a header or a profile *.json)",
                    )
                )
        else:
            job_only = {
                ("categorical",): bool(self.categorical),
                ("klThreshold",): self.kl_threshold is not None,
                ("featuresDriftedThreshold",): self.features_drifted_threshold is not None,
                ("windowHours",): self.window_hours is not None,
                ("featureThresholds",): any(t.kl is not None for t in self.feature_thresholds.values()),
            }
            for path, given in job_only.items():
                if given:
                    what = "a KL threshold" if path == ("featureThresholds",) else path[0]
                    problems.append((path, f"{what} applies to method job only; Model Monitor does not publish it"))
            if not self.report_uri:
                problems.append((("reportUri",), "Model Monitor needs reportUri: the S3 prefix its runs write their reports to"))
        if problems:
            raise SpecProblems(problems)
        return self

    def psi_threshold(self) -> float:
        """The drift-wide threshold, with the method's default."""
        if self.threshold is not None:
            return self.threshold
        return 0.2 if self.method is DriftMethod.JOB else 0.1

    def threshold_for(self, feature: str) -> float:
        """The feature-drift threshold of ``feature``."""
        own = self.feature_thresholds.get(feature)
        return own.threshold if own and own.threshold is not None else self.psi_threshold()

    def kl_threshold_for(self, feature: str) -> float | None:
        """The KL threshold of ``feature``, or None when it has no KL alarm."""
        own = self.feature_thresholds.get(feature)
        return own.kl if own and own.kl is not None else self.kl_threshold

    def window(self) -> float:
        """Hours of captured data each run reads."""
        return self.window_hours if self.window_hours is not None else float(self.interval_hours)

    def alarm_names(self) -> list[str]:
        """mlstack names of the drift alarms these settings create."""
        names = [feature_drift_alarm(f) for f in self.features]
        if self.method is DriftMethod.JOB:
            names += [feature_kl_alarm(f) for f in self.features if self.kl_threshold_for(f) is not None]
            if self.features_drifted_threshold is not None:
                names.append(FEATURES_DRIFTED)
            if self.stalled_alarm:
                names.append(DRIFT_JOB_STALLED)
            names.append(CAPTURE_FILES_CORRUPT)
        return names


class RetrainSpec(Spec):
    """Start a SageMaker pipeline when any of the chosen alarms enters ALARM (an EventBridge rule on the alarms' state changes)."""

    alarms: list[AlarmRef] = Field(min_length=1, max_length=100)
    """mlstack names of the alarms that trigger retraining, e.g. features-drifted or feature-drift-tenure."""
    pipeline_arn: Optional[PipelineArn] = None
    """The pipeline to start (default: the TrainingPipeline of the endpoint's model)."""
    parameters: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-_]{1,256}$")], Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=dict, max_length=200
    )
    """Pipeline parameters passed to the execution, e.g. {RetrainReason: drift}; the pipeline must declare them."""
    cooldown_hours: int = Field(default=24, ge=1, le=24 * 30)
    """No second retraining within this many hours of the pipeline's last start (by any trigger: drift, quality, a schedule, a person); default 24."""


class CompositeSpec(Spec):
    """A composite alarm that pages only on a business-impacting combination of alarms.

    Its rule is ALARM(a) AND ALARM(b) ... for allOf, AND (ALARM(x) OR ALARM(y) ...) for anyOf.
    """

    name: Slug = "impact"
    """mlstack name of the composite alarm; default impact."""
    all_of: list[AlarmRef] = Field(default_factory=list)
    """mlstack names of alarms that must all be in ALARM."""
    any_of: list[AlarmRef] = Field(default_factory=list)
    """mlstack names of alarms of which at least one must be in ALARM."""
    page_only_on_composite: bool = True
    """The member alarms notify nobody themselves (they still show on the dashboard and can trigger retraining); default true."""

    @model_validator(mode="after")
    def _a_combination(self) -> "CompositeSpec":
        members = [*self.all_of, *self.any_of]
        if len(set(members)) < 2:
            raise SpecProblems(
                [
                    (
                        (),
                        "a composite alarm combines at least two alarms; list them in allOf and/or anyOf "
                        "(e.g. allOf: [errors-5xx], anyOf: [latency-p99, no-invocations])",
                    )
                ]
            )
        dupes = sorted({m for m in members if members.count(m) > 1})
        if dupes:
            raise SpecProblems([((), f"lists {', '.join(map(repr, dupes))} more than once")])
        return self

    def members(self) -> list[str]:
        """Every alarm the composite alarm watches."""
        return [*self.all_of, *self.any_of]


_PROM_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$"
PromLabelName = Annotated[str, StringConstraints(pattern=_PROM_LABEL_NAME)]
"""A Prometheus label name (an alert's labels are matched by Alertmanager routes)."""
_K8S_LABEL_NAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
_K8S_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"
K8sLabelName = Annotated[str, StringConstraints(pattern=_K8S_LABEL_NAME, max_length=316)]
K8sLabelValue = Annotated[str, StringConstraints(pattern=_K8S_LABEL_VALUE, max_length=63)]


class PrometheusSpec(Spec):
    """KServe endpoints: how the monitor's PrometheusRule is found by Prometheus and its alerts routed by Alertmanager.

    Example: ``prometheus: {ruleLabels: {release: kube-prometheus-stack}, alertLabels: {severity: page, team: vision}}``.
    """

    rule_labels: dict[K8sLabelName, K8sLabelValue] = Field(default_factory=dict)
    """Labels on the PrometheusRule object that your Prometheus's ruleSelector matches (kube-prometheus-stack selects release: <its Helm release> by default); without them Prometheus may never load the rules."""
    alert_labels: dict[PromLabelName, Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default_factory=lambda: {"severity": "critical"}
    )
    """Labels on every alert, for Alertmanager routing (default severity: critical); mlstack adds mlstack_stack, mlstack_endpoint and mlstack_alarm."""
    dcgm_namespace_label: PromLabelName = "namespace"
    """The label of DCGM exporter's GPU metrics holding the pod's namespace (namespace; exported_namespace when Prometheus scrapes the exporter without honorLabels)."""
    dcgm_pod_label: PromLabelName = "pod"
    """The label of DCGM exporter's GPU metrics holding the pod's name (pod; exported_pod without honorLabels)."""
    evaluation_interval_seconds: Optional[int] = Field(default=None, ge=5, le=3600)
    """How often Prometheus evaluates the rule group (default: the Prometheus's evaluationInterval)."""

    @model_validator(mode="after")
    def _no_reserved_labels(self) -> "PrometheusSpec":
        reserved = sorted(k for k in self.alert_labels if k.startswith("mlstack_") or k.startswith("__"))
        if reserved:
            raise SpecProblems([(("alertLabels", k), "is set by mlstack (or reserved by Prometheus); choose another label name") for k in reserved])
        return self


class MonitorSettings(Spec):
    """What a Monitor watches and what it does about it."""

    alarms: AlarmsSpec = Field(default_factory=AlarmsSpec)
    """Alarms on errors, latency, traffic and GPU use, with their thresholds."""
    notifications: NotificationsSpec = Field(default_factory=NotificationsSpec)
    """Where alarm notifications go."""
    drift: Optional[DriftSpec] = None
    """Data drift of the captured requests against the training baseline (default: none)."""
    quality: Optional[QualitySpec] = None
    """Production model quality, fairness by slice and concept drift, judged on labels that arrive late (default: none)."""
    retrain: Optional[RetrainSpec] = None
    """Start a retraining pipeline when chosen alarms fire (default: none)."""
    composite: Optional[CompositeSpec] = None
    """A composite alarm paging only on a combination of alarms (default: none)."""
    dashboard: bool = True
    """Create a CloudWatch dashboard: invocations, errors, latency, GPU use, drift per feature, alarm states; default true (SageMaker)."""
    prometheus: Optional[PrometheusSpec] = None
    """KServe endpoints: labels that get the PrometheusRule loaded and its alerts routed (default: no rule labels, alerts labelled severity: critical)."""

    def alarm_names(self, *, gpu: bool = True) -> list[str]:
        """mlstack names of every alarm these settings create (``gpu``: on a GPU endpoint)."""
        names = [n for n in self.alarms.enabled() if gpu or n not in GPU_ALARMS]
        if self.drift:
            names += self.drift.alarm_names()
        if self.quality:
            # Which quality-<metric> alarms exist depends on the model's gates, which the
            # monitor's own settings do not hold: monitor_endpoint_problems narrows this.
            names += quality_alarm_names(self.quality, all_possible=True)
        return names

    @model_validator(mode="after")
    def _known_alarm_names(self) -> "MonitorSettings":
        known = self.alarm_names()
        problems: Problems = []
        if self.composite:
            if self.composite.name in known:
                problems.append((("composite", "name"), f"{self.composite.name!r} is already the name of an alarm; choose another"))
            for key, refs in (("allOf", self.composite.all_of), ("anyOf", self.composite.any_of)):
                for i, ref in enumerate(refs):
                    if ref not in known:
                        problems.append((("composite", key, i), _unknown(ref, known)))
        if self.retrain:
            retrainable = known + ([self.composite.name] if self.composite else [])
            for i, ref in enumerate(self.retrain.alarms):
                if ref not in retrainable:
                    problems.append((("retrain", "alarms", i), _unknown(ref, retrainable)))
        if problems:
            raise SpecProblems(problems)
        return self


def _unknown(ref: str, known: list[str]) -> str:
    return f"unknown alarm {ref!r}{did_you_mean(ref, known)}; this monitor's alarms are {', '.join(known) or 'none'}"


class MonitorSpec(MonitorSettings):
    """One entry of ``mlstack:monitors``: the monitor of one endpoint."""

    endpoint: Slug
    """The name of the endpoint to watch (an entry of mlstack:endpoints)."""


@dataclass(frozen=True)
class WatchedEndpoint:
    """What the rules between a monitor and its endpoint read of the endpoint: from its spec on
    the stack file's path, from the Endpoint component on the Python path."""

    name: str
    """The endpoint's name as declared (an entry of mlstack:endpoints)."""
    model: str
    """The model it serves."""
    kserve: bool = False
    """Served by KServe (metrics in Prometheus, not CloudWatch)."""
    revisions: bool = False
    """KServe: runs as Knative revisions (Serverless deployment mode), whose queue-proxy publishes the request metrics alerts read."""
    captures: bool = True
    """Captures its requests (data capture on, not serverless)."""
    gpu: bool = False
    """Runs on GPU instances."""
    retrainable: bool = False
    """The model has a training pipeline that ``retrain`` starts when it names no pipelineArn."""
    gates: tuple = ()
    """The model's promotion gates (GateSpec): the quality alarms follow them."""
    features: Optional[tuple[str, ...]] = None
    """The features its requests carry (the model's feature group), when known."""


def monitor_endpoint_problems(monitor: MonitorSettings, endpoint: WatchedEndpoint, *, environment: str) -> Problems:
    """Problems between a monitor's settings and the endpoint it watches, at paths below the
    monitor (``("retrain", "alarms", 0)``): what a KServe endpoint's monitor cannot do, drift without captured requests,
    GPU alarms on an endpoint without GPUs, retraining with no pipeline to start, an unpinned
    drift image in prod. The stack file's check (:func:`stack_monitor_problems`) and the Monitor
    component both call it."""
    problems: Problems = []
    if endpoint.kserve:
        problems += _kserve_monitor_problems(monitor, endpoint)
        return problems
    if monitor.prometheus is not None:
        problems.append((("prometheus",), f"endpoint {endpoint.name!r} is a SageMaker endpoint, alarmed in CloudWatch; prometheus settings apply to KServe endpoints only: drop them"))
    if monitor.drift and not endpoint.captures:
        problems.append(
            (
                ("drift",),
                f"endpoint {endpoint.name!r} does not capture its requests (dataCapture off or serverless), so there "
                "is nothing to compare with the baseline; turn dataCapture on or remove drift",
            )
        )
    if not endpoint.gpu:
        refs = [(("retrain", "alarms", j), r) for j, r in enumerate(monitor.retrain.alarms)] if monitor.retrain else []
        if monitor.composite:
            refs += [(("composite", "allOf", j), r) for j, r in enumerate(monitor.composite.all_of)]
            refs += [(("composite", "anyOf", j), r) for j, r in enumerate(monitor.composite.any_of)]
        problems += [
            (path, f"alarm {ref!r} exists only on GPU endpoints and endpoint {endpoint.name!r} has no GPU")
            for path, ref in refs
            if ref in GPU_ALARMS
        ]
    if monitor.retrain and not monitor.retrain.pipeline_arn and not endpoint.retrainable:
        problems.append(
            (
                ("retrain",),
                f"model {endpoint.model!r} (served by endpoint {endpoint.name!r}) has no training pipeline to start; "
                "declare its training in mlstack:models or set retrain.pipelineArn",
            )
        )
    job_image = monitor.drift.image if monitor.drift and monitor.drift.method is DriftMethod.JOB else None
    message = image_problem(job_image, environment)
    if message:
        problems.append((("drift", "image"), message))
    if monitor.quality and not endpoint.kserve:
        problems += _quality_problems(monitor, endpoint, environment=environment)
    return problems


def quality_image(monitor: MonitorSettings) -> Optional[str]:
    """The image of the quality job: quality.image, else the drift job's."""
    if monitor.quality is None:
        return None
    if monitor.quality.image:
        return monitor.quality.image
    return monitor.drift.image if monitor.drift and monitor.drift.method is DriftMethod.JOB else None


def _quality_problems(monitor: MonitorSettings, endpoint: WatchedEndpoint, *, environment: str) -> Problems:
    quality = monitor.quality
    assert quality is not None
    problems: Problems = []
    if not endpoint.captures:
        problems.append(
            (
                ("quality",),
                f"endpoint {endpoint.name!r} does not capture its requests and predictions (dataCapture off or serverless), so "
                "there is nothing to join with the labels; turn dataCapture on (with captureResponses) or remove quality",
            )
        )
    image = quality_image(monitor)
    if not image:
        problems.append(
            (("quality", "image"), "the quality job needs a container image with mlstack installed: set quality.image (or drift.image of a drift job)")
        )
    elif not quality.image:
        pass  # drift.image is already judged above
    else:
        message = image_problem(image, environment)
        if message:
            problems.append((("quality", "image"), message))
    # The features the requests carry: the model's feature group, else the declared CSV
    # columns, else the drift features.
    known = list(endpoint.features or quality.request_columns or (monitor.drift.features if monitor.drift else []))
    if known:
        for j, name in enumerate(quality.slices):
            if name not in known:
                problems.append(
                    (
                        ("quality", "slices", j),
                        f"{name!r} is not a feature endpoint {endpoint.name!r} captures: model {endpoint.model!r} takes "
                        f"{', '.join(known)}{did_you_mean(name, known)}",
                    )
                )
    made = set(quality_alarm_names(quality, endpoint.gates))
    possible = set(quality_alarm_names(quality, all_possible=True))
    refs = [(("retrain", "alarms", j), r) for j, r in enumerate(monitor.retrain.alarms)] if monitor.retrain else []
    if monitor.composite:
        refs += [(("composite", "allOf", j), r) for j, r in enumerate(monitor.composite.all_of)]
        refs += [(("composite", "anyOf", j), r) for j, r in enumerate(monitor.composite.any_of)]
    for path, ref in refs:
        if ref in possible and ref not in made:
            problems.append(
                (
                    path,
                    f"alarm {ref!r} does not exist: model {endpoint.model!r} has no gate on that metric and quality.thresholds "
                    f"sets none; the quality alarms of this monitor are {', '.join(sorted(made))}",
                )
            )
    return problems


#: What a monitor of a KServe endpoint cannot do (its alerts are Prometheus rules, routed by Alertmanager).
_NOT_ON_KSERVE = {
    "notifications": "alerts of a KServe endpoint are routed by Alertmanager, not SNS: drop notifications and route on prometheus.alertLabels",
    "drift": "KServe endpoints capture no requests to S3 (kserve.loggerUrl sends them to an event sink); drop drift",
    "retrain": "retraining starts on CloudWatch alarm state changes, and a KServe endpoint's alerts are in Prometheus; drop retrain",
    "composite": "a composite alarm combines CloudWatch alarms; for a KServe endpoint, combine alerts with Alertmanager inhibition rules and drop composite",
    "dashboard": "the CloudWatch dashboard shows SageMaker metrics; KServe's are in Prometheus: drop dashboard",
}


def _kserve_monitor_problems(monitor: MonitorSettings, endpoint: WatchedEndpoint) -> Problems:
    problems: Problems = []
    given = monitor.model_fields_set
    for field, why in _NOT_ON_KSERVE.items():
        if field in given and getattr(monitor, field) not in (None, False):
            problems.append(((field,), f"endpoint {endpoint.name!r} is served by KServe: {why}"))
    if not endpoint.revisions:
        problems.append(
            (
                ("endpoint",),
                f"endpoint {endpoint.name!r} is served by KServe without a declared Serverless (Knative) deployment mode; its alerts read "
                "the request metrics of Knative's queue-proxy, which RawDeployment/Standard mode has not: set kserve.deploymentMode: Serverless "
                "(or rollout.type: CANARY) on the endpoint, or remove this monitor",
            )
        )
    # An alert `> 100` on a percentage can never fire: a gate that cannot fail.
    for field in ("errors_5xx_percent", "errors_4xx_percent", "gpu_utilization_percent", "gpu_memory_percent"):
        value = getattr(monitor.alarms, field)
        if value is not None and value >= 100:
            alias = AlarmsSpec.model_fields[field].alias or field
            problems.append((("alarms", _camel(alias)), f"{value:g}% can never be exceeded, so the alert could never fire; set it below 100 or null to turn it off"))
    if not endpoint.gpu:
        for field in ("gpu_utilization_percent", "gpu_memory_percent"):
            if field in monitor.alarms.model_fields_set and getattr(monitor.alarms, field) is not None:
                alias = AlarmsSpec.model_fields[field].alias or field
                problems.append((("alarms", _camel(alias)), f"endpoint {endpoint.name!r} requests no GPUs, so there is no GPU to alert on; drop it"))
    return problems


def _camel(name: str) -> str:
    from pydantic.alias_generators import to_camel

    return name if any(c.isupper() for c in name) else to_camel(name)


def stack_monitor_problems(spec: Any) -> Problems:
    """Problems between ``mlstack:monitors`` and the rest of a stack (a StackSpec): unknown
    endpoints, two monitors on one endpoint, drift features the model's feature group does not
    have, and what :func:`monitor_endpoint_problems` finds. Paths start at the stack's keys
    (``("monitors", 0, "endpoint")``)."""
    problems: Problems = []
    environment = spec.environment.value
    declared = {e.name: e for e in spec.endpoints}
    trained = {m.name for m in spec.models if m.training is not None}
    seen: dict[str, int] = {}
    for i, mon in enumerate(spec.monitors):
        endpoint = declared.get(mon.endpoint)
        if endpoint is None:
            known = sorted(n for n in declared if n)
            problems.append(
                (
                    ("monitors", i, "endpoint"),
                    f"{mon.endpoint!r} is not an endpoint of this stack; "
                    + (f"declared in mlstack:endpoints: {', '.join(known)}" if known else "declare it in mlstack:endpoints")
                    + did_you_mean(mon.endpoint, known),
                )
            )
        else:
            watched = WatchedEndpoint(
                name=endpoint.name,
                model=endpoint.model,
                kserve=endpoint.is_kserve,
                revisions=endpoint.is_kserve and kserve_mode(endpoint) in KNATIVE_MODES,
                captures=endpoint.data_capture.enabled and endpoint.serverless is None,
                gpu=endpoint.is_gpu,
                retrainable=endpoint.model in trained,
                gates=tuple(_model_gates(spec, endpoint.model)),
                features=_model_features(spec, endpoint.model),
            )
            problems += [(("monitors", i, *path), text) for path, text in monitor_endpoint_problems(mon, watched, environment=environment)]
            if not endpoint.is_kserve:
                problems += _features_fit(i, mon, spec, endpoint.model)
        if mon.endpoint in seen:
            problems.append(
                (("monitors", i, "endpoint"), f"endpoint {mon.endpoint!r} already has a monitor (mlstack:monitors[{seen[mon.endpoint]}]); merge them")
            )
        seen.setdefault(mon.endpoint, i)
        if endpoint is None:
            job_image = mon.drift.image if mon.drift and mon.drift.method is DriftMethod.JOB else None
            message = image_problem(job_image, environment)
            if message:
                problems.append((("monitors", i, "drift", "image"), message))
    return problems


def _model_gates(spec: Any, model_name: str) -> list[Any]:
    model = next((m for m in spec.models if m.name == model_name), None)
    return list(getattr(model, "gates", None) or [])


def _model_features(spec: Any, model_name: str) -> Optional[tuple[str, ...]]:
    """The features of the feature group the model trains on, when the stack declares it."""
    model = next((m for m in spec.models if m.name == model_name), None)
    group_name = getattr(getattr(model, "training", None), "feature_group", None)
    group = next((g for g in spec.feature_groups if g.name == group_name), None)
    return tuple(f.name for f in group.features) if group is not None else None


def _features_fit(i: int, mon: MonitorSpec, spec: Any, model_name: str) -> Problems:
    """Drift features must be features of the feature group the endpoint's model trains on."""
    if not mon.drift:
        return []
    model = next((m for m in spec.models if m.name == model_name), None)
    group_name = getattr(getattr(model, "training", None), "feature_group", None)
    group = next((g for g in spec.feature_groups if g.name == group_name), None)
    if group is None:
        return []
    known = [f.name for f in group.features]
    return [
        (
            ("monitors", i, "drift", "features", j),
            f"{feature!r} is not a feature of model {model_name!r}: its feature group {group_name!r} has "
            f"{', '.join(known)}{did_you_mean(feature, known)}",
        )
        for j, feature in enumerate(mon.drift.features)
        if feature not in known
    ]


def image_problem(image: str | None, environment: str) -> str | None:
    """Why ``image`` may not run the drift job in ``environment`` (prod needs a digest), else None."""
    if image and environment == "prod" and not _DIGEST.search(image):
        return (
            f"{image!r} is not pinned by digest; prod runs the drift job only from an image pinned as "
            "<repository>@sha256:<64 hex digits>, so every run uses the reviewed build"
        )
    return None


#: KServe deployment modes that run predictors as Knative revisions (the older and newer names).
KNATIVE_MODES = frozenset({"Serverless", "Knative"})


def kserve_mode(endpoint: Any) -> str | None:
    """The deployment mode a KServe endpoint declares: kserve.deploymentMode, else Serverless for a
    CANARY rollout (mlstack sets it, as canaries need revisions), else None (the cluster's default)."""
    mode = endpoint.kserve.deployment_mode if endpoint.kserve else None
    if mode is None and getattr(endpoint.rollout.type, "value", endpoint.rollout.type) == "CANARY":
        return "Serverless"
    return mode
