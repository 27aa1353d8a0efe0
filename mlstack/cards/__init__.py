"""Model cards: content in SageMaker's documented schema (:mod:`.content`), for humans (:mod:`.render`).

The model's card (``mlstack:models[].card``) becomes a KMS-encrypted SageMaker Model Card created
with its :class:`~mlstack.components.ModelRegistry`; ``mlstack promote`` writes the same card,
with the evaluation and gate results, onto each version it approves (:mod:`mlstack.ops.cards`);
``mlstack card`` renders either. Nothing here imports Pulumi or boto3.
"""

from .content import CardContentError, card_content, card_schema, content_problems, evaluation_details

__all__ = ["CardContentError", "card_content", "card_schema", "content_problems", "evaluation_details", "model_datasets"]


def model_datasets(model: object) -> list[str]:
    """The data a model (:class:`~mlstack.specs.stack.ModelSpec`) is trained on, as the card lists it."""
    training = getattr(model, "training", None)
    dataset = getattr(model, "dataset", None)
    found = []
    if training is not None and training.input:
        found.append(training.input)
    if training is not None and training.feature_group:
        found.append(f"feature group {training.feature_group}")
    if dataset is not None and dataset.uri not in found:
        found.append(dataset.uri)
    return found
