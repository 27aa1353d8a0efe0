"""An upgrade of mlstack must not replace what a stack already runs: every URN a bundled stack had
before the package layout changed (tests/data/urns-before-layout.json, recorded from the plans of
that layout) is still planned, or is covered by an alias of the resource that took its place.
New resources may appear; none may silently move.

The alias URNs are those the offline engine records (``ResourceRecord.aliases``): the monitor
declares alias specs unsupported, so the Python SDK computes them from the parent URNs as the
engine would, and the plan JSON carries them across the process boundary of ``mlstack check``."""

from __future__ import annotations

import json

import pulumi
import pytest

from conftest import ROOT
from mlstack.engine import run_program
from mlstack.engine.graph import Plan
from mlstack.engine.planfile import PlanFileError, plan_from_json
from mlstack.lookups import OfflineAnswers

BEFORE = json.loads((ROOT / "tests" / "data" / "urns-before-layout.json").read_text())


@pytest.fixture(scope="module")
def plans():
    from mlstack.engine import plan_stack

    return {stack: plan_stack(ROOT / stack, cwd=ROOT) for stack in sorted(BEFORE)}


@pytest.mark.parametrize("stack", sorted(BEFORE))
def test_every_urn_of_the_previous_layout_is_kept_or_aliased(plans, stack):
    graph = plans[stack]
    now = {r.urn for r in graph.resources}
    aliased = {alias for r in graph.resources for alias in r.aliases}
    lost = [urn for urn in BEFORE[stack] if urn not in now and urn not in aliased]
    assert lost == [], f"{stack}: {len(lost)} resources would be replaced on the next `pulumi up`: {lost[:5]}"


@pytest.mark.parametrize("stack", sorted(BEFORE))
def test_each_moved_resource_is_aliased_to_its_own_old_urn(plans, stack):
    """Not just any alias: the one resource that claims an old URN is that resource (same name
    and type), and no resource is aliased to a URN that is planned too. (Other aliases are the
    provider SDK's own, e.g. aws.s3.Bucket's to its former type BucketV2.)"""
    graph = plans[stack]
    now = {r.urn for r in graph.resources}
    claims: dict[str, list] = {}
    for record in graph.resources:
        for alias in record.aliases:
            assert alias not in now, f"{record.urn} is aliased to {alias}, which is planned too"
            claims.setdefault(alias, []).append(record)
    for urn in (u for u in BEFORE[stack] if u not in now):
        [record] = claims.get(urn, [None])
        assert record is not None, f"{urn} is neither planned nor aliased"
        assert (urn.rsplit("::", 1)[1], urn.split("::")[2].rsplit("$", 1)[-1]) == (record.name, record.type), (urn, record.urn)


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, *, nested: bool) -> None:
        super().__init__("test:index:Box", name, None, None)
        parent: pulumi.Resource = self
        options = pulumi.ResourceOptions(parent=self)
        if nested:  # the bucket moved under a new child component, with an alias to where it was
            parent = pulumi.ComponentResource("test:index:Inner", f"{name}-inner", None, pulumi.ResourceOptions(parent=self))
            options = pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(parent=self)])
        import pulumi_aws as aws

        aws.s3.Bucket(f"{name}-data", opts=options)


def _plan(nested: bool) -> Plan:
    return run_program(lambda: _Box("box", nested=nested), project="p", stack="s", config={}, answers=OfflineAnswers())


def test_the_recorded_alias_is_the_urn_the_resource_had_before_it_moved():
    before = _plan(nested=False).by_type("aws:s3/bucket:Bucket")[0]
    after = _plan(nested=True).by_type("aws:s3/bucket:Bucket")[0]
    assert before.urn == "urn:pulumi:s::p::test:index:Box$aws:s3/bucket:Bucket::box-data"
    assert after.urn == "urn:pulumi:s::p::test:index:Box$test:index:Inner$aws:s3/bucket:Bucket::box-data"
    assert before.urn in after.aliases
    # Of its aliases, only the one to where it stood has its own type (the others are pulumi_aws's
    # aliases to the type's former name BucketV2, under its new parent).
    assert [a for a in after.aliases if "$aws:s3/bucket:Bucket::" in a] == [before.urn]
    assert all(a.startswith("urn:pulumi:s::p::test:index:Box$test:index:Inner$") for a in after.aliases if a != before.urn)


def test_aliases_cross_the_plan_file_and_malformed_ones_are_refused():
    plan = _plan(nested=True)
    data = json.loads(json.dumps(plan.to_json()))
    read = plan_from_json(data, source="the plan", stack="s", project="p")
    assert [r.aliases for r in read.resources] == [r.aliases for r in plan.resources]
    bucket = next(i for i, r in enumerate(data["resources"]) if r["type"] == "aws:s3/bucket:Bucket")
    for bad in (["not a urn"], [data["resources"][bucket]["urn"]], [7], ["urn:pulumi:s::p::x::a\nb"], "urn:pulumi:s::p::x::y"):
        hostile = json.loads(json.dumps(data))
        hostile["resources"][bucket]["aliases"] = bad
        with pytest.raises(PlanFileError, match=rf"resources\[{bucket}\]\.aliases must be"):
            plan_from_json(hostile, source="the plan", stack="s", project="p")
