"""An upgrade of mlstack must not replace what a stack already runs: every URN a bundled stack had
before the package layout changed (tests/data/urns-before-layout.json, recorded from the plans of
that layout) is still planned, or is covered by an alias of the resource that took its place.
New resources may appear; none may silently move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT

BEFORE = json.loads((ROOT / "tests" / "data" / "urns-before-layout.json").read_text())


@pytest.mark.parametrize("stack", sorted(BEFORE))
def test_every_urn_of_the_previous_layout_is_kept_or_aliased(plan, stack):
    graph = plan(ROOT / stack)
    now = {r.urn for r in graph.resources}
    aliased = {alias for r in graph.resources for alias in getattr(r, "aliases", ())}
    lost = [urn for urn in BEFORE[stack] if urn not in now and urn not in aliased]
    assert lost == [], f"{stack}: {len(lost)} resources would be replaced on the next `pulumi up`: {lost[:5]}"
