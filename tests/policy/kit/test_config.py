"""The pack's config: defaults applied and overrides merged as the Pulumi CLI does, and bad
config rejected with every problem at once."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mlstack.errors import ConfigError, UsageError
from mlstack.policy import POLICIES, config_schema, load_config_file, reconcile
from mlstack.policy.rules.instance_types_within_limits import DEFAULT_MAX_GPUS

ROOT = Path(__file__).resolve().parents[3]
INSTANCES = "mlstack-instance-types-within-limits"
VPC = "mlstack-sagemaker-runs-in-vpc"


def problems(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        reconcile(POLICIES, config)
    return [p.render() for p in info.value.problems]


def test_defaults_come_from_each_policys_level_and_schema():
    settings = reconcile(POLICIES)
    assert settings[VPC].level == "mandatory"
    # Advisory by design: a stack without ground truth is told, not blocked (issue 13); the list of
    # waivers only reports. Every other policy is mandatory by default.
    assert {n: s.level for n, s in settings.items() if s.level != "mandatory"} == {
        "mlstack-endpoint-declares-ground-truth": "advisory",
        "mlstack-waivers-reported": "advisory",
    }
    assert settings[INSTANCES].properties["maxGpusPerEndpoint"] == DEFAULT_MAX_GPUS
    assert settings[VPC].properties["environments"] == ["prod"]


def test_defaults_are_stricter_towards_prod():
    settings = reconcile(POLICIES)
    applies = {env: {n for n, s in settings.items() if env in s.properties["environments"]} for env in ("dev", "staging", "prod")}
    assert applies["dev"] < applies["staging"] < applies["prod"] == set(settings)
    caps = settings[INSTANCES].properties["maxGpusPerEndpoint"]
    assert caps["dev"] < caps["staging"] < caps["prod"]


def test_all_then_policy_levels_then_properties_replace_defaults_whole():
    settings = reconcile(POLICIES, {"all": "advisory", VPC: "mandatory", INSTANCES: {"maxGpusPerEndpoint": {"dev": 1, "staging": 2, "prod": 3}}})
    assert settings[VPC].level == "mandatory"
    assert settings[INSTANCES].level == "advisory"
    assert settings[INSTANCES].properties["maxGpusPerEndpoint"] == {"dev": 1, "staging": 2, "prod": 3}
    assert settings[INSTANCES].properties["environments"] == ["dev", "staging", "prod"]  # untouched default


def test_defaults_are_not_shared_between_runs():
    first = reconcile(POLICIES)
    first[INSTANCES].properties["maxGpusPerEndpoint"]["dev"] = 999
    assert reconcile(POLICIES)[INSTANCES].properties["maxGpusPerEndpoint"]["dev"] == DEFAULT_MAX_GPUS["dev"]


def test_rejects_bad_config_naming_every_problem():
    found = problems(
        {
            "mlstack-instance-type-within-limits": "mandatory",
            VPC: {"enforcementLevel": "strict"},
            INSTANCES: {"maxGpusPerEndpoint": {"dev": 2}, "maxGpu": 3, "environments": ["production"]},
            "mlstack-image-pinned-by-digest": {"enforcementLevel": "remediate"},
            "all": {"enforcementLevel": "advisory", "environments": ["dev"]},
        }
    )
    text = "\n".join(found)
    assert "mlstack-instance-type-within-limits: is not a policy of this pack; did you mean 'mlstack-instance-types-within-limits'?" in text
    assert f"{VPC}.enforcementLevel: is not an enforcement level (got 'strict')" in text
    assert "mlstack-image-pinned-by-digest.enforcementLevel" in text and "use mandatory" in text
    assert f"{INSTANCES}.maxGpusPerEndpoint: 'staging' is a required property" in text
    assert f"{INSTANCES}.maxGpu: is not a setting of this policy; did you mean 'maxGpusPerEndpoint'?" in text
    assert f"{INSTANCES}.environments[0]: 'production' is not one of" in text
    assert "all: only sets enforcementLevel" in text


@pytest.mark.parametrize(
    "config, where",
    [
        ({INSTANCES: {"maxGpusPerEndpoint": {"dev": -1, "staging": 1, "prod": 1}}}, "maxGpusPerEndpoint.dev"),
        ({INSTANCES: {"deniedInstanceTypes": {"dev": "ml.p5.*", "staging": [], "prod": []}}}, "deniedInstanceTypes.dev"),
        ({"mlstack-pipeline-gates-registration": {"requireGates": {"dev": "yes", "staging": True, "prod": True}}}, "requireGates.dev"),
        ({"mlstack-model-lineage-complete": {"externalRegistries": [""]}}, "externalRegistries[0]"),
        ({VPC: 3}, VPC),
        ({VPC: {"environments": ["prod", "prod"]}}, "environments"),
    ],
)
def test_schema_rejects_values_of_the_wrong_shape(config, where):
    assert any(where in p for p in problems(config))


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"all": "advisory",\n "x": }')
    with pytest.raises(ConfigError) as info:
        load_config_file(bad)
    assert info.value.problems[0].line == 2 and "not valid JSON" in info.value.render()
    listing = tmp_path / "list.json"
    listing.write_text("[]")
    with pytest.raises(ConfigError):
        load_config_file(listing)
    with pytest.raises(UsageError):
        load_config_file(tmp_path / "missing.json")
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    assert load_config_file(empty) == {}


def test_example_config_and_the_file_schema_agree():
    example = load_config_file(ROOT / "policies" / "config.example.json")
    reconcile(POLICIES, example)
    schema = config_schema(POLICIES)
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(example, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"mlstack-nope": "advisory"}, schema)
    json.dumps(schema)
