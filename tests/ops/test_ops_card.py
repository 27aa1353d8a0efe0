"""`mlstack promote` writes the approved version's model card; `mlstack card --live` reads it.

moto accepts ``UpdateModelPackage(ModelCard=...)`` but neither stores nor returns it, so what
promote sent is recorded where the request reaches the server (moto's SageMaker response
handler), and reading a card back is tested on a canned DescribeModelPackage answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlstack.cards import content_problems

CARD = {
    "owner": "churn-ml@example.com",
    "intendedUses": "Rank subscribers by churn risk.",
    "outOfScopeUses": "Credit decisions.",
    "riskRating": "Medium",
    "ethicalConsiderations": "Tenure correlates with age.",
    "caveats": "Retrain after pricing changes.",
}


@pytest.fixture
def sent_cards(monkeypatch: pytest.MonkeyPatch, aws_endpoint: str) -> list[Any]:
    """The ModelCard parameter of every UpdateModelPackage the test endpoint received."""
    import os

    if os.environ.get("MLSTACK_TEST_AWS_ENDPOINT"):
        pytest.skip("records requests inside the in-process moto server only")
    from moto.sagemaker.responses import SageMakerResponse

    sent: list[Any] = []
    original = SageMakerResponse.update_model_package

    def recording(self):  # type: ignore[no-untyped-def]
        sent.append(self._get_param("ModelCard"))
        return original(self)

    monkeypatch.setattr(SageMakerResponse, "update_model_package", recording)
    return sent


def carded(ops_stack, **card):
    return ops_stack(**{"mlstack:models": [{
        "name": "churn-xgb",
        "description": "Churn within 30 days",
        "dataset": {"uri": "s3://example-churn-data/features/", "version": "v3"},
        "gates": [{"metric": "accuracy", "op": ">=", "threshold": "last-approved"}, {"metric": "bias_delta", "op": "<=", "threshold": 0.01}],
        "card": {**CARD, **card},
    }]})


def test_promote_writes_the_card_with_metrics_and_gate_results_in_the_approving_call(aws, cli, ops_stack, registry, sent_cards):
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, status="Approved")
    candidate = registry.version(
        metrics={"accuracy": 0.92, "bias_delta": 0.004}, shape="pipeline",
        metadata={"mlstack:training-job": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-train-1", "mlstack:dataset": "s3://example-churn-data/features/"},
    )

    code, out, err = cli("promote", str(carded(ops_stack)), "--model", "churn-xgb")

    assert (code, err) == (0, ""), out
    assert registry.describe(candidate)["ModelApprovalStatus"] == "Approved"
    (card,) = sent_cards
    assert card["ModelCardStatus"] == "Draft"
    content = json.loads(card["ModelCardContent"])
    assert content_problems(content) == []
    assert content["intended_uses"]["intended_uses"] == CARD["intendedUses"]
    assert content["additional_information"]["custom_details"]["out_of_scope_uses"] == CARD["outOfScopeUses"]
    assert content["training_details"]["training_job_details"]["training_arn"].endswith("training-job/churn-train-1")
    assert content["model_overview"]["model_artifact"] == ["s3://m/model.tar.gz"]
    (evaluation,) = content["evaluation_details"]
    assert evaluation["name"] == "mlstack promote v2"
    assert evaluation["metadata"]["decision"] == "Approved"
    assert evaluation["metadata"]["baseline"].endswith("model-package/churn-churn-xgb/1")
    groups = {g["name"]: g["metric_data"] for g in evaluation["metric_groups"]}
    assert {m["name"]: m["value"] for m in groups["metrics"]} == {"accuracy": 0.92, "bias_delta": 0.004}
    assert [(m["name"], m["value"]) for m in groups["promotion gates"]] == [("accuracy >= last approved", True), ("bias_delta <= 0.01", True)]


def test_a_rejection_writes_no_card(aws, cli, ops_stack, registry, sent_cards):
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, status="Approved")
    registry.version(metrics={"accuracy": 0.80, "bias_delta": 0.004})

    code, _, _ = cli("promote", str(carded(ops_stack)), "--model", "churn-xgb")

    assert code == 1
    assert sent_cards == [None]  # the rejection was written, without a card


def test_a_model_without_a_card_is_approved_without_one(aws, cli, ops_stack, registry, sent_cards):
    registry.group()
    registry.version(metrics={"accuracy": 0.92, "bias_delta": 0.004})
    code, _, _ = cli("promote", str(ops_stack()), "--model", "churn-xgb")
    assert code == 0 and sent_cards == [None]


def test_registry_records_that_break_the_card_schema_stop_promote_before_any_change(aws, cli, ops_stack, registry, sent_cards):
    registry.group()
    candidate = registry.version(
        metrics={"accuracy": 0.92, "bias_delta": 0.004}, shape="pipeline",
        metadata={"mlstack:training-job": "arn:aws:sagemaker:us-east-1:123456789012:training-job/" + "x" * 1100},
    )

    code, _, err = cli("promote", str(carded(ops_stack)), "--model", "churn-xgb")

    assert code == 1
    assert "would not fit SageMaker's model card schema" in err and "training_arn" in err
    assert sent_cards == []
    assert registry.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"


def test_card_live_shows_the_version_and_notes_a_version_without_its_own_card(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, status="Approved")
    code, out, err = cli("card", str(carded(ops_stack)), "--model", "churn-xgb", "--live", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert (data["version"], data["approvalStatus"]) == (1, "Approved")
    assert any("carries no card of its own" in n for n in data["notes"])


def test_card_live_refuses_an_unknown_version(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, status="Approved")
    code, _, err = cli("card", str(carded(ops_stack)), "--model", "churn-xgb", "--version", "9")
    assert code == 2 and "churn-churn-xgb has no version 9" in err


def _package(card: Any) -> dict[str, Any]:
    return {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-churn-xgb/3",
        "ModelPackageGroupName": "churn-churn-xgb",
        "ModelPackageVersion": 3,
        "ModelApprovalStatus": "Approved",
        "ModelCard": card,
    }


def test_a_version_card_read_back_is_shown_as_written():
    from mlstack.ops.cards import version_card_content

    content = {"intended_uses": {"risk_rating": "Low"}}
    assert version_card_content(_package({"ModelCardContent": json.dumps(content), "ModelCardStatus": "Approved"})) == (content, "Approved")


@pytest.mark.parametrize(
    "card, needle",
    [
        ({"ModelCardContent": "{not json"}, "is not JSON"),
        ({"ModelCardContent": "[]"}, "is not a JSON object"),
        ({"ModelCardContent": json.dumps({"intended_uses": {"risk_rating": "Negligible"}})}, "breaks SageMaker's model card schema"),
        ({"ModelCardStatus": "Draft"}, "without its content as text"),
        ("card", "without its content as text"),
    ],
)
def test_a_registry_card_that_is_not_a_valid_card_is_an_error(card, needle):
    from mlstack.ops.aws import OpsError
    from mlstack.ops.cards import version_card_content

    with pytest.raises(OpsError, match=needle):
        version_card_content(_package(card))
