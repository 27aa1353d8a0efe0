"""Model card content in SageMaker's documented JSON schema, and its validation.

Where the schema comes from: ``model_package_card.schema.json`` beside this module is the "model
package model card schema" AWS publishes in the SageMaker Developer Guide, page "Update the
Details of a Model" (awsdocs/amazon-sagemaker-developer-guide, ``doc_source/model-registry-details.md``,
section "Model package model card schema (Studio)"), copied verbatim. botocore points at that
page for ``ModelPackageModelCard.ModelCardContent`` ("The content must follow the schema described
in Model Package Model Card Schema") and describes the shape as the schema of ``ModelCard``
simplified: no ``model_package_details``, and ``model_overview`` reduced to ``model_creator`` and
``model_artifact``. So mlstack writes only fields of that simplified schema, both to the model's
own card (``aws.sagemaker.ModelCard``, ``CreateModelCard``) and to each approved version's card
(``UpdateModelPackage(ModelCard=...)``), and validates every content it writes against it.

Two quirks of the published text, kept as published: ``maxContains`` without ``contains`` (no
effect in JSON Schema) and ``training_details.objective_function`` listing its fields without a
``properties`` keyword (so any value passes there; mlstack does not write that field). On top of
the schema, botocore bounds the whole content to 100,000 characters (shape ``ModelCardContent``).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Iterable, Mapping, Optional

from ..specs.card import ModelCardSpec

__all__ = [
    "SCHEMA_FILE",
    "MAX_CONTENT_CHARS",
    "card_schema",
    "content_problems",
    "card_content",
    "evaluation_details",
    "CardContentError",
]

SCHEMA_FILE = "model_package_card.schema.json"
#: botocore: ModelCardContent max 100000 (CreateModelCard Content and ModelPackageModelCard).
MAX_CONTENT_CHARS = 100_000


class CardContentError(ValueError):
    """Content that SageMaker's model card schema refuses; ``problems`` name each path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@functools.cache
def card_schema() -> dict[str, Any]:
    """SageMaker's model package model card schema (see the module docstring for its source)."""
    text = resources.files("mlstack.cards").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = card_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def content_problems(content: Mapping[str, Any]) -> list[str]:
    """Every way ``content`` breaks SageMaker's model card schema, each as ``path: message``."""
    problems = []
    for error in sorted(_validator().iter_errors(content), key=lambda e: [str(p) for p in e.absolute_path]):
        path = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(error.absolute_path))
        problems.append(f"{path or '(content)'}: {error.message}")
    size = len(json.dumps(content))
    if size > MAX_CONTENT_CHARS:
        problems.append(f"(content): {size} characters as JSON; SageMaker accepts at most {MAX_CONTENT_CHARS}")
    return problems


def _check(content: dict[str, Any]) -> dict[str, Any]:
    problems = content_problems(content)
    if problems:
        raise CardContentError(problems)
    return content


def card_content(
    card: ModelCardSpec,
    *,
    group: str,
    purpose: Optional[str] = None,
    datasets: Iterable[str] = (),
    artifacts: Iterable[str] = (),
    training_job: Optional[str] = None,
    evaluation: Optional[list[dict[str, Any]]] = None,
) -> dict[str, Any]:
    """The card of the model whose registry group is ``group`` as SageMaker model card content,
    validated against the schema.

    ``evaluation`` is ``evaluation_details`` (see :func:`evaluation_details`), given for an
    approved version; the model's own card has none."""
    overview: dict[str, Any] = {"model_creator": card.owner}
    artifacts = [a for a in artifacts if a]
    if artifacts:
        overview["model_artifact"] = artifacts
    intended: dict[str, Any] = {"intended_uses": card.intended_uses, "risk_rating": card.risk_rating}
    if purpose:
        intended["purpose_of_model"] = purpose
    if card.risk_explanation:
        intended["explanations_for_risk_rating"] = card.risk_explanation
    content: dict[str, Any] = {"model_overview": overview, "intended_uses": intended}
    job: dict[str, Any] = {}
    datasets = [d for d in datasets if d]
    if datasets:
        job["training_datasets"] = datasets
    if training_job:
        job["training_arn"] = training_job
    if job:
        content["training_details"] = {"training_job_details": job}
    if evaluation:
        content["evaluation_details"] = evaluation
    content["additional_information"] = {
        "ethical_considerations": card.ethical_considerations,
        "caveats_and_recommendations": card.caveats,
        "custom_details": {
            "owner": card.owner,
            "out_of_scope_uses": card.out_of_scope_uses,
            "model_package_group": group,
        },
    }
    return _check(content)


def evaluation_details(
    *,
    name: str,
    observation: str,
    metrics: Mapping[str, float],
    gates: list[Mapping[str, Any]],
    metadata: Mapping[str, str],
    datasets: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """``evaluation_details`` of an approved version: its metrics, each gate's verdict and value,
    and where they come from (``metadata``: decision, baseline, who, when)."""
    evaluation: dict[str, Any] = {
        "name": name[:63],
        "evaluation_observation": observation[:2096],
        "metadata": {k[:255]: str(v)[:1024] for k, v in metadata.items()},
        "metric_groups": [],
    }
    datasets = [d[:1024] for d in datasets if d][:10]
    if datasets:
        evaluation["datasets"] = datasets
    if metrics:
        evaluation["metric_groups"].append(
            {"name": "metrics", "metric_data": [{"name": k[:255], "type": "number", "value": float(v)} for k, v in sorted(metrics.items())]}
        )
    if gates:
        evaluation["metric_groups"].append(
            {
                "name": "promotion gates",
                "metric_data": [
                    {"name": str(g["name"])[:255], "type": "boolean", "value": bool(g["passed"]), "notes": str(g["notes"])[:1024]}
                    for g in gates
                ],
            }
        )
    return [evaluation]
