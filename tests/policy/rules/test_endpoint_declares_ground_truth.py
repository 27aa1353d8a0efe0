"""Tests of ``mlstack-endpoint-declares-ground-truth``: its cases share churn-prod's plan with
``mlstack-endpoint-monitors-gated-quality`` and live in test_endpoint_monitors_gated_quality.py
(test_without_ground_truth_the_gates_are_only_advised, test_churn_prod_watches_every_gate_in_production,
test_dev_is_not_held_to_it)."""

from __future__ import annotations

from mlstack.policy.rules import endpoint_declares_ground_truth


def test_it_advises_and_does_not_block() -> None:
    assert endpoint_declares_ground_truth.POLICY.enforcement_level.value == "advisory"
    assert endpoint_declares_ground_truth.POLICY.config_schema.properties["environments"]["default"] == ["staging", "prod"]
