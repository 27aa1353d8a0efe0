"""Promotion gates: absolute and relative thresholds, missing metrics, first versions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlstack.gates import Gate, evaluate_gates

ACC = Gate(metric="accuracy", op=">=", threshold="last-approved")
BIAS = Gate(metric="bias_delta", op="<=", threshold=0.01)


def test_passes_when_candidate_is_no_worse_than_last_approved():
    [acc, bias] = evaluate_gates([ACC, BIAS], {"accuracy": 0.91, "bias_delta": 0.004}, {"accuracy": 0.90})
    assert acc.passed and acc.bound == 0.90 and acc.value == 0.91
    assert bias.passed and bias.bound == 0.01


def test_fails_a_regression_and_says_by_how_much():
    [acc] = evaluate_gates([ACC], {"accuracy": 0.88}, {"accuracy": 0.90})
    assert not acc.passed
    assert acc.render() == "FAIL accuracy >= last approved: accuracy=0.88 misses >= 0.9"


def test_tolerance_loosens_relative_gates_in_the_right_direction():
    up = Gate(metric="accuracy", op=">=", threshold="last-approved", tolerance=0.02)
    down = Gate(metric="latency_p99_ms", op="<=", threshold="last-approved", tolerance=5)
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
        Gate(metric="accuracy", op="=>", threshold=0.9)
    with pytest.raises(ValidationError):
        Gate(metric="accuracy", threshold="last-version")
    with pytest.raises(ValidationError):
        Gate(metric="accuracy", threshold=0.9, tolerance=-1)
