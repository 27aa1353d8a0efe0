"""File = policy: every module of mlstack/policy/rules/ holds exactly one policy, named for the file,
described, with a severity and topics; the pack's policies each come from a module of their own,
the kit holds none, and every rule has its test module here."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

import mlstack.policy.kit
import mlstack.policy.rules
from mlstack.policy.kit.topics import TOPICS
from mlstack.policy.pack import POLICIES, RULES

RULES_DIR = Path(mlstack.policy.rules.__file__).parent
KIT_DIR = Path(mlstack.policy.kit.__file__).parent
TESTS_DIR = Path(__file__).parent
MODULES = sorted(p.stem for p in RULES_DIR.glob("*.py") if p.stem != "__init__")
POLICY_CLASSES = {"ResourceValidationPolicy", "StackValidationPolicy", "Policy"}


def policy_calls(path: Path) -> list[str]:
    """The policy constructors a module's source calls, by class name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name in POLICY_CLASSES:
                calls.append(name)
    return calls


def test_the_rules_package_holds_the_pack_and_nothing_else():
    assert len(MODULES) == len(POLICIES) == 24
    assert sorted(rule.__name__.rsplit(".", 1)[1] for rule in RULES) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_each_rule_module_defines_exactly_one_policy_named_for_the_file(module):
    rule = importlib.import_module(f"mlstack.policy.rules.{module}")
    assert len(policy_calls(RULES_DIR / f"{module}.py")) == 1
    policies = [value for value in vars(rule).values() if isinstance(value, Policy)]
    assert policies == [rule.POLICY]
    assert isinstance(rule.POLICY, (ResourceValidationPolicy, StackValidationPolicy))
    assert rule.POLICY.name == rule.NAME == "mlstack-" + module.replace("_", "-")


@pytest.mark.parametrize("module", MODULES)
def test_each_rule_says_what_it_checks_and_carries_severity_and_topics(module):
    rule = importlib.import_module(f"mlstack.policy.rules.{module}")
    assert rule.__doc__ and rule.__doc__.startswith("Checks that "), rule.__doc__
    assert f"``{rule.NAME}``" in rule.__doc__
    assert rule.POLICY.description.startswith("Checks that ")
    assert rule.POLICY.severity is not None
    assert rule.POLICY.tags and set(rule.POLICY.tags) <= set(TOPICS), rule.POLICY.tags
    assert len(set(rule.POLICY.tags)) == len(rule.POLICY.tags)


def test_every_policy_of_the_pack_comes_from_its_own_module():
    owners = {}
    for rule in RULES:
        for value in vars(rule).values():
            if isinstance(value, Policy):
                owners.setdefault(id(value), []).append(rule.__name__)
    assert [owners.get(id(policy)) for policy in POLICIES] == [[rule.__name__] for rule in RULES]
    assert POLICIES == [rule.POLICY for rule in RULES]


def test_the_kit_defines_no_policy():
    modules = sorted(p for p in KIT_DIR.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        assert policy_calls(path) == [], path.name
        kit = importlib.import_module(f"mlstack.policy.kit.{path.stem}" if path.stem != "__init__" else "mlstack.policy.kit")
        assert not [name for name, value in vars(kit).items() if isinstance(value, Policy)], path.name


def test_every_topic_is_used_and_every_rule_has_its_test_module():
    assert {tag for policy in POLICIES for tag in policy.tags} == set(TOPICS)
    assert sorted(p.stem.removeprefix("test_") for p in TESTS_DIR.glob("test_*.py") if p.stem != "test_layout") == MODULES
