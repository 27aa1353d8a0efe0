"""``mlstack:registry`` and ``mlstack:models[].registry``: how a model's versions are approved
and who may read them.

Example (a stack file)::

    mlstack:registry:
      approvalMode: manual                 # versions wait for `mlstack promote`
      crossAccountReaders: ["210987654321"]  # the prod account deploys from this registry
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from .base import AccountId, Spec

__all__ = ["ApprovalMode", "RegistrySpec"]


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


class RegistrySpec(Spec):
    """How a team's models are registered and who may read them."""

    approval_mode: ApprovalMode = ApprovalMode.MANUAL
    """manual (default): versions wait for `mlstack promote`; automatic: gated versions are approved on registration."""
    cross_account_readers: list[AccountId] = Field(default_factory=list, max_length=20)
    """AWS accounts (e.g. the prod account) allowed to describe, list and deploy this group's model versions."""

    @model_validator(mode="after")
    def _unique_readers(self) -> "RegistrySpec":
        dupes = sorted({a for a in self.cross_account_readers if self.cross_account_readers.count(a) > 1})
        if dupes:
            raise ValueError(f"crossAccountReaders lists {', '.join(dupes)} more than once; list each account once")
        return self
