"""The alarms on a drift check's metrics, as data the Monitor creates (so they notify its topic,
join its composite alarm and may start retraining), and the metric names they watch.

Job method: ``mlstack/Drift`` (:mod:`mlstack.drift`) per feature (PSI, KL) and per run (features
drifted, records captured, corrupt files). Model Monitor method: its data-quality metrics below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from ...drift import (
    DIMENSION_ENDPOINT,
    DIMENSION_FEATURE,
    METRIC_CAPTURED_RECORDS,
    METRIC_CORRUPT_FILES,
    METRIC_FEATURES_DRIFTED,
    METRIC_KL,
    METRIC_PSI,
    NAMESPACE as DRIFT_NAMESPACE,
)
from ...specs.monitor import (
    CAPTURE_FILES_CORRUPT,
    DRIFT_JOB_STALLED,
    FEATURES_DRIFTED,
    DriftMethod,
    DriftSpec,
    feature_drift_alarm,
    feature_kl_alarm,
)
from ..names import short_name

__all__ = [
    "DriftAlarm",
    "drift_alarms",
    "data_quality_schedule_name",
    "MODEL_MONITOR_NAMESPACE",
    "MODEL_MONITOR_DIMENSIONS",
    "model_monitor_metric",
]

# SageMaker Model Monitor's data-quality metrics. AWS pages disagree on these names (one says
# "/aws/sagemaker/Endpoints/data-metric" with EndpointName/ScheduleName); these are the ones
# AWS's own SageMaker Python SDK queries for its data-quality dashboard
# (sagemaker/dashboard/data_quality_dashboard.py: {aws/sagemaker/Endpoints/data-metrics,
# Endpoint,Feature,MonitoringSchedule}). Change them here and nowhere else.
MODEL_MONITOR_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_MONITOR_DIMENSIONS = ("Endpoint", "MonitoringSchedule", "Feature")

def model_monitor_metric(feature: str) -> str:
    """The Model Monitor metric holding the baseline drift of ``feature``."""
    return f"feature_baseline_drift_{feature}"


def data_quality_schedule_name(alarm_prefix: str) -> str:
    """The Model Monitor schedule's name (a dimension of its metrics)."""
    return short_name(alarm_prefix, "data-quality", 63)


@dataclass(frozen=True)
class DriftAlarm:
    """One alarm on a drift metric: its key (``feature-drift-tenure``), what it says, and its
    ``aws.cloudwatch.MetricAlarm`` keyword arguments."""

    key: str
    description: str
    settings: dict[str, Any]


def drift_alarms(drift: DriftSpec, *, endpoint_name: pulumi.Input[str], schedule_name: Optional[str] = None) -> list[DriftAlarm]:
    """The alarms on the drift metrics of ``drift``'s method: per feature (PSI, KL), per run
    (features drifted, a stalled job, corrupt capture files) for the job; per feature baseline
    drift on the data-quality schedule ``schedule_name`` for Model Monitor."""
    alarms: list[DriftAlarm] = []

    def add(key: str, description: str, **settings: Any) -> None:
        alarms.append(DriftAlarm(key, description, settings))

    if drift.method is DriftMethod.MODEL_MONITOR:
        for feature in drift.features:
            threshold = drift.threshold_for(feature)
            add(
                feature_drift_alarm(feature),
                f"Model Monitor baseline drift of feature {feature} above {threshold:g}.",
                namespace=MODEL_MONITOR_NAMESPACE,
                metric_name=model_monitor_metric(feature),
                dimensions=dict(zip(MODEL_MONITOR_DIMENSIONS, (endpoint_name, schedule_name, feature))),
                statistic="Maximum",
                period=drift.interval_hours * 3600,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=threshold,
                treat_missing_data="notBreaching",
            )
        return alarms
    period = drift.interval_hours * 3600
    for feature in drift.features:
        dims = {DIMENSION_ENDPOINT: endpoint_name, DIMENSION_FEATURE: feature}
        threshold = drift.threshold_for(feature)
        add(
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
            add(
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
        add(
            FEATURES_DRIFTED,
            f"At least {drift.features_drifted_threshold} feature(s) drifted (PSI above {drift.psi_threshold():g}) in one run.",
            namespace=DRIFT_NAMESPACE,
            metric_name=METRIC_FEATURES_DRIFTED,
            dimensions={DIMENSION_ENDPOINT: endpoint_name},
            statistic="Maximum",
            period=period,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=drift.features_drifted_threshold,
            treat_missing_data="notBreaching",
        )
    if drift.stalled_alarm:
        # Every run publishes CapturedRecords (0 for an idle window): no datapoint means no run.
        add(
            DRIFT_JOB_STALLED,
            f"The drift job has not reported for {2 * drift.interval_hours} hours; check the drift pipeline's executions.",
            namespace=DRIFT_NAMESPACE,
            metric_name=METRIC_CAPTURED_RECORDS,
            dimensions={DIMENSION_ENDPOINT: endpoint_name},
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
    add(
        CAPTURE_FILES_CORRUPT,
        "The drift job skipped capture files it could not read (corrupt gzip, not UTF-8, no capture events); "
        "its log names them: inspect and remove them from the capture prefix.",
        namespace=DRIFT_NAMESPACE,
        metric_name=METRIC_CORRUPT_FILES,
        dimensions={DIMENSION_ENDPOINT: endpoint_name},
        statistic="Maximum",
        period=period,
        evaluation_periods=1,
        comparison_operator="GreaterThanThreshold",
        threshold=0,
        treat_missing_data="notBreaching",  # a run that did not report is drift-job-stalled's to catch
    )
    return alarms
