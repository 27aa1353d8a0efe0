"""Promotion gates: absolute and relative thresholds, missing metrics, first versions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlstack.gates import evaluate_gates
from mlstack.specs.gates import GateSpec

ACC = GateSpec(metric="accuracy", op=">=", threshold="last-approved")
BIAS = GateSpec(metric="bias_delta", op="<=", threshold=0.01)


def test_passes_when_candidate_is_no_worse_than_last_approved():
    [acc, bias] = evaluate_gates([ACC, BIAS], {"accuracy": 0.91, "bias_delta": 0.004}, {"accuracy": 0.90})
    assert acc.passed and acc.bound == 0.90 and acc.value == 0.91
    assert bias.passed and bias.bound == 0.01


def test_fails_a_regression_and_says_by_how_much():
    [acc] = evaluate_gates([ACC], {"accuracy": 0.88}, {"accuracy": 0.90})
    assert not acc.passed
    assert acc.render() == "FAIL accuracy >= last approved: accuracy=0.88 misses >= 0.9"


def test_tolerance_loosens_relative_gates_in_the_right_direction():
    up = GateSpec(metric="accuracy", op=">=", threshold="last-approved", tolerance=0.02)
    down = GateSpec(metric="latency_p99_ms", op="<=", threshold="last-approved", tolerance=5)
    [a, b] = evaluate_gates([up, down], {"accuracy": 0.89, "latency_p99_ms": 104}, {"accuracy": 0.90, "latency_p99_ms": 100})
    assert a.passed and a.bound == pytest.approx(0.88)
    assert b.passed and b.bound == 105


def test_missing_candidate_metric_fails():
    [bias] = evaluate_gates([BIAS], {"accuracy": 0.9})
    assert not bias.passed and "no 'bias_delta' metric" in bias.reason


def test_first_version_passes_relative_gates():
    [acc] = evaluate_gates([ACC], {"accuracy": 0.5}, None)
    assert acc.passed and "no previous Approved version" in acc.reason


def test_baseline_without_the_metric_fails_relative_gate():
    [acc] = evaluate_gates([ACC], {"accuracy": 0.95}, {"auc": 0.9})
    assert not acc.passed


def test_rejects_bad_gates():
    with pytest.raises(ValidationError):
        GateSpec(metric="accuracy", op="=>", threshold=0.9)
    with pytest.raises(ValidationError):
        GateSpec(metric="accuracy", threshold="last-version")
    with pytest.raises(ValidationError):
        GateSpec(metric="accuracy", threshold=0.9, tolerance=-1)


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), float("-inf"), "1e309", "nan", " 0.95", "0_95", True, False, 10**400, [0.9]])
def test_thresholds_that_are_not_finite_numbers_are_refused(threshold):
    with pytest.raises(ValidationError, match="threshold must be a finite number or 'last-approved'"):
        GateSpec(metric="auc", threshold=threshold)


@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), "0.01", True])
def test_tolerances_that_are_not_finite_numbers_are_refused(tolerance):
    with pytest.raises(ValidationError, match="tolerance must be a finite number"):
        GateSpec(metric="auc", threshold="last-approved", tolerance=tolerance)


def test_integers_and_last_approved_are_thresholds():
    assert GateSpec(metric="auc", threshold=1).threshold == 1.0
    assert GateSpec(metric="auc", threshold="last-approved").relative


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.99", True, {"value": 0.99}])
def test_a_candidate_metric_that_is_not_a_finite_number_fails_its_gate(value):
    [bias] = evaluate_gates([GateSpec(metric="bias_delta", op="<=", threshold=0.01)], {"bias_delta": value})
    assert not bias.passed and bias.value is None
    assert "is not a finite number" in bias.reason


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), "0.5"])
def test_a_baseline_metric_that_is_not_a_finite_number_fails_the_relative_gate(value):
    # NaN compares False both ways and -inf is beaten by anything: neither may decide a gate
    [acc] = evaluate_gates([ACC], {"accuracy": 0.95}, {"accuracy": value})
    assert not acc.passed
    assert "the last Approved version's 'accuracy' is not a finite number" in acc.reason


def test_a_bound_that_overflows_fails_the_gate():
    slack = GateSpec(metric="latency", op="<=", threshold="last-approved", tolerance=1e308)
    [latency] = evaluate_gates([slack], {"latency": 5.0}, {"latency": 1.7e308})
    assert not latency.passed and "not a finite number" in latency.reason
