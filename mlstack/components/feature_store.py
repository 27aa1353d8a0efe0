"""FeatureStore: SageMaker feature groups with KMS-encrypted online and offline stores.

Declared in a stack file as ``mlstack:featureGroups`` (the groups' spec, and the JSON Schema
``mlstack validate-data`` checks samples against, are in :mod:`mlstack.specs.features`).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field, model_validator

from ..errors import SpecProblems
from ..specs.base import KmsKeyArn, Slug
from ..specs.features import FeatureGroupSpec, feature_group_name_problems
from .base import Component, ComponentArgs
from .secure import create_key, encrypted_bucket, key_use_statements, policy_json, service_role

__all__ = ["FeatureStoreArgs", "FeatureStore", "GLUE_DATABASE"]

#: The Glue database SageMaker creates offline-store tables in.
GLUE_DATABASE = "sagemaker_featurestore"


class FeatureStoreArgs(ComponentArgs):
    """Inputs of :class:`FeatureStore`."""

    name_prefix: Slug
    """Prefixed to every feature group name (the team): <prefix>-<group>."""
    groups: list[FeatureGroupSpec] = Field(min_length=1)
    """The feature groups to create."""
    kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for both stores and the offline bucket (default: the store creates one, rotated yearly)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for every resource, lineage tags included (see mlstack.lineage)."""

    @model_validator(mode="after")
    def _names(self) -> "FeatureStoreArgs":
        problems = feature_group_name_problems(self.name_prefix, self.groups)
        if problems:
            raise SpecProblems([(("groups", *path), text) for path, text in problems])
        return self


class FeatureStore(Component, token="mlstack:index:FeatureStore"):
    """SageMaker feature groups with KMS-encrypted online and offline stores.

    Example::

        store = FeatureStore("features", FeatureStoreArgs(
            name_prefix="churn",
            groups=[FeatureGroupSpec.model_validate({...})],
            tags=lineage.tags(),
        ))
        store.groups["customers"].arn               # the aws.sagemaker.FeatureGroup
        store.offline_uri("customers")              # where its Iceberg table lives

    Children: a KMS key (unless ``kms_key_arn``), a private versioned encrypted bucket for the
    offline stores, one role SageMaker assumes to write them (scoped to that bucket, that key
    and the Glue database ``sagemaker_featurestore``), and one feature group per spec.
    """

    key_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    groups: dict[str, aws.sagemaker.FeatureGroup]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.args = args
        tags = dict(args.tags)

        if args.kms_key_arn:
            self.key = None
            self.key_arn = pulumi.Output.from_input(args.kms_key_arn)
        else:
            self.key = create_key(
                name,
                description=f"mlstack feature store {args.name_prefix}: online and offline stores",
                alias=f"alias/mlstack/{args.name_prefix}/feature-store",
                tags=tags,
                parent=self,
            )
            self.key_arn = self.key.arn

        self.bucket = encrypted_bucket(f"{name}-offline", key_arn=self.key_arn, tags=tags, parent=self)
        self.bucket_name = self.bucket.name
        self.bucket_arn = self.bucket.arn

        self.role = service_role(
            name,
            services=["sagemaker.amazonaws.com"],
            description=f"SageMaker Feature Store of {args.name_prefix}: writes the offline stores",
            tags=tags,
            parent=self,
            source_account=self.key_arn.apply(_account_of),
        )
        self.role_arn = self.role.arn
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self.bucket_arn, self.key_arn).apply(lambda a: store_role_policy(a[0], a[1])),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.groups = {}
        after = [self.role_policy, self.bucket.policy, self.bucket.encryption, self.bucket.public_access_block]
        for group in args.groups:
            self.groups[group.name] = aws.sagemaker.FeatureGroup(
                f"{name}-{group.name}",
                feature_group_name=f"{args.name_prefix}-{group.name}",
                description=group.description,
                record_identifier_feature_name=group.record_identifier,
                event_time_feature_name=group.event_time,
                role_arn=self.role.arn,
                feature_definitions=[{"feature_name": f.name, "feature_type": f.type.value} for f in group.features],
                online_store_config=self._online(group) if group.online_store.enabled else None,
                offline_store_config=self._offline(group) if group.offline_store.enabled else None,
                tags={**tags, "mlstack:feature-group": group.name},
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )

        self.register_outputs(
            {
                "key_arn": self.key_arn,
                "bucket_name": self.bucket_name,
                "role_arn": self.role_arn,
                "feature_groups": {n: g.arn for n, g in self.groups.items()},
            }
        )

    def _online(self, group: FeatureGroupSpec) -> dict[str, Any]:
        config: dict[str, Any] = {"enable_online_store": True, "security_config": {"kms_key_id": self.key_arn}}
        if group.online_store.ttl_days:
            config["ttl_duration"] = {"unit": "Days", "value": group.online_store.ttl_days}
        if group.online_store.storage_type:
            config["storage_type"] = group.online_store.storage_type
        return config

    def _offline(self, group: FeatureGroupSpec) -> dict[str, Any]:
        return {
            "s3_storage_config": {"s3_uri": self.offline_prefix(), "kms_key_id": self.key_arn},
            "table_format": "Iceberg",
            "disable_glue_table_creation": False,
        }

    def offline_prefix(self) -> pulumi.Output[str]:
        """The S3 URI under which SageMaker writes every group's offline store."""
        return self.bucket_name.apply(lambda b: f"s3://{b}/offline-store")

    def offline_uri(self, group: str) -> pulumi.Output[str]:
        """Where one group's offline store lives (``resolved_output_s3_uri``, known after creation)."""
        fg = self.groups[group]
        return fg.offline_store_config.apply(lambda c: c.s3_storage_config.resolved_output_s3_uri if c else None)  # type: ignore[return-value]

    def offline_read_statements(self, group: str) -> pulumi.Output[list[dict[str, Any]]]:
        """IAM statements letting another role (a training pipeline's) read ``group``'s offline store."""
        if group not in self.groups:
            raise KeyError(group)
        return pulumi.Output.all(self.bucket_arn, self.key_arn).apply(lambda a: offline_read_statements(a[0], a[1]))


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


def offline_read_statements(bucket_arn: str, key_arn: str) -> list[dict[str, Any]]:
    """Read access to the offline-store bucket and decrypt with its key."""
    return [
        {"Sid": "ReadOfflineStoreBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": bucket_arn},
        {"Sid": "ReadOfflineStoreObjects", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket_arn}/*"},
        {"Sid": "DecryptOfflineStore", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": key_arn},
    ]


def store_role_policy(bucket_arn: str, key_arn: str) -> str:
    """The feature store role's policy: its bucket, its key, and the Glue database of the tables."""
    partition, region, account = key_arn.split(":")[1], key_arn.split(":")[3], key_arn.split(":")[4]
    glue = f"arn:{partition}:glue:{region}:{account}"
    return policy_json(
        [
            {
                "Sid": "OfflineStoreBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "OfflineStoreObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"],
                "Resource": f"{bucket_arn}/*",
            },
            *key_use_statements("StoreKey", key_arn, grants_sid="StoreKeyGrantsForSageMaker"),
            {
                "Sid": "IcebergTablesInGlue",
                "Effect": "Allow",
                "Action": ["glue:CreateTable", "glue:GetTable", "glue:UpdateTable", "glue:GetDatabase", "glue:CreateDatabase"],
                "Resource": [f"{glue}:catalog", f"{glue}:database/{GLUE_DATABASE}", f"{glue}:table/{GLUE_DATABASE}/*"],
            },
        ]
    )

