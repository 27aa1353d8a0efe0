"""Model cards: the spec, content in SageMaker's documented schema, the ModelCard each model's
registry creates, and `mlstack card` offline."""

from __future__ import annotations

import json

import pytest

from mlstack.cards import card_content, card_schema, content_problems, evaluation_details
from mlstack.specs.card import ModelCardSpec

CARD = {
    "owner": "churn-ml@example.com",
    "intendedUses": "Rank subscribers by churn risk.",
    "outOfScopeUses": "Credit decisions.",
    "riskRating": "Medium",
    "ethicalConsiderations": "Tenure correlates with age.",
    "caveats": "Retrain after pricing changes.",
}
MODEL_CARD = "aws:sagemaker/modelCard:ModelCard"


def card(**changes):
    return ModelCardSpec.model_validate({**CARD, **changes})


@pytest.fixture(scope="module")
def prod_plan():
    from mlstack.engine import plan_stack
    from conftest import ROOT

    return plan_stack("churn-prod", cwd=ROOT)


# --- the schema ------------------------------------------------------------------------------


def test_bundled_schema_is_the_documented_model_package_card_schema():
    schema = card_schema()
    assert schema["title"] == "SageMakerModelCardSchema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "model_overview", "intended_uses", "business_details", "training_details", "evaluation_details", "additional_information",
    }
    assert schema["definitions"]["risk_rating"]["enum"] == ["High", "Medium", "Low", "Unknown"]


def test_spec_bounds_are_the_schemas():
    props = card_schema()["properties"]
    fields = ModelCardSpec.model_fields
    limit = {f: next(m.max_length for m in fields[f].metadata if hasattr(m, "max_length")) for f in ("intended_uses", "ethical_considerations", "caveats", "out_of_scope_uses", "owner")}
    assert limit["intended_uses"] == props["intended_uses"]["properties"]["intended_uses"]["maxLength"]
    assert limit["ethical_considerations"] == props["additional_information"]["properties"]["ethical_considerations"]["maxLength"]
    assert limit["caveats"] == props["additional_information"]["properties"]["caveats_and_recommendations"]["maxLength"]
    assert limit["out_of_scope_uses"] == card_schema()["definitions"]["custom_property"]["maxLength"]
    assert limit["owner"] == props["model_overview"]["properties"]["model_creator"]["maxLength"]


@pytest.mark.parametrize(
    "content, needle",
    [
        ({"model_overview": {"model_name": "x"}}, "model_overview: Additional properties are not allowed ('model_name'"),
        ({"intended_uses": {"risk_rating": "Severe"}}, "intended_uses.risk_rating: 'Severe' is not one of"),
        ({"additional_information": {"custom_details": {"a": "x" * 1025}}}, "additional_information.custom_details.a: "),
        ({"evaluation_details": [{"metric_groups": []}]}, "evaluation_details[0]: 'name' is a required property"),
        ({"out_of_scope": "x"}, "(content): Additional properties are not allowed"),
    ],
)
def test_content_that_breaks_the_schema_is_named_by_path(content, needle):
    problems = content_problems(content)
    assert any(needle in p for p in problems), problems


def test_card_content_is_valid_and_carries_every_field():
    content = card_content(card(riskExplanation="why"), group="churn-churn-xgb", purpose="churn in 30 days", datasets=["s3://d/"])
    assert content_problems(content) == []
    assert content["intended_uses"] == {
        "intended_uses": CARD["intendedUses"], "risk_rating": "Medium", "purpose_of_model": "churn in 30 days", "explanations_for_risk_rating": "why",
    }
    info = content["additional_information"]
    assert info["ethical_considerations"] == CARD["ethicalConsiderations"]
    assert info["caveats_and_recommendations"] == CARD["caveats"]
    assert info["custom_details"] == {"owner": CARD["owner"], "out_of_scope_uses": CARD["outOfScopeUses"], "model_package_group": "churn-churn-xgb"}
    assert content["training_details"]["training_job_details"]["training_datasets"] == ["s3://d/"]


def test_evaluation_details_of_an_approval_validate():
    evaluation = evaluation_details(
        name="mlstack promote v3", observation="ok", metrics={"auc": 0.86}, gates=[{"name": "auc >= 0.8", "passed": True, "notes": "meets"}],
        metadata={"decision": "Approved"}, datasets=["s3://r/report.json"],
    )
    content = card_content(card(), group="g", evaluation=evaluation)
    groups = {g["name"]: g["metric_data"] for g in content["evaluation_details"][0]["metric_groups"]}
    assert groups["metrics"] == [{"name": "auc", "type": "number", "value": 0.86}]
    assert groups["promotion gates"][0]["value"] is True


def test_a_dataset_uri_too_long_for_the_schema_is_refused():
    from mlstack.cards import CardContentError

    with pytest.raises(CardContentError, match=r"training_datasets\[0\]"):
        card_content(card(), group="g", datasets=["s3://b/" + "k" * 1100])


# --- the spec, in a stack file ---------------------------------------------------------------


