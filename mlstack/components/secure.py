"""Secure building blocks shared by mlstack's components: a KMS key, a private encrypted
versioned bucket, and IAM policy documents rendered from plain statement dicts.

Components call these with ``parent=self`` so the children appear under the component in the
plan; nothing here reads config or creates providers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

__all__ = [
    "EncryptedBucket",
    "create_key",
    "encrypted_bucket",
    "policy_json",
    "service_role",
    "KMS_USE_ACTIONS",
    "key_use_statements",
    "vpc_statements",
    "assume_role_policy",
    "account_principals",
    "cross_account_read_statement",
]

#: What a principal needs to read and write data encrypted under a customer-managed key.
KMS_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


def key_use_statements(sid: str, key_arn: Any, *, grants_sid: str) -> list[dict[str, Any]]:
    """Statements letting a role use ``key_arn`` for data, and create the grants SageMaker
    needs to attach the key to the volumes and stores it creates for that role (never grants
    for other principals: kms:GrantIsForAWSResource)."""
    return [
        {"Sid": sid, "Effect": "Allow", "Action": KMS_USE_ACTIONS, "Resource": key_arn},
        {
            "Sid": grants_sid,
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def create_key(
    name: str,
    *,
    description: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    alias: Optional[str] = None,
    policy: Optional[pulumi.Input[str]] = None,
) -> aws.kms.Key:
    """A customer-managed symmetric key with yearly rotation and a 30-day deletion window.

    Without ``policy`` the default key policy (the account may delegate use through IAM)
    applies: access is granted by the scoped role policies of the components, not by the key
    policy. Pass a policy when an AWS service must use the key itself (CloudWatch Logs).
    """
    key = aws.kms.Key(
        f"{name}-key",
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    if alias:
        aws.kms.Alias(
            f"{name}-key-alias",
            name=alias,
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return key


@dataclass(frozen=True)
class EncryptedBucket:
    """A bucket and the settings that make it private, versioned and KMS-encrypted."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    policy: aws.s3.BucketPolicy

    @property
    def name(self) -> pulumi.Output[str]:
        return self.bucket.bucket

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.bucket.arn


def encrypted_bucket(
    name: str,
    *,
    key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    force_destroy: bool = False,
    readers: Sequence[str] = (),
    read_prefix: str = "",
    bucket_name: Optional[pulumi.Input[str]] = None,
    object_lock: bool = False,
    extra_statements: Optional[Callable[[str], list[dict[str, Any]]]] = None,
) -> EncryptedBucket:
    """A private bucket: versioning on, SSE-KMS with ``key_arn`` (S3 bucket keys on), every
    public access block on, ACLs off (bucket owner enforced), and a policy refusing plain HTTP
    and uploads encrypted with anything but the bucket's key.

    ``readers``: AWS accounts allowed ``s3:GetObject`` below ``read_prefix`` (and nothing else).
    ``bucket_name`` fixes the name (default: Pulumi's auto-name); ``object_lock`` creates it with
    S3 Object Lock on (it can only be switched on at creation); ``extra_statements(bucket_arn)``
    adds statements to its policy."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        f"{name}",
        bucket=bucket_name,
        force_destroy=force_destroy,
        object_lock_enabled=True if object_lock else None,
        tags=dict(tags),
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=child,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn},
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, key_arn).apply(
            lambda a: _bucket_policy(a[0], a[1], readers=readers, read_prefix=read_prefix, extra=extra_statements)
        ),
        # A public access block first, so a mistaken policy can never make the bucket public.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access_block]),
    )
    return EncryptedBucket(bucket, versioning, encryption, public_access_block, ownership, policy)


def image_pull_statements(repository_arn: str) -> list[dict[str, Any]]:
    """What a processing job's role needs to pull its image from an ECR repository: an
    authorization token (an action AWS does not scope to a resource) and that repository's layers."""
    return [
        {"Sid": "PullImageToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": repository_arn,
        },
    ]


def account_principals(partition: str, accounts: Sequence[str]) -> dict[str, list[str]]:
    """``{"AWS": ["arn:<partition>:iam::<account>:root", ...]}``: the accounts, which delegate through their own IAM."""
    return {"AWS": [f"arn:{partition}:iam::{a}:root" for a in accounts]}


def cross_account_read_statement(bucket_arn: str, readers: Sequence[str], prefix: str) -> dict[str, Any]:
    """Let ``readers`` (account ids) GetObject below ``prefix`` of the bucket: what a reader
    account's SageMaker endpoint needs to download a model's artifacts."""
    partition = bucket_arn.split(":", 2)[1]
    return {
        "Sid": "CrossAccountReadersGetModelArtifacts",
        "Effect": "Allow",
        "Principal": account_principals(partition, readers),
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/{prefix.strip('/')}/*",
    }


def _bucket_policy(
    bucket_arn: str,
    key_arn: str,
    *,
    readers: Sequence[str] = (),
    read_prefix: str = "",
    extra: Optional[Callable[[str], list[dict[str, Any]]]] = None,
) -> str:
    shared = [cross_account_read_statement(bucket_arn, readers, read_prefix)] if readers else []
    return policy_json(
        shared + [
            *(extra(bucket_arn) if extra else []),
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOtherEncryptionKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
                },
            },
        ]
    )


def policy_json(statements: Sequence[Mapping[str, Any]]) -> str:
    """An IAM policy document (Version 2012-10-17) with ``statements``, as stable JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_role(
    name: str,
    *,
    services: Sequence[str],
    description: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    source_account: Optional[pulumi.Input[str]] = None,
) -> aws.iam.Role:
    """A role only the AWS ``services`` (e.g. sagemaker.amazonaws.com) may assume; with
    ``source_account``, only on behalf of that account (the confused-deputy guard)."""

    def trust(account: Optional[str]) -> str:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": sorted(services) if len(services) > 1 else services[0]},
            "Action": "sts:AssumeRole",
        }
        if account:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
        return policy_json([statement])

    document = pulumi.Output.from_input(source_account).apply(trust) if source_account is not None else trust(None)
    return aws.iam.Role(
        f"{name}-role",
        description=description,
        assume_role_policy=document,
        max_session_duration=3600,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def vpc_statements(partition: str, region: str, account: str, vpc: Any, *, sid: str) -> list[dict[str, Any]]:
    """What a job or endpoint placed in ``vpc`` needs: describe the network, and manage its
    network interfaces in those subnets and security groups only (statement ``sid``)."""
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    return [
        {
            "Sid": "DescribeVpc",
            "Effect": "Allow",
            "Action": ["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            "Resource": "*",  # EC2 Describe* calls have no resource-level permissions
        },
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
            "Resource": [
                f"{ec2}:network-interface/*",
                *[f"{ec2}:subnet/{s}" for s in vpc.subnet_ids],
                *[f"{ec2}:security-group/{g}" for g in vpc.security_group_ids],
            ],
        },
    ]


def assume_role_policy(service: str, account: pulumi.Input[str], source_arn: Optional[pulumi.Input[str]] = None) -> pulumi.Output[str]:
    """A trust policy letting ``service`` assume a role on behalf of ``account`` (and
    ``source_arn``) only: the confused-deputy guard."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn is not None:
        condition["ArnEquals"] = {"aws:SourceArn": source_arn}
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": condition}
            ],
        }
    )
