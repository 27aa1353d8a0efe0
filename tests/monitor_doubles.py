"""Test doubles with the public contracts the Monitor relies on: an Endpoint and a TrainingPipeline.

They implement exactly the documented attributes and metric helpers, so a Monitor test that
passes against them uses nothing the real components do not promise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi


@dataclass
class EndpointSpecDouble:
    name: str
    model: str
    backend: str = "sagemaker"


class EndpointDouble:
    """An endpoint called ``name`` serving ``model`` on ``instance_type``."""

    def __init__(
        self,
        name: str = "churn-xgb",
        *,
        model: str = "churn-xgb",
        physical_name: str = "churn-prod-churn-xgb",
        instance_type: str = "ml.m5.large",
        is_gpu: bool = False,
        variant_names: list[str] | None = None,
        capture_uri: Optional[str] = "s3://churn-capture/churn-xgb/",
        backend: str = "sagemaker",
        model_package_arn: Optional[str] = "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-xgb/7",
    ) -> None:
        self.endpoint_name = pulumi.Output.from_input(physical_name)
        self.arn = pulumi.Output.from_input(f"arn:aws:sagemaker:eu-west-1:210987654321:endpoint/{physical_name}")
        self.endpoint_config_name = pulumi.Output.from_input(f"{physical_name}-config")
        self.variant_names = variant_names or ["AllTraffic"]
        self.instance_type = instance_type
        self.is_gpu = is_gpu
        self.data_capture_uri = pulumi.Output.from_input(capture_uri) if capture_uri else None
        self.kms_key_arn = pulumi.Output.from_input("arn:aws:kms:eu-west-1:210987654321:key/0000-endpoint")
        self.spec = EndpointSpecDouble(name=name, model=model, backend=backend)
        self.model_name = model
        self.model_package_arn = pulumi.Output.from_input(model_package_arn) if model_package_arn else None

    def metric(self, name: str, *, statistic: str = "Sum", period: int = 60, variant: str | None = None, namespace: str = "AWS/SageMaker") -> dict:
        out: dict[str, Any] = {
            "namespace": namespace,
            "metric_name": name,
            "dimensions": {"EndpointName": self.endpoint_name, "VariantName": variant or self.variant_names[0]},
            "period": period,
        }
        if statistic.startswith("p"):
            out["extended_statistic"] = statistic
        else:
            out["statistic"] = statistic
        return out

    def metric_invocations(self) -> dict:
        return self.metric("Invocations")

    def metric_5xx_errors(self) -> dict:
        return self.metric("Invocation5XXErrors")

    def metric_4xx_errors(self) -> dict:
        return self.metric("Invocation4XXErrors")

    def metric_model_latency(self, statistic: str = "p99") -> dict:
        return self.metric("ModelLatency", statistic=statistic)

    def metric_gpu_utilization(self) -> dict:
        return self.metric("GPUUtilization", statistic="Average", namespace="/aws/sagemaker/Endpoints")

    def metric_gpu_memory_utilization(self) -> dict:
        return self.metric("GPUMemoryUtilization", statistic="Average", namespace="/aws/sagemaker/Endpoints")


@dataclass
class PipelineDouble:
    """A TrainingPipeline: its ARN and the EventBridge role allowed to start it."""

    pipeline_name: str = "churn-prod-churn-xgb-training"
    model_name: str = "churn-xgb"
    arn: Any = field(default=None)
    trigger_role_arn: Any = field(default=None)

    def __post_init__(self) -> None:
        self.arn = pulumi.Output.from_input(f"arn:aws:sagemaker:eu-west-1:210987654321:pipeline/{self.pipeline_name}")
        self.trigger_role_arn = pulumi.Output.from_input("arn:aws:iam::210987654321:role/churn-xgb-training-trigger")
