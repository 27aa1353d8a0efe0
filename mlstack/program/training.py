"""``mlstack:featureGroups`` -> one :class:`~mlstack.components.FeatureStore`;
``mlstack:models[].training`` -> a :class:`~mlstack.components.TrainingPipeline` per model, fed by
the model's registry and, with ``training.featureGroup``, by the feature store."""

from __future__ import annotations

from typing import Any

from ..components import FeatureStore, FeatureStoreArgs, TrainingPipeline, TrainingPipelineArgs
from ..components.training import require_sdk
from ..engine.declared import declare
from .context import StackContext, entry

__all__ = ["feature_store_and_pipelines_from_spec", "require_pipeline_sdk"]


def require_pipeline_sdk(spec: Any) -> None:
    """Stop a stack whose models declare ``training`` when the sagemaker SDK that builds their
    pipeline definitions is not installed (:func:`mlstack.program.build` calls it before
    registering anything, so a deployment never stops half-way for it)."""
    where = [(f"mlstack:models[{i}].training", f"model {m.name!r}") for i, m in enumerate(spec.models) if m.training is not None]
    if where:
        require_sdk(where)


def feature_store_and_pipelines_from_spec(ctx: StackContext, team: Any) -> None:
    """Build the stack's FeatureStore (mlstack:featureGroups) and a TrainingPipeline for every
    model with ``training``, into ``team.feature_store``, ``team.feature_groups`` and
    ``team.pipelines``. Called by :func:`mlstack.program.build` after the registries."""
    spec = ctx.spec
    store = None
    if spec.feature_groups:
        with entry("mlstack:featureGroups"):
            store = FeatureStore(
                "feature-store",
                FeatureStoreArgs(name_prefix=spec.team, groups=list(spec.feature_groups), tags=ctx.lineage.tags()),
                opts=ctx.options(),
            )
        declare(store, "mlstack:featureGroups")
        team.feature_store = store
        team.feature_groups = dict(store.groups)
    for i, model in enumerate(spec.models):
        training = model.training
        if training is None:
            continue
        dataset = model.dataset
        dataset_version = (dataset.version if dataset else None) or "unversioned"
        if training.feature_group:
            dataset_version = "feature-group:" + training.feature_group
        with entry(f"mlstack:models[{i}].training"):
            team.pipelines[model.name] = TrainingPipeline(
                f"{model.name}-training",
                TrainingPipelineArgs(
                    model=model.name,
                    training=training,
                    registry=team.registries[model.name],
                    gates=list(model.gates),
                    card=model.card,
                    feature_store=store if training.feature_group else None,
                    input_uri=dataset.uri if dataset and not training.input and not training.feature_group else None,
                    dataset_version=dataset_version,
                    git_commit=ctx.lineage.git_commit,
                    tracking_server_arn=team.tracking.arn if getattr(team, "tracking", None) is not None else None,
                    tags=ctx.lineage.tags(
                        model=model.name,
                        dataset=training.input or (dataset.uri if dataset and not training.feature_group else None),
                        dataset_version=dataset_version,
                    ),
                ),
                opts=ctx.options(),
            )
        declare(team.pipelines[model.name], f"mlstack:models[{i}].training")
