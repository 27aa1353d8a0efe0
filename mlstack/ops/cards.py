"""The model card ``mlstack promote`` writes onto the version it approves, and the card
``mlstack card --live`` reads back.

A model package carries a card of its own (botocore ``ModelPackageModelCard``: ``ModelCardContent``
in the model package card schema, ``ModelCardStatus``), written with ``UpdateModelPackage`` in
the same call that approves the version, so the approval and its card cannot part. The content
is the model's card from the stack file (:mod:`mlstack.specs.card`) plus what the decision rests
on: the version's metrics, each gate's verdict, the baseline version, the stack and the time, its
training data, job and artifacts as the registry records them. It is validated against the
schema before anything is written (:mod:`mlstack.cards.content`).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Mapping, Optional

from ..cards import CardContentError, card_content, evaluation_details, model_datasets
from .aws import OpsError

__all__ = ["approved_version_card", "version_card_content", "DATASET_KEY", "TRAINING_JOB_KEY"]

DATASET_KEY = "mlstack:dataset"
TRAINING_JOB_KEY = "mlstack:training-job"


def approved_version_card(
    *,
    stack: str,
    spec: Any,
    model: Any,
    package: Mapping[str, Any],
    result: Any,
    metrics: Mapping[str, float],
    report: Optional[str],
    when: _dt.datetime,
) -> dict[str, Any]:
    """The ``ModelCard`` argument of ``UpdateModelPackage`` approving ``package`` (empty when the
    model declares no card). ``result`` is the :class:`~mlstack.ops.promote.PromotionResult`.

    Raises :class:`~mlstack.ops.aws.OpsError` (exit 1) when the registry's own records (dataset,
    job, artifacts) would make a card SageMaker refuses: nothing is written then."""
    if model.card is None:
        return {}
    metadata = package.get("CustomerMetadataProperties") or {}
    containers = ((package.get("InferenceSpecification") or {}).get("Containers")) or []
    artifacts = [c.get("ModelDataUrl") for c in containers if isinstance(c, Mapping) and isinstance(c.get("ModelDataUrl"), str)]
    datasets = [metadata[DATASET_KEY]] if isinstance(metadata.get(DATASET_KEY), str) else model_datasets(model)
    training_job = metadata.get(TRAINING_JOB_KEY) if isinstance(metadata.get(TRAINING_JOB_KEY), str) else None
    gates = [
        {"name": f"{r.gate.metric} {r.gate.op} {'last approved' if r.gate.relative else r.gate.threshold}", "passed": r.passed, "notes": r.reason}
        for r in result.results
    ]
    observation = f"Approved by mlstack promote: all {len(gates)} gates passed."
    if result.override:
        observation += " " + result.override
    decision = {
        "decision": str(result.decision),
        "stack": stack,
        "decided_at": when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "baseline": result.baseline_arn or "none (first Approved version)",
    }
    if report:
        decision["metrics_report"] = report
    # The metrics the model declares (gates, evaluation.metrics), not every number the report holds.
    declared = {g.metric for g in model.gates} | set(model.training.evaluation.metrics if model.training else ())
    shown = {name: value for name, value in metrics.items() if name in declared}
    group = spec.group_name(model.name)
    try:
        content = card_content(
            model.card,
            group=group,
            purpose=model.description,
            datasets=datasets,
            artifacts=artifacts,
            training_job=training_job,
            evaluation=evaluation_details(
                name=f"mlstack promote v{result.candidate_version}",
                observation=observation,
                metrics=shown,
                gates=gates,
                metadata=decision,
                datasets=[report] if report else [],
            ),
        )
    except CardContentError as exc:
        raise OpsError(
            f"the model card of {group} v{result.candidate_version} would not fit SageMaker's model card schema ({exc}); "
            "nothing was changed: fix the registry records named or the card in the stack file",
            exit_code=1,
        ) from None
    return {"ModelCard": {"ModelCardContent": json.dumps(content, sort_keys=True), "ModelCardStatus": model.card.status}}


def version_card_content(package: Mapping[str, Any]) -> Optional[tuple[dict[str, Any], str]]:
    """A described version's own card as (content, status), or None when it has none.

    Raises :class:`~mlstack.ops.aws.OpsError` when the registry answers a card that is not JSON
    or breaks the schema: a card shown to an auditor must be the one SageMaker would accept."""
    card = package.get("ModelCard")
    if card is None:
        return None
    label = package.get("ModelPackageArn", "the version")
    if not isinstance(card, Mapping) or not isinstance(card.get("ModelCardContent"), str):
        raise OpsError(f"SageMaker answered a model card for {label} without its content as text", exit_code=1)
    try:
        content = json.loads(card["ModelCardContent"])
    except ValueError as exc:
        raise OpsError(f"the model card of {label} is not JSON ({exc})", exit_code=1) from None
    if not isinstance(content, dict):
        raise OpsError(f"the model card of {label} is not a JSON object", exit_code=1)
    from ..cards import content_problems

    problems = content_problems(content)
    if problems:
        raise OpsError(f"the model card of {label} breaks SageMaker's model card schema: {'; '.join(problems[:5])}", exit_code=1)
    return content, str(card.get("ModelCardStatus") or "unknown")
