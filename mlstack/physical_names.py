"""Which input of a pulumi-aws resource holds its physical (cloud) name.

Shared by the offline engine (which fills in autonamed names) and the policy pack (which
links resources by name, e.g. an endpoint to the alarms that watch it).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["NAME_FIELDS", "name_field"]

#: The input holding a resource's physical name, where it is not ``name``.
NAME_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "aws:s3/bucket:Bucket": "bucket",
        "aws:s3/bucketV2:BucketV2": "bucket",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "modelPackageGroupName",
        "aws:sagemaker/pipeline:Pipeline": "pipelineName",
        "aws:sagemaker/featureGroup:FeatureGroup": "featureGroupName",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": "alarmName",
        "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    }
)


def name_field(type_token: str) -> str:
    """The input holding the physical name of resources of ``type_token``."""
    return NAME_FIELDS.get(type_token, "name")
