"""``mlstack:registry`` and ``mlstack:models[].registry``: how a model's versions are approved
and who may read them.

Example (a stack file)::

    mlstack:registry:
      approvalMode: manual                 # versions wait for `mlstack promote`
      crossAccountReaders: ["210987654321"]  # the prod account deploys from this registry
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Optional

from pydantic import Field, StringConstraints, model_validator

from ..errors import SpecProblems
from .base import PATTERN_HINTS, AccountId, KmsKeyArn, Spec

__all__ = ["ApprovalMode", "RegistrySpec", "RegistrySourceSpec", "GroupArn", "parse_group_arn", "version_arn"]

#: A model package group ARN: arn:<partition>:sagemaker:<region>:<account>:model-package-group/<name>.
GROUP_ARN_PATTERN = r"^arn:aws(-cn|-us-gov)?:sagemaker:[a-z]{2}(-[a-z]+)+-\d:\d{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
GroupArn = Annotated[str, StringConstraints(pattern=GROUP_ARN_PATTERN)]
ROLE_ARN_PATTERN = r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$"
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN)]
PATTERN_HINTS.update({
    GROUP_ARN_PATTERN: "use the group's ARN, e.g. arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/churn-churn-xgb (training stack output registries.<model>.arn)",
    ROLE_ARN_PATTERN: "use an IAM role ARN, e.g. arn:aws:iam::111111111111:role/mlstack-promoter",
})


def version_arn(group_arn: str, version: int | str) -> str:
    """``arn:...:model-package-group/g`` -> ``arn:...:model-package/g/<version>``."""
    prefix, _, group = group_arn.partition(":model-package-group/")
    return f"{prefix}:model-package/{group}/{version}"


def parse_group_arn(arn: str) -> tuple[str, str, str, str]:
    """(partition, region, account, group name) of a model package group ARN."""
    parts = arn.split(":", 5)
    return parts[1], parts[3], parts[4], parts[5].split("/", 1)[1]


class ApprovalMode(str, Enum):
    """How a registered model version becomes Approved."""

    MANUAL = "manual"
    """New versions wait as PendingManualApproval until `mlstack promote` (or a person) approves them."""
    AUTOMATIC = "automatic"
    """New versions that pass the training pipeline's gates are registered as Approved."""

    @property
    def initial_status(self) -> str:
        """The ModelApprovalStatus a new version is registered with."""
        return "PendingManualApproval" if self is ApprovalMode.MANUAL else "Approved"


class RegistrySourceSpec(Spec):
    """A model registered in another stack's registry (another account): this stack serves its
    Approved versions and registers nothing itself.

    Example (the prod stack serving what the dev account's training stack registers)::

        source:
          registry: arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/churn-churn-xgb
          artifactsKeyArn: arn:aws:kms:eu-west-1:111111111111:key/...   # training stack output pipelines.<model>.keyArn
          roleArn: arn:aws:iam::111111111111:role/mlstack-promoter      # what `mlstack promote` / `verify` assume there
    """

    registry: GroupArn
    """The model package group's ARN (training stack output registries.<model>.arn); its account must list this stack's account in crossAccountReaders."""
    artifacts_key_arn: KmsKeyArn
    """The KMS key of the training bucket holding the versions' artifacts (training stack output pipelines.<model>.keyArn): the endpoint's role may decrypt with it, which the training stack's key policy allows through S3 only."""
    role_arn: Optional[RoleArn] = None
    """A role in the registry's account that `mlstack promote` and `mlstack verify` assume to read and approve versions there (the stack's own credentials must be allowed sts:AssumeRole on it)."""

    @property
    def account(self) -> str:
        return parse_group_arn(self.registry)[2]

    @property
    def region(self) -> str:
        return parse_group_arn(self.registry)[1]

    @property
    def group_name(self) -> str:
        return parse_group_arn(self.registry)[3]

    @model_validator(mode="after")
    def _one_account(self) -> "RegistrySourceSpec":
        problems = []
        partition, region, account, _ = parse_group_arn(self.registry)
        key = self.artifacts_key_arn.split(":")
        if key[3] != region or key[4] != account or key[1] != partition:
            problems.append((("artifactsKeyArn",), f"{self.artifacts_key_arn!r} is not in the registry's account {account} and region {region}; give the key of the training bucket there (training stack output pipelines.<model>.keyArn)"))
        if self.role_arn is not None:
            role = self.role_arn.split(":")
            if role[4] != account or role[1] != partition:
                problems.append((("roleArn",), f"{self.role_arn!r} is not in the registry's account {account}; give a role there that may read and approve its versions"))
        if problems:
            raise SpecProblems(problems)
        return self


class RegistrySpec(Spec):
    """How a team's models are registered and who may read them."""

    approval_mode: ApprovalMode = ApprovalMode.MANUAL
    """manual (default): versions wait for `mlstack promote`; automatic: gated versions are approved on registration."""
    cross_account_readers: list[AccountId] = Field(default_factory=list, max_length=20)
    """AWS accounts (e.g. the prod account) allowed to describe, list and deploy this group's model versions; for a model trained in this stack they may also read its artifacts (models/ prefix), decrypt them through S3 and pull its serving image, and nothing else."""

    @model_validator(mode="after")
    def _unique_readers(self) -> "RegistrySpec":
        dupes = sorted({a for a in self.cross_account_readers if self.cross_account_readers.count(a) > 1})
        if dupes:
            raise ValueError(f"crossAccountReaders lists {', '.join(dupes)} more than once; list each account once")
        return self