@pytest.mark.parametrize(
    "change, drop, needle",
    [
        ({}, "riskRating", "mlstack:models[0].card.riskRating: required key is missing"),
        ({}, "outOfScopeUses", "mlstack:models[0].card.outOfScopeUses: required key is missing"),
        ({"riskRating": "Severe"}, None, "mlstack:models[0].card.riskRating: Input should be 'High', 'Medium', 'Low' or 'Unknown'"),
        ({"riskRating": "High"}, None, "riskRating High needs riskExplanation"),
        ({"caveats": "x" * 2049}, None, "mlstack:models[0].card.caveats: String should have at most 2048 characters"),
        ({"intendedUse": "typo"}, None, "did you mean 'intendedUses'"),
        ({"status": "Archived"}, None, "mlstack:models[0].card.status"),
    ],
)
def test_bad_cards_are_refused_at_their_key(cli, write_stack, change, drop, needle):
    body = {**CARD, **change}
    if drop:
        body.pop(drop)
    path = write_stack({"mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "card": body}]})
    code, _, err = cli("card", str(path), "--model", "churn-xgb")
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


# --- the component ---------------------------------------------------------------------------


def test_each_carded_model_gets_a_kms_encrypted_model_card_named_like_its_group(prod_plan):
    (resource,) = prod_plan.by_type(MODEL_CARD)
    inputs = resource.inputs
    assert inputs["modelCardName"] == "churn-churn-xgb"
    assert inputs["modelCardStatus"] == "Draft"
    key = next(r for r in prod_plan.by_type("aws:kms/key:Key") if r.name == "churn-xgb-card-key")
    assert key.inputs["enableKeyRotation"] is True
    assert resource.parent == key.parent  # both children of the model's registry
    assert resource.parent.endswith("mlstack:index:ModelRegistry::churn-xgb")
    assert "kmsKeyId" in inputs["securityConfig"]
    content = json.loads(inputs["content"])
    assert content_problems(content) == []
    assert content["intended_uses"]["risk_rating"] == "Medium"
    assert inputs["tags"]["mlstack:model"] == "churn-xgb"


def test_no_card_no_model_card(plan):
    graph = plan("churn-dev")
    assert graph.by_type(MODEL_CARD) == []


# --- mlstack card, offline ------------------------------------------------------------------


def test_card_renders_markdown_html_and_json_from_the_stack_file(cli, tmp_path):
    code, out, _ = cli("card", "churn-prod", "--model", "churn-xgb")
    assert code == 0
    assert out.startswith("# Model card: churn-xgb\n")
    assert "| Out-of-scope uses | Credit, pricing or any decision about an individual without a person reviewing it. |" in out
    code, out, _ = cli("card", "churn-prod", "--model", "churn-xgb", "--format", "html")
    assert code == 0 and "<th>Risk rating</th><td>Medium</td>" in out
    code, out, _ = cli("card", "churn-prod", "--model", "churn-xgb", "--format", "json")
    data = json.loads(out)
    assert data["version"] is None and data["cardStatus"] == "Draft"
    assert content_problems(data["content"]) == []


def test_html_escapes_what_the_card_says(cli, write_stack):
    path = write_stack({"mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "card": {**CARD, "caveats": "<script>alert(1)</script>"}}]})
    code, out, _ = cli("card", str(path), "--model", "churn-xgb", "--format", "html")
    assert code == 0
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_card_refuses_an_unknown_model_and_a_model_without_a_card(cli):
    code, _, err = cli("card", "churn-prod", "--model", "churn-xgboost")
    assert code == 2 and "mlstack:models has no model 'churn-xgboost' (declared: churn-xgb)" in err
    code, _, err = cli("card", "churn-dev", "--model", "churn-xgb")
    assert code == 2 and "declares no card; add mlstack:models[0].card" in err


def test_card_output_never_overwrites_the_stack_file(cli, write_stack):
    path = write_stack({"mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "card": CARD}]})
    before = path.read_text()
    code, _, err = cli("card", str(path), "--model", "churn-xgb", "-o", str(path))
    assert code == 2 and path.read_text() == before


def test_every_version_the_pipeline_registers_carries_the_card(prod_plan):
    (pipeline,) = [r for r in prod_plan.by_type("aws:sagemaker/pipeline:Pipeline") if r.name == "churn-xgb-training-pipeline"]
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    (gates,) = [s for s in definition["Steps"] if s["Type"] == "Condition"]
    (register,) = [s for s in gates["Arguments"]["IfSteps"] if s["Type"] == "RegisterModel"]
    card = register["Arguments"]["ModelCard"]
    assert card["ModelCardStatus"] == "Draft"
    content = json.loads(card["ModelCardContent"])
    assert content_problems(content) == []
    assert content["intended_uses"]["purpose_of_model"] == "Probability that a subscriber cancels within 30 days"
    assert content["training_details"]["training_job_details"]["training_datasets"] == ["s3://example-churn-data/features/v3/"]
    assert content["additional_information"]["custom_details"]["model_package_group"] == "churn-churn-xgb"
