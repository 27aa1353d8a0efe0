"""The CloudWatch metrics of a SageMaker endpoint, as ``aws.cloudwatch.MetricAlarm`` keyword
arguments: the verbs an Endpoint offers other components (a Monitor's alarms and dashboard), so
nobody rebuilds metric names or dimensions by hand."""

from __future__ import annotations

import re
from typing import Any, Optional

__all__ = ["EndpointMetrics", "SAGEMAKER_NAMESPACE", "INSTANCE_NAMESPACE"]

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


class EndpointMetrics:
    """The metrics of the endpoint named ``endpoint_name``, per variant (default ``variant``, the
    production variant). :class:`~mlstack.components.Endpoint` is one::

        aws.cloudwatch.MetricAlarm("p99", threshold=250_000, comparison_operator="GreaterThanThreshold",
                                   evaluation_periods=3, **EndpointMetrics("churn-scoring", "primary").metric_model_latency())
    """

    def __init__(self, endpoint_name: str, variant: str) -> None:
        self._metrics_endpoint = endpoint_name
        self._metrics_variant = variant

    def dimensions(self, variant: Optional[str] = None) -> dict[str, str]:
        """EndpointName and VariantName (default: the production variant)."""
        return {"EndpointName": self._metrics_endpoint, "VariantName": variant or self._metrics_variant}

    def metric(
        self,
        name: str,
        *,
        statistic: str = "Sum",
        period: int = 60,
        variant: Optional[str] = None,
        namespace: str = SAGEMAKER_NAMESPACE,
    ) -> dict[str, Any]:
        """A metric of this endpoint as ``aws.cloudwatch.MetricAlarm`` keyword arguments:
        ``namespace``, ``metric_name``, ``dimensions`` (EndpointName, VariantName; default the
        production variant), ``statistic`` or, for percentiles such as ``p99``,
        ``extended_statistic``, and ``period``."""
        out: dict[str, Any] = {
            "namespace": namespace,
            "metric_name": name,
            "dimensions": self.dimensions(variant),
            "period": period,
        }
        if re.fullmatch(r"(p|tm|wm|tc|ts)\d+(\.\d+)?|.*\(.*\)", statistic):
            out["extended_statistic"] = statistic
        else:
            out["statistic"] = statistic
        return out

    def metric_invocations(self, *, statistic: str = "Sum", period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """Invocations (requests) of the variant."""
        return self.metric("Invocations", statistic=statistic, period=period, variant=variant)

    def metric_5xx_errors(self, *, statistic: str = "Sum", period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """Invocation5XXErrors; with ``statistic="Average"`` the error rate (0-1)."""
        return self.metric("Invocation5XXErrors", statistic=statistic, period=period, variant=variant)

    def metric_4xx_errors(self, *, statistic: str = "Sum", period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """Invocation4XXErrors; with ``statistic="Average"`` the client-error rate (0-1)."""
        return self.metric("Invocation4XXErrors", statistic=statistic, period=period, variant=variant)

    def metric_model_latency(self, statistic: str = "p99", *, period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """ModelLatency, in microseconds."""
        return self.metric("ModelLatency", statistic=statistic, period=period, variant=variant)

    def metric_gpu_utilization(self, *, statistic: str = "Average", period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """GPUUtilization, summed over the instance's GPUs (0-100 x GPUs)."""
        return self.metric("GPUUtilization", statistic=statistic, period=period, variant=variant, namespace=INSTANCE_NAMESPACE)

    def metric_gpu_memory_utilization(self, *, statistic: str = "Average", period: int = 60, variant: Optional[str] = None) -> dict[str, Any]:
        """GPUMemoryUtilization, summed over the instance's GPUs (0-100 x GPUs)."""
        return self.metric("GPUMemoryUtilization", statistic=statistic, period=period, variant=variant, namespace=INSTANCE_NAMESPACE)
