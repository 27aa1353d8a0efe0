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
validates a file and reports every problem with its file, key path and value. Each key's model
lives in the module of its noun (:mod:`~mlstack.specs.endpoint` for ``mlstack:endpoints``, ...);
this module holds the stack, its models, and the rules that span several keys.
"""

from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from ..errors import SpecProblems
from ..lineage import GitCommit, tag_budget_problems
from .audit import AuditSpec, audit_problems
from .base import AccountId, Environment, Slug, Spec, TaggableS3Uri, TagValue, UserTags
from .card import ModelCardSpec
from .budget import BudgetSpec
from .endpoint import EndpointSpec
from .features import FeatureGroupSpec, feature_group_name_problems
from .gates import GateSpec
from .monitor import MonitorSpec, stack_monitor_problems
from .registry import RegistrySourceSpec, RegistrySpec
from .tracking import TrackingSpec
from .training import TrainingSpec, check_gates
from .waivers import MAX_WAIVERS, WaiverSpec

__all__ = ["StackSpec", "ModelSpec", "DatasetSpec", "NAMESPACE", "kms_region_problems"]

#: The Pulumi config namespace of mlstack's keys.
NAMESPACE = "mlstack"


class DatasetSpec(Spec):
    """The data a model is trained on, recorded in lineage tags."""

    uri: TaggableS3Uri
    """Where the training data lives, e.g. s3://churn-data/features/ (recorded as the mlstack:dataset tag: at most 256 characters, letters, digits and _ . : / = + - @)."""
    version: Optional[TagValue] = None
    """The dataset's version or snapshot id, e.g. 2026-11-01 or a commit of the data repository."""


def _source_kind(value: object) -> str:
    # Tags start with "~": the config loader leaves them out of key paths (mlstack:models[0].source.registry).
    return "~registry" if isinstance(value, (dict, RegistrySourceSpec)) else "~text"


