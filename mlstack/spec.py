"""The typed model of a team stack: the ``mlstack:*`` keys of ``stacks/Pulumi.<team>-<env>.yaml``.

Example stack file::

    config:
      aws:region: eu-west-1
      mlstack:team: churn
      mlstack:environment: prod
      mlstack:owner: ml-platform@example.com
      mlstack:models:
        - name: churn-xgb
          dataset: {uri: s3://example-data/churn/, version: "2026-11-01"}

``mlstack schema`` prints the JSON Schema of these keys; :func:`mlstack.config.load_stack`
validates a file and reports every problem with its file, key path and value.
"""

from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from .components.registry import RegistrySettings
from .gates import Gate
from .types import AccountId, Environment, S3Uri, Slug, Spec, TagValue, UserTags

__all__ = ["StackSpec", "ModelSpec", "DatasetRef", "NAMESPACE"]

#: The Pulumi config namespace of mlstack's keys.
NAMESPACE = "mlstack"


class DatasetRef(Spec):
    """The data a model is trained on, recorded in lineage tags."""

    uri: S3Uri
    """Where the training data lives, e.g. s3://churn-data/features/."""
    version: Optional[TagValue] = None
    """The dataset's version or snapshot id, e.g. 2026-11-01 or a commit of the data repository."""


class ModelSpec(Spec):
    """One model the team trains, registers and serves."""

    name: Slug
    """The model's name, unique in the stack; also names its registry group (<team>-<name>)."""
    description: Optional[str] = Field(default=None, max_length=1024)
    """What the model predicts, shown in the registry."""
    dataset: Optional[DatasetRef] = None
    """The training dataset, recorded as mlstack:dataset and mlstack:dataset-version tags."""
    registry: Optional[RegistrySettings] = None
    """Overrides the stack-wide registry settings for this model."""
    gates: list[Gate] = Field(default_factory=list)
    """Conditions a version must meet to be registered by its pipeline and approved by `mlstack promote`."""


class StackSpec(Spec):
    """A team's MLOps stack in one environment."""

    team: Slug
    """The owning team, e.g. churn; tagged as mlstack:team and prefixed to resource names."""
    environment: Environment
    """dev, staging or prod; policies are stricter towards prod."""
    owner: TagValue = Field(min_length=1)
    """Who to call about this stack (an e-mail or on-call handle); tagged as owner."""
    cost_center: Optional[TagValue] = None
    """Billing code, tagged as cost-center."""
    tags: UserTags = Field(default_factory=dict)
    """Further tags for every resource (keys may not start with aws: or mlstack:)."""
    git_commit: Optional[TagValue] = None
    """Overrides the detected commit of the stack repository in mlstack:git-commit."""
    account_id: Optional[AccountId] = None
    """The AWS account this stack must deploy to; a deployment with other credentials stops. Offline plans use it as the account id (default 123456789012)."""
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    """Registry settings for every model (approval mode, cross-account readers)."""
    models: list[ModelSpec] = Field(min_length=1)
    """The models this stack registers (and, with later components, trains and serves)."""

    @model_validator(mode="after")
    def _cross_field_rules(self) -> "StackSpec":
        problems: list[str] = []
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"model names must be unique; {', '.join(map(repr, dupes))} appear more than once")
        for model in self.models:
            group = self.group_name(model.name)
            if len(group) > 63:
                problems.append(
                    f"registry group name {group!r} for model {model.name!r} is {len(group)} characters; "
                    "SageMaker allows 63: shorten the team or model name"
                )
            readers = self.registry_for(model.name).cross_account_readers
            if self.account_id and self.account_id in readers:
                problems.append(
                    f"model {model.name!r}: crossAccountReaders lists the stack's own account {self.account_id}; "
                    "list only other accounts"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def group_name(self, model: str) -> str:
        """The model package group name of ``model``: ``<team>-<model>``."""
        return f"{self.team}-{model}"

    def model(self, name: str) -> ModelSpec:
        """The model called ``name``."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def registry_for(self, model: str) -> RegistrySettings:
        """The registry settings that apply to ``model`` (its own, else the stack's)."""
        return self.model(model).registry or self.registry

    def user_tags(self) -> dict[str, str]:
        """The user tags every resource carries: owner, cost-center and ``tags``."""
        tags = dict(self.tags)
        tags["owner"] = self.owner
        if self.cost_center:
            tags["cost-center"] = self.cost_center
        return tags
