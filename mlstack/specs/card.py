"""``mlstack:models[].card``: the model card an auditor reads for every model and approved version.

Example (a stack file)::

    mlstack:models:
      - name: churn-xgb
        card:
          owner: churn-ml@example.com
          intendedUses: Rank subscribers by churn risk for the retention team's weekly call list.
          outOfScopeUses: Credit, pricing or any decision about an individual without human review.
          riskRating: Medium            # High, Medium, Low or Unknown (SageMaker's values)
          riskExplanation: Wrong scores cost a retention call, not a service.
          ethicalConsiderations: Tenure and contract type correlate with age; bias_delta is gated.
          caveats: Trained on subscribers since 2024; retrain after pricing changes.

Every field lands in the SageMaker model card content (:mod:`mlstack.cards`), whose documented
JSON schema bounds each one; the limits below are that schema's, so a card that validates here
is accepted by SageMaker. SageMaker's schema has no field for out-of-scope uses or the owner:
they are written as ``additional_information.custom_details`` (at most 1024 characters each).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .base import Spec

__all__ = ["ModelCardSpec", "RiskRating", "CardStatus"]

RiskRating = Literal["High", "Medium", "Low", "Unknown"]
"""``intended_uses.risk_rating`` of SageMaker's model card schema (definition ``risk_rating``)."""

CardStatus = Literal["Draft", "PendingReview", "Approved"]
"""botocore ``ModelCardStatus`` without ``Archived`` (an archived card can no longer be updated)."""


class ModelCardSpec(Spec):
    """A SageMaker model card for one model: who owns it, what it is for and what it is not for,
    its risk and what its users must know. Created with the model's registry (KMS-encrypted);
    `mlstack promote` writes the same card, with the evaluation and gate results, onto each
    version it approves."""

    owner: str = Field(min_length=1, max_length=1024)
    """Who answers for the model (a person, team or on-call handle); model_creator and custom_details.owner."""
    intended_uses: str = Field(min_length=1, max_length=2048)
    """What the model may be used for (intended_uses.intended_uses)."""
    out_of_scope_uses: str = Field(min_length=1, max_length=1024)
    """What the model must not be used for (custom_details.out_of_scope_uses)."""
    risk_rating: RiskRating
    """High, Medium, Low or Unknown (intended_uses.risk_rating)."""
    risk_explanation: Optional[str] = Field(default=None, min_length=1, max_length=2048)
    """Why the risk is rated so (intended_uses.explanations_for_risk_rating); required with riskRating High."""
    ethical_considerations: str = Field(min_length=1, max_length=2048)
    """Fairness, privacy and other ethical considerations for its users (additional_information.ethical_considerations)."""
    caveats: str = Field(min_length=1, max_length=2048)
    """Known limits and recommendations (additional_information.caveats_and_recommendations)."""
    status: CardStatus = "Draft"
    """The card's review status in your organisation: Draft (default), PendingReview or Approved."""

    @model_validator(mode="after")
    def _high_risk_is_explained(self) -> "ModelCardSpec":
        if self.risk_rating == "High" and not self.risk_explanation:
            raise ValueError("riskRating High needs riskExplanation: say why the risk is high and how it is contained")
        return self