class ModelSpec(Spec):
    """One model the team trains, registers and serves."""

    name: Slug
    """The model's name, unique in the stack; also names its registry group (<team>-<name>)."""
    description: Optional[str] = Field(default=None, max_length=1024)
    """What the model predicts, shown in the registry."""
    dataset: Optional[DatasetSpec] = None
    """The training dataset, recorded as mlstack:dataset and mlstack:dataset-version tags."""
    registry: Optional[RegistrySpec] = None
    """Overrides the stack-wide registry settings for this model."""
    gates: list[GateSpec] = Field(default_factory=list)
    """Conditions a version must meet to be registered by its pipeline and approved by `mlstack promote`."""
    training: Optional[TrainingSpec] = None
    """The model's training pipeline: preprocess, train, evaluate, gate, register (see mlstack.components.training)."""
    approved_version: Optional[Union[int, str]] = None
    """The version offline plans (mlstack plan, mlstack check) assume is the latest Approved (default 1), or `none` to plan a new stack whose registry has no Approved version yet (its endpoints are deferred); `pulumi up` asks the registry instead."""
    source: Optional[Annotated[Union[Annotated[RegistrySourceSpec, Tag("~registry")], Annotated[TagValue, Field(min_length=1), Tag("~text")]], Discriminator(_source_kind)]] = None
    """Where the model is trained when this stack has no training for it: text such as s3://partner-models/defects/ (tagged mlstack:source on its registry so the policy pack can trace served models to it), or {registry: <model package group ARN>, artifactsKeyArn, roleArn} to serve the Approved versions of another account's registry, which this stack then does not create."""
    card: Optional[ModelCardSpec] = None
    """The model card (owner, intended and out-of-scope uses, risk rating, ethical considerations, caveats): a KMS-encrypted SageMaker Model Card, and the card `mlstack promote` writes onto each version it approves."""

    @field_validator("approved_version", mode="before")
    @classmethod
    def _version_or_none(cls, value: object) -> object:
        if value is None or value == "none" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError(f"is a version number (1 or more) or 'none' for a registry with no Approved version yet (got {value!r})")

    @model_validator(mode="after")
    def _trained_here_or_elsewhere(self) -> "ModelSpec":
        if self.source is not None and self.training is not None:
            raise ValueError("source declares an external training source but training is set too; keep one")
        if self.source_registry is not None and self.registry is not None:
            raise SpecProblems([(("registry",), "the model's registry is source.registry in another account, whose own stack sets its approval mode and readers; drop registry here")])
        if self.source_registry is not None and self.card is not None:
            raise SpecProblems([(("card",), "the model's card belongs to its registry, source.registry in another account: declare the card in that account's stack and drop it here")])
        return self

    @property
    def source_registry(self) -> Optional[RegistrySourceSpec]:
        """The other account's registry this model is served from (None: this stack's own)."""
        return self.source if isinstance(self.source, RegistrySourceSpec) else None

    @model_validator(mode="after")
    def _gates_use_evaluated_metrics(self) -> "ModelSpec":
        problems = check_gates(self.gates, self.training)
        if problems:
            raise SpecProblems(problems)
        return self


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
    git_commit: Optional[GitCommit] = None
    """Overrides the detected commit of the stack repository in mlstack:git-commit: its hash as `git rev-parse HEAD` prints it (4 to 40 lower-case hex digits, or 64)."""
    account_id: Optional[AccountId] = None
    """The AWS account this stack must deploy to; a deployment with other credentials stops. Offline plans use it as the account id (default 123456789012)."""
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    """Registry settings for every model (approval mode, cross-account readers)."""
    models: list[ModelSpec] = Field(min_length=1)
    """The models this stack registers (and, with later components, trains and serves)."""
    feature_groups: list[FeatureGroupSpec] = Field(default_factory=list)
    """SageMaker feature groups with encrypted online and offline stores (see mlstack.components.feature_store)."""
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    """Endpoints serving the models: SageMaker (default) or KServe, with canary/linear rollout and automatic rollback (see mlstack.components.endpoint)."""
    monitors: list[MonitorSpec] = Field(default_factory=list)
    """Monitors of endpoints: alarms, data drift, a dashboard and drift-triggered retraining (see mlstack.components.monitor)."""
    tracking: Optional[TrackingSpec] = None
    """A SageMaker managed MLflow tracking server: training jobs get its ARN, registered versions record their MLflow run id (see mlstack.specs.tracking)."""

    @model_validator(mode="after")
    def _tracked_training_can_reach_the_server(self) -> "StackSpec":
        if self.tracking is None:
            return self
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for i, model in enumerate(self.models):
            for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_ARN"):
                if model.training is not None and key in model.training.train.environment:
                    problems.append(
                        (
                            ("models", i, "training", "train", "environment", key),
                            f"is set by mlstack:tracking (the tracking server's ARN); drop it here, or drop mlstack:tracking to log elsewhere",
                        )
                    )
            if model.training is not None and model.training.network_isolation:
                problems.append(
                    (
                        ("models", i, "training", "networkIsolation"),
                        f"model {model.name!r} trains network-isolated (the default), so its training job cannot reach the "
                        "MLflow tracking server of mlstack:tracking; set networkIsolation: false (with a vpc whose routes reach "
                        "SageMaker), or drop mlstack:tracking",
                    )
                )
        if problems:
            raise SpecProblems(problems)
        return self

    audit: AuditSpec = Field(default_factory=AuditSpec)
    """The signed, append-only decision log of promote and verify (on by default in prod; see mlstack audit verify)."""

    @model_validator(mode="after")
    def _audit_fits_the_environment(self) -> "StackSpec":
        problems = audit_problems(self.audit, self.environment.value)
        if problems:
            raise SpecProblems(problems)
        return self
    budget: Optional[BudgetSpec] = None
    """The most the stack may spend per month at maximum scale (USD and/or GPU-hours), judged by the policy mlstack-stack-within-budget."""
    waivers: list[WaiverSpec] = Field(default_factory=list, max_length=MAX_WAIVERS)
    """Reviewable exceptions to policies: policy, resource URN, reason, owner and expiry date each (see mlstack.specs.waivers)."""

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

    @model_validator(mode="after")
    def _cross_account_sharing(self, info: ValidationInfo) -> "StackSpec":
        problems = cross_account_problems(self, (info.context or {}).get("region") if isinstance(info.context, dict) else None)
        if problems:
            raise SpecProblems(problems)
        return self

    def registry_group(self, model: str) -> str:
        """What SageMaker calls take as the model's group: its source registry's ARN (another
        account's group), else this stack's group name ``<team>-<model>``."""
        source = self.model(model).source_registry
        return source.registry if source is not None else self.group_name(model)

    @model_validator(mode="after")
    def _endpoints_serve_declared_models(self) -> "StackSpec":
        problems: list[tuple[tuple[str | int, ...], str]] = []
        models = [m.name for m in self.models]
        names = [e.name for e in self.endpoints]
        for i, endpoint in enumerate(self.endpoints):
            if endpoint.name in names[:i]:
                problems.append((("endpoints", i, "name"), f"endpoint {endpoint.name!r} is declared more than once; give each endpoint its own name"))
            if endpoint.model not in models:
                problems.append((("endpoints", i, "model"), f"{endpoint.model!r} is not in mlstack:models ({', '.join(models)}); serve a declared model or declare it"))
            trained = any(m.name == endpoint.model and m.training for m in self.models)
            registry_source = not endpoint.is_kserve and (
                endpoint.serves_registry_version or (endpoint.shadow is not None and endpoint.shadow.model_data_url is None)
            )
            if registry_source and not trained:
                # Without a training pipeline nothing says where the packages' image and artifacts are.
                if endpoint.image is None:
                    problems.append((("endpoints", i, "image"), f"model {endpoint.model!r} has no training pipeline to take the serving image from; give the image its registered versions use (ECR, by digest in prod)"))
                if endpoint.artifacts_uri is None:
                    problems.append((("endpoints", i, "artifactsUri"), f"model {endpoint.model!r} has no training pipeline whose bucket holds its artifacts; give their S3 prefix so the execution role can read them and nothing else"))
            full = self.endpoint_name(endpoint.name)
            if not endpoint.is_kserve and len(full) > 63:
                problems.append((("endpoints", i, "name"), f"SageMaker endpoint name {full!r} is {len(full)} characters; SageMaker allows 63: shorten the team or endpoint name"))
        if problems:
            raise SpecProblems(problems)
        return self

    @model_validator(mode="after")
    def _tags_fit_every_resource(self) -> "StackSpec":
        problems = tag_budget_problems(self)
        if problems:
            raise SpecProblems(problems)
        return self

    @model_validator(mode="after")
    def _keys_in_the_stack_region(self, info: ValidationInfo) -> "StackSpec":
        # The region is not an mlstack key: the loader passes aws:region as validation context.
        region = (info.context or {}).get("region") if isinstance(info.context, dict) else None
        if not region:
            return self
        problems = kms_region_problems(self, region)
        if problems:
            raise SpecProblems(problems)
        return self

    def kms_key_arns(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every KMS key ARN the stack names, with its key path (``("endpoints", 0, "kmsKeyArn")``)."""
        keys: list[tuple[tuple[str | int, ...], str]] = []
        for i, model in enumerate(self.models):
            if model.training and model.training.kms_key_arn:
                keys.append((("models", i, "training", "kmsKeyArn"), model.training.kms_key_arn))
        for i, endpoint in enumerate(self.endpoints):
            if endpoint.kms_key_arn:
                keys.append((("endpoints", i, "kmsKeyArn"), endpoint.kms_key_arn))
        for i, monitor in enumerate(self.monitors):
            if monitor.notifications.kms_key_arn:
                keys.append((("monitors", i, "notifications", "kmsKeyArn"), monitor.notifications.kms_key_arn))
        return keys

    def endpoint_name(self, endpoint: str) -> str:
        """The SageMaker endpoint name of ``endpoint``: ``<team>-<endpoint>``."""
        return f"{self.team}-{endpoint}"

    @model_validator(mode="after")
    def _monitors_watch_declared_endpoints(self) -> "StackSpec":
        problems = stack_monitor_problems(self)
        if problems:
            raise SpecProblems(problems)
        return self

    @model_validator(mode="after")
    def _feature_groups_declared_once_and_used_as_declared(self) -> "StackSpec":
        problems = [(("featureGroups", *path), text) for path, text in feature_group_name_problems(self.team, self.feature_groups)]
        names = [g.name for g in self.feature_groups]
        for i, model in enumerate(self.models):
            training = model.training
            if training and training.feature_group and training.feature_group not in names:
                known = ", ".join(names) or "none"
                problems.append(
                    (
                        ("models", i, "training", "featureGroup"),
                        f"feature group {training.feature_group!r} is not declared in mlstack:featureGroups (declared: {known})",
                    )
                )
            if training and not (training.input or training.feature_group or model.dataset):
                problems.append(
                    (("models", i, "training"), f"model {model.name!r} has nothing to train on: set training.input, training.featureGroup or dataset.uri")
                )
        if problems:
            raise SpecProblems(problems)
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

    def registry_for(self, model: str) -> RegistrySpec:
        """The registry settings that apply to ``model`` (its own, else the stack's)."""
        return self.model(model).registry or self.registry

    def user_tags(self) -> dict[str, str]:
        """The user tags every resource carries: owner, cost-center and ``tags``."""
        tags = dict(self.tags)
        tags["owner"] = self.owner
        if self.cost_center:
            tags["cost-center"] = self.cost_center
        return tags


def cross_account_problems(spec: StackSpec, region: Optional[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """What cross-account sharing cannot do: a source registry in this stack's own account or in
    another region (CreateModel uses packages of its own region), and readers of a model whose
    artifacts key or serving image this stack does not manage (it could not grant them)."""
    from .base import parse_ecr_image

    problems: list[tuple[tuple[str | int, ...], str]] = []
    repositories: dict[str, str] = {}
    for i, model in enumerate(spec.models):
        source = model.source_registry
        if source is not None:
            if spec.account_id and source.account == spec.account_id:
                problems.append((("models", i, "source", "registry"), f"{source.registry!r} is in this stack's own account {spec.account_id}; drop source to use the stack's own registry"))
            if region and source.region != region:
                problems.append((("models", i, "source", "registry"), f"{source.registry!r} is in {source.region}, but the stack deploys to {region} (aws:region); SageMaker creates models from packages of its own region only"))
            continue
        readers = spec.registry_for(model.name).cross_account_readers
        training = model.training
        if not readers or training is None:
            continue
        if training.kms_key_arn:
            problems.append((("models", i, "training", "kmsKeyArn"), f"model {model.name!r} has crossAccountReaders, which must decrypt its artifacts, but mlstack cannot grant that on a key it does not manage; drop kmsKeyArn (mlstack creates the key and its policy) or crossAccountReaders"))
        image = parse_ecr_image(training.inference.image)
        if image is not None and spec.account_id and image.account != spec.account_id:
            problems.append((("models", i, "training", "inference", "image"), f"model {model.name!r} has crossAccountReaders, which must pull its serving image, but its repository is in account {image.account}, not this stack's {spec.account_id}; mlstack grants pulls on this account's repositories only: push the image here"))
        elif image is not None:
            other = repositories.setdefault(image.repository, model.name)
            if other != model.name:
                problems.append((("models", i, "training", "inference", "image"), f"models {other!r} and {model.name!r} share the repository {image.repository!r} and both have crossAccountReaders; each model's pipeline owns its repository's policy, so give each model its own repository"))
    return problems


def kms_region_problems(spec: StackSpec, region: str) -> list[tuple[tuple[str | int, ...], str]]:
    """KMS keys ``spec`` names that live outside the stack's ``region`` (or partition): SageMaker,
    S3, SNS and CloudWatch Logs use a key of their own region only, and fail at deploy time."""
    from ..stack_aws import partition_of

    try:
        partition = partition_of(region)
    except Exception:  # noqa: BLE001 - an unknown region is reported at aws:region
        partition = None
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for path, arn in spec.kms_key_arns():
        parts = arn.split(":")
        key_partition, key_region = parts[1], parts[3]
        if key_region != region:
            problems.append(
                (
                    path,
                    f"KMS key {arn!r} is in {key_region}, but the stack deploys to {region} (aws:region) and AWS "
                    f"services use keys of their own region only: give a key in {region} (for a multi-Region key, "
                    f"the ARN of its replica in {region})",
                )
            )
        elif partition and key_partition != partition:
            problems.append((path, f"KMS key {arn!r} is in partition {key_partition}, but {region} is in {partition}: write arn:{partition}:kms:..."))
    return problems
