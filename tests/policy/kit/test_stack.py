"""The stack's environment as the policies read it (mlstack/policy/kit/stack.py): the stack tag or
config when they say it, else the resources' lineage tags, else prod."""

from __future__ import annotations

from ..cases import DIGEST_POLICY, LINEAGE, VPC, violated
from ..graphs import baseline


def test_environment_comes_from_lineage_tags_when_the_stack_says_nothing():
    g = baseline("prod").drop("scoring-model", "vpcConfig")
    report = g.check(stack_config={}, tagged=False)
    assert violated(report) == {VPC}
    g = baseline("dev").drop("scoring-model", "vpcConfig")
    assert g.check(stack_config={}, tagged=False).violations == []


def test_unlabelled_resources_get_the_strictest_rules():
    g = baseline("dev").drop("scoring-model", "tags").set("scoring-model", "primaryContainer.image", "churn:latest")
    report = g.check(stack_config={}, tagged=False)
    assert {LINEAGE, DIGEST_POLICY} <= violated(report)
