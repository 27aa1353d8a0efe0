"""Which input of a pulumi-aws resource holds its physical (cloud) name.

Shared by the offline engine (which fills in autonamed names) and the policy pack (which
links resources by name, e.g. an endpoint to the alarms that watch it).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["NAME_FIELDS", "UNNAMED", "name_field", "has_physical_name"]

#: The input holding a resource's physical name, where it is not ``name``.
NAME_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "aws:s3/bucket:Bucket": "bucket",
        "aws:s3/bucketV2:BucketV2": "bucket",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "modelPackageGroupName",
        "aws:sagemaker/pipeline:Pipeline": "pipelineName",
        "aws:sagemaker/featureGroup:FeatureGroup": "featureGroupName",
        "aws:sagemaker/modelCard:ModelCard": "modelCardName",
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": "trackingServerName",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": "alarmName",
        "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    }
)

#: Resources with no physical name of their own: configurations of another resource (named by
#: it: a bucket's encryption, a topic's policy, a group's policy), attachments and subscriptions
#: (identified by what they join), and KMS keys (a generated key id). The provider gives them no
#: ``name``, so the offline engine must not invent one.
UNNAMED: frozenset[str] = frozenset(
    {
        "aws:kms/key:Key",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketLoggingV2:BucketLoggingV2",
        "aws:s3/bucketAcl:BucketAcl",
        "aws:s3/bucketAclV2:BucketAclV2",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        "aws:appautoscaling/target:Target",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    }
)


def name_field(type_token: str) -> str:
    """The input holding the physical name of resources of ``type_token``."""
    return NAME_FIELDS.get(type_token, "name")


def has_physical_name(type_token: str) -> bool:
    """Whether resources of ``type_token`` have a physical name the provider sets (autonames)."""
    return type_token not in UNNAMED
