"""``mlstack:models`` -> one :class:`~mlstack.components.ModelRegistry` per model, with the
registry settings (``mlstack:registry``, per model ``registry``) and the model's lineage tags."""

from __future__ import annotations

from ..cards import model_datasets
from ..components import ModelRegistry, ModelRegistryArgs
from ..engine.declared import declare
from .context import StackContext, entry

__all__ = ["registries_from_spec"]


def registries_from_spec(ctx: StackContext) -> dict[str, ModelRegistry]:
    """A ModelRegistry per model of ``ctx.spec.models``, by model name; none for a model whose
    ``source.registry`` is another account's group (that account's stack creates it)."""
    spec = ctx.spec
    registries: dict[str, ModelRegistry] = {}
    for i, model in enumerate(spec.models):
        if model.source_registry is not None:
            continue
        settings = spec.registry_for(model.name)
        dataset = model.dataset
        with entry(f"mlstack:models[{i}]"):
            registries[model.name] = ModelRegistry(
                model.name,
                ModelRegistryArgs(
                    group_name=spec.group_name(model.name),
                    description=model.description,
                    approval_mode=settings.approval_mode,
                    cross_account_readers=settings.cross_account_readers,
                    card=model.card,
                    card_datasets=model_datasets(model) if model.card else [],
                    tags=ctx.lineage.tags(
                        model=model.name,
                        dataset=dataset.uri if dataset else None,
                        dataset_version=dataset.version if dataset else None,
                        extra={"mlstack:source": model.source} if model.source else None,
                    ),
                ),
                opts=ctx.options(),
            )
        declare(registries[model.name], f"mlstack:models[{i}]")
    return registries
