"""ModelRegistry: a SageMaker model package group, its approval mode and cross-account access."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field, StringConstraints

from ..specs.base import KmsKeyArn
from ..specs.card import ModelCardSpec
from ..specs.registry import ApprovalMode, RegistrySpec, version_arn
from .base import Component, ComponentArgs, ComponentError

__all__ = ["ModelRegistryArgs", "ModelRegistry", "cross_account_policy", "package_arn"]

#: Actions a reader account needs to find a package and deploy it (CreateModel from a package).
CROSS_ACCOUNT_GROUP_ACTIONS = ["sagemaker:DescribeModelPackageGroup"]
CROSS_ACCOUNT_PACKAGE_ACTIONS = [
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
]


GroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"),
]


class ModelRegistryArgs(ComponentArgs, RegistrySpec):
    """Inputs of :class:`ModelRegistry`."""

    group_name: GroupName
    """Name of the model package group (SageMaker: 1-63 letters, digits and hyphens)."""
    description: Optional[str] = Field(default=None, max_length=1024)
    """What the models in this group predict."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for the group, lineage tags included (see mlstack.lineage)."""
    card: Optional[ModelCardSpec] = None
    """The model card: a SageMaker Model Card named like the group, KMS-encrypted (default: no card)."""
    card_datasets: list[str] = Field(default_factory=list, max_length=15)
    """Where the model's training data lives, listed on the card (training_datasets)."""
    card_kms_key_arn: Optional[KmsKeyArn] = None
    """Bring your own KMS key for the card (default: a key of its own, rotated yearly)."""


class ModelRegistry(Component, token="mlstack:index:ModelRegistry"):
    """A SageMaker model package group for one model, with lineage tags and optional
    cross-account read access for promotion to other (prod) accounts.

    Example::

        registry = ModelRegistry("churn-xgb", ModelRegistryArgs(
            group_name="churn-churn-xgb",
            approval_mode="manual",
            cross_account_readers=["210987654321"],
            tags=lineage.tags(model="churn-xgb"),
        ))
        pulumi.export("group", registry.group_name)

    With ``card`` (a :class:`~mlstack.specs.card.ModelCardSpec`), a SageMaker Model Card named
    like the group is created beside it, its content in SageMaker's documented model card schema
    (checked, see :mod:`mlstack.cards`), encrypted with a KMS key of its own unless
    ``card_kms_key_arn`` is given.

    The approval mode is recorded on the group as the ``mlstack:approval-mode`` tag and as
    ``approval_mode``, so the training pipeline registers versions with the right status and
    ``mlstack promote`` knows whether it is the one that approves.
    """

    group_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    approval_mode: ApprovalMode

    def __init__(self, name: str, args: ModelRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.args = args
        self.approval_mode = args.approval_mode
        child = pulumi.ResourceOptions(parent=self)

        self.group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=args.group_name,
            model_package_group_description=args.description,
            tags={**args.tags, "mlstack:approval-mode": args.approval_mode.value},
            opts=child,
        )
        self.group_name = self.group.model_package_group_name
        self.arn = self.group.arn

        self.policy: Optional[aws.sagemaker.ModelPackageGroupPolicy] = None
        if args.cross_account_readers:
            self.policy = aws.sagemaker.ModelPackageGroupPolicy(
                f"{name}-cross-account",
                model_package_group_name=self.group.model_package_group_name,
                resource_policy=self.group.arn.apply(
                    lambda arn: cross_account_policy(arn, args.cross_account_readers)
                ),
                opts=child,
            )

        self.card: Optional[aws.sagemaker.ModelCard] = None
        self.card_key: Optional[aws.kms.Key] = None
        if args.card is not None:
            self._card(name, args)

        self.register_outputs(
            {"group_name": self.group_name, "arn": self.arn, "approval_mode": self.approval_mode.value}
        )

    def _card(self, name: str, args: ModelRegistryArgs) -> None:
        from ..cards import CardContentError, card_content
        from .secure import create_key

        assert args.card is not None
        try:
            content = card_content(args.card, group=args.group_name, purpose=args.description, datasets=args.card_datasets)
        except CardContentError as exc:  # the spec's bounds are the schema's: only odd datasets get here
            raise ComponentError.bad("card", f"does not fit SageMaker's model card schema: {exc}", fix="shorten the values named") from None
        if args.card_kms_key_arn:
            key_arn: pulumi.Input[str] = args.card_kms_key_arn
        else:
            self.card_key = create_key(
                f"{name}-card",
                description=f"mlstack model card of {args.group_name}",
                tags=args.tags,
                parent=self,
            )
            key_arn = self.card_key.arn
        # SageMaker's model card of the group; promote writes each approved version's own card.
        self.card = aws.sagemaker.ModelCard(
            f"{name}-card",
            model_card_name=args.group_name,
            model_card_status=args.card.status,
            content=json.dumps(content, sort_keys=True),
            security_config={"kms_key_id": key_arn},
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def model_package_arn(self, version: int | str) -> pulumi.Output[str]:
        """The ARN of one version of this group's model packages."""
        return self.arn.apply(lambda arn: package_arn(arn, version))


def package_arn(group_arn: str, version: int | str) -> str:
    """``arn:...:model-package-group/g`` -> ``arn:...:model-package/g/<version>``."""
    return version_arn(group_arn, version)


def cross_account_policy(group_arn: str, accounts: list[str]) -> str:
    """The group's resource policy letting ``accounts`` read and deploy its versions."""
    # The readers' partition is the group's own (arn:aws-cn:..., arn:aws-us-gov:...).
    partition = group_arn.split(":", 2)[1] if group_arn.startswith("arn:") else "aws"
    principals = {"AWS": [f"arn:{partition}:iam::{account}:root" for account in accounts]}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "MlstackCrossAccountReadGroup",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": CROSS_ACCOUNT_GROUP_ACTIONS,
                    "Resource": group_arn,
                },
                {
                    "Sid": "MlstackCrossAccountReadPackages",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": CROSS_ACCOUNT_PACKAGE_ACTIONS,
                    "Resource": package_arn(group_arn, "*"),
                },
            ],
        },
        sort_keys=True,
    )
