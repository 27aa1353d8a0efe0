"""`mlstack plan STACK --import-file FILE`: the file `pulumi import --file` reads.

The checks below port what the Pulumi CLI does with the file (pulumi/pulumi
``pkg/cmd/pulumi/operations/import.go``: the ``importFile``/``importSpec`` JSON fields,
``parseImportFile``'s rules, and the URN it computes for each entry with ``resource.NewURN``),
so a file that passes them is one the CLI accepts and that adopts each resource under the URN
the program registers.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from conftest import ROOT

from mlstack.engine.importfile import ADOPTABLE, import_file
from mlstack.errors import UsageError

#: importSpec's JSON fields (import.go).
SPEC_FIELDS = {"type", "name", "id", "parent", "provider", "version", "pluginDownloadUrl", "properties", "component", "remote", "logicalName"}


def pulumi_urns(document: dict, *, stack: str, project: str) -> dict[str, str]:
    """The URN of each entry as parseImportFile computes it; raises AssertionError on the errors it reports."""
    assert set(document) <= {"nameTable", "resources"}
    specs = document["resources"]
    names = [s.get("name") or s.get("logicalName") for s in specs]
    for spec in specs:
        assert set(spec) <= SPEC_FIELDS, sorted(set(spec) - SPEC_FIELDS)
        assert spec.get("type"), "has no type"
        assert spec.get("name") or spec.get("logicalName"), "has no name"
        if spec.get("component"):
            assert not spec.get("id"), "has an ID, but is marked as a component"
        else:
            assert spec.get("id"), "has no ID"
        assert not spec.get("remote") or spec.get("component")
    assert len(set(names)) == len(names), "ambiguous names"
    urns: dict[str, str] = {}
    pending = list(specs)
    while pending:
        progressed = False
        for spec in list(pending):
            parent = spec.get("parent")
            if parent:
                assert parent in names or parent in document.get("nameTable", {}), f"the parent {parent!r} has no entry"
                if parent not in urns:
                    continue
                parent_type = urns[parent].split("::")[2]
            else:
                parent_type = ""
            qualified = f"{parent_type}${spec['type']}" if parent_type else spec["type"]
            urn = f"urn:pulumi:{stack}::{project}::{qualified}::{spec.get('logicalName') or spec['name']}"
            assert urn not in urns.values(), f"{urn} is ambiguous"
            urns[spec["name"]] = urn
            pending.remove(spec)
            progressed = True
        assert progressed, "parents form a cycle"
    return urns


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    from mlstack.cli import main
    from mlstack.engine import plan_stack

    target = tmp_path_factory.mktemp("import") / "import.json"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["plan", "churn-prod", "--import-file", str(target)]) == 0
        plan = plan_stack("churn-prod", cwd=ROOT)
    finally:
        os.chdir(cwd)
    return json.loads(target.read_text()), plan


def test_import_file_has_pulumis_shape_and_adopts_under_the_programs_urns(adopted):
    document, plan = adopted
    urns = pulumi_urns(document, stack="churn-prod", project=plan.project)
    planned = {r.urn: r for r in plan.resources}
    assert set(urns.values()) <= set(planned)
    targets = {r.urn for r in plan.resources if r.type in ADOPTABLE}
    adopted_urns = {urns[s["name"]] for s in document["resources"] if not s.get("component")}
    assert adopted_urns == targets and len(targets) == 3
    for spec in document["resources"]:
        record = planned[urns[spec["name"]]]
        if spec.get("component"):
            assert not record.custom
        else:
            assert spec["id"] == record.inputs[ADOPTABLE[record.type]]
    ids = {s["type"]: s["id"] for s in document["resources"] if "id" in s}
    assert ids == {
        "aws:sagemaker/endpoint:Endpoint": "churn-scoring",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "churn-churn-xgb",
        "aws:sagemaker/featureGroup:FeatureGroup": "churn-customers",
    }


def _record(urn, type_, *, parent=None, custom=True, **inputs):
    return SimpleNamespace(urn=urn, type=type_, name=urn.rsplit("::", 1)[-1], parent=parent, custom=custom, inputs=inputs)


def test_names_shared_by_two_components_get_distinct_handles():
    base = "urn:pulumi:s-dev::p::"
    endpoint, monitor = base + "mlstack:index:Endpoint::scoring", base + "mlstack:index:Monitor::scoring"
    plan = SimpleNamespace(
        stack="s-dev",
        resources=[
            _record(endpoint, "mlstack:index:Endpoint", custom=False),
            _record(monitor, "mlstack:index:Monitor", custom=False),
            _record(base + "mlstack:index:Endpoint$aws:sagemaker/endpoint:Endpoint::scoring", "aws:sagemaker/endpoint:Endpoint", parent=endpoint, name="x"),
            _record(base + "mlstack:index:Monitor$aws:sagemaker/endpoint:Endpoint::scoring", "aws:sagemaker/endpoint:Endpoint", parent=monitor, name="y"),
        ],
    )
    document = import_file(plan)
    urns = pulumi_urns(document, stack="s-dev", project="p")
    assert sorted(urns.values()) == sorted(r.urn for r in plan.resources)


@pytest.mark.parametrize("name", [None, "", {"secret": "x"}, 7, "n" * 300])
def test_a_name_not_known_before_deployment_is_refused(name):
    plan = SimpleNamespace(stack="s-dev", resources=[_record("urn:pulumi:s-dev::p::aws:sagemaker/endpoint:Endpoint::e", "aws:sagemaker/endpoint:Endpoint", name=name)])
    with pytest.raises(UsageError, match="not known before deployment"):
        import_file(plan)


def test_a_stack_with_nothing_to_adopt_writes_nothing(cli, write_stack, tmp_path):
    stack = write_stack({"mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/f/", "version": "v3"}}]})
    plan = SimpleNamespace(stack="churn-dev", resources=[])
    with pytest.raises(UsageError, match="declares no resource to adopt"):
        import_file(plan)
    code, _, err = cli("plan", str(stack), "--import-file", str(stack))
    assert code == 2 and "refusing to overwrite" in err and "Traceback" not in err
