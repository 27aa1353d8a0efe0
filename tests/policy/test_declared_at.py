"""Violations point at what the user wrote: the program says which stack-file entry each component
came from (mlstack/engine/declared.py), the plan carries it, and ``mlstack check`` shows the entry
and its line under every violation of the component or of a resource under it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from conftest import ROOT
from mlstack.config import load_stack
from mlstack.engine import Plan, ResourceRecord
from mlstack.engine.declared import declare, declaring_entry, key_parts, recording
from mlstack.policy.check import Declared, check_plan

from .cases import GATES, MONITORING, VPC

BAD = "tests/data/Pulumi.bad-prod.yaml"


def test_the_program_records_the_entry_of_every_component_it_builds(plan):
    churn = plan("churn-prod")
    by_type = {churn.get(urn).type: key for urn, key in churn.declared_at.items()}
    assert by_type == {
        "mlstack:index:ModelRegistry": "mlstack:models[0]",
        "mlstack:index:FeatureStore": "mlstack:featureGroups",
        "mlstack:index:TrainingPipeline": "mlstack:models[0].training",
        "mlstack:index:Endpoint": "mlstack:endpoints[0]",
        "mlstack:index:Monitor": "mlstack:monitors[0]",
        "mlstack:index:AuditLog": "mlstack:audit",
    }
    vision = plan("vision-prod")
    assert "mlstack:index:InferenceService" in {vision.get(urn).type for urn in vision.declared_at}
    # Nothing is added to the resources themselves: the plan JSON keeps its shape, plus the map.
    assert churn.to_json()["declaredAt"] == churn.declared_at


def test_declare_does_nothing_unless_the_offline_engine_listens():
    class Unresolvable:
        @property
        def urn(self):
            raise AssertionError("declare must not touch the component under pulumi up")

    declare(Unresolvable(), "mlstack:endpoints[0]")
    with recording() as found, pytest.raises(ValueError, match="not a stack-file key path"):
        declare(Unresolvable(), "endpoints[0]")
    assert found == {}


def test_key_paths_map_to_the_line_map_and_children_inherit_their_components_entry():
    assert key_parts("mlstack:models[1].training") == ("mlstack:models", 1, "training")
    parents = {"child": "component", "component": None, "grandchild": "child", "loose": None}
    declared = {"component": "mlstack:endpoints[2]"}
    assert declaring_entry("grandchild", declared, parents) == ("component", "mlstack:endpoints[2]")
    assert declaring_entry("loose", declared, parents) is None


def _record(urn: str, parent: str | None = None, **inputs) -> ResourceRecord:
    type_ = urn.split("::")[2].rsplit("$", 1)[-1]
    return ResourceRecord(urn=urn, type=type_, name=urn.rsplit("::", 1)[-1], parent=parent, dependencies=[], custom=parent is not None, inputs=inputs)


def test_a_violation_of_a_resource_no_entry_declared_has_no_declared_at():
    component = "urn:pulumi:bad-prod::mlstack::mlstack:index:Store::store"
    declared_bucket = "urn:pulumi:bad-prod::mlstack::mlstack:index:Store$aws:s3/bucket:Bucket::data"
    loose_bucket = "urn:pulumi:bad-prod::mlstack::aws:s3/bucket:Bucket::loose"
    plan = Plan(
        project="mlstack",
        stack="bad-prod",
        resources=[_record(component), _record(declared_bucket, component, bucket="data"), _record(loose_bucket, None, bucket="loose")],
        declared_at={component: "mlstack:featureGroups"},
    )
    stack_file = SimpleNamespace(path=ROOT / BAD, lines={("config", "mlstack:featureGroups"): 30}, project_name="mlstack")
    report = check_plan(plan, stack_tags={"mlstack:environment": "dev"}, stack_file=stack_file)
    by_name = {v.resource_name: v.declared_at for v in report.violations if v.policy == "mlstack-s3-bucket-blocks-public-access"}
    assert by_name == {"data": Declared("mlstack:featureGroups", BAD, 30), "loose": None}
    assert str(by_name["data"]) == f"{BAD}:30 mlstack:featureGroups"
    # Without the stack file the entry is still named, without a place.
    bare = check_plan(plan, stack_tags={"mlstack:environment": "dev"})
    assert {str(v.declared_at) for v in bare.violations if v.resource_name == "data"} == {"mlstack:featureGroups"}


def test_check_of_the_bad_stack_names_the_entry_and_line_under_every_violation(cli, tmp_path):
    report = tmp_path / "report.json"
    code, out, _ = cli("check", BAD, "--json", str(report))
    assert code == 1
    lines = load_stack(ROOT / BAD).lines
    entry = {"file": BAD, "line": lines[("config", "mlstack:endpoints", 0)], "key": "mlstack:endpoints[0]"}
    assert entry["line"] == 13  # `- name: scoring`
    violations = json.loads(report.read_text())["violations"]
    assert violations and all(v["declaredAt"] == entry for v in violations)
    blocks = out.split("\n\n")[:-1]
    assert len(blocks) == len(violations)
    for block in blocks:
        assert block.splitlines()[2] == f"  declared at: {BAD}:13 mlstack:endpoints[0]", block


def test_github_annotations_carry_the_line_of_the_entry(cli):
    code, out, _ = cli("check", BAD, "--format", "github")
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations and all(line.startswith(f"::error file={BAD},line=13,title=") for line in annotations)
    assert all(line.endswith("%0Adeclared at: mlstack:endpoints[0]") for line in annotations)


def _churn_prod_breaking_one_rule_per_entry(config: dict) -> None:
    """churn-prod with one policy broken in each of three entries (each value still validates)."""
    config["mlstack:registry"]["approvalMode"] = "automatic"  # the registry of models[0] -> gates
    config["mlstack:models"][0]["training"]["networkIsolation"] = False  # models[0].training -> VPC
    config["mlstack:monitors"][0]["alarms"]["errors5xxPercent"] = 100  # a Monitor alarm that cannot fire -> monitors[0]


def test_violations_in_different_entries_point_at_their_own_lines(cli, tmp_path):
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.churn-prod.yaml").read_text())
    _churn_prod_breaking_one_rule_per_entry(document["config"])
    path = tmp_path / "Pulumi.churn-prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    report = tmp_path / "report.json"
    code, out, err = cli("check", str(path), "--json", str(report))
    lines = load_stack(path).lines
    line = {
        "mlstack:models[0]": lines[("config", "mlstack:models", 0)],
        "mlstack:models[0].training": lines[("config", "mlstack:models", 0, "training")],
        "mlstack:monitors[0]": lines[("config", "mlstack:monitors", 0)],
    }
    assert len(set(line.values())) == 3
    found = {(v["policy"], v["declaredAt"]["key"], v["declaredAt"]["line"]) for v in json.loads(report.read_text())["violations"]}
    assert (GATES, "mlstack:models[0]", line["mlstack:models[0]"]) in found, (out, err)
    assert (VPC, "mlstack:models[0].training", line["mlstack:models[0].training"]) in found
    assert (MONITORING, "mlstack:monitors[0]", line["mlstack:monitors[0]"]) in found
    assert f"declared at: {path}:{line['mlstack:monitors[0]']} mlstack:monitors[0]" in out
