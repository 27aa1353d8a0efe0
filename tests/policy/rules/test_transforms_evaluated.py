"""Tests of ``mlstack-transforms-evaluated`` (mlstack/policy/rules/transforms_evaluated.py).

End to end, through a program with transforms planned by the worker:
``tests/policy/test_gate_isolation.py``.
"""

from __future__ import annotations

from mlstack.policy.rules import transforms_evaluated

from ..cases import TRANSFORMS
from ..graphs import baseline


def test_transforms_policy_has_nothing_to_report_under_crossguard():
    g = baseline("prod")
    g.get("scoring-endpoint").transforms = ["stack"]
    assert {v.policy for v in g.check().violations} == {TRANSFORMS}
    # CrossGuard hands the policy the transformed resources and no offline record: nothing to say.
    reports: list[str] = []
    args = type("Args", (), {"resources": [], "stack_tags": {}, "get_config": lambda self: {"environments": ["prod"]}})()
    transforms_evaluated.validate(args, lambda message, urn=None: reports.append(message))
    assert reports == []
