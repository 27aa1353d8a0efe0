"""Type tokens of the resources several policies judge, as the engine reports them."""

from __future__ import annotations

__all__ = [
    "KSERVE_TYPE",
    "PROMETHEUS_RULE",
    "BUCKET_TYPES",
    "ENDPOINT_TYPE",
    "ENDPOINT_CONFIG",
    "MODEL_TYPE",
    "PIPELINE_TYPE",
    "GROUP_TYPE",
    "METRIC_ALARM",
    "ALARM_TYPES",
]

KSERVE_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL_TYPE = "aws:sagemaker/model:Model"
PIPELINE_TYPE = "aws:sagemaker/pipeline:Pipeline"
GROUP_TYPE = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ALARM_TYPES = (METRIC_ALARM, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
