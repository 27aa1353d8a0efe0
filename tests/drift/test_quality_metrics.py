"""The quality job's metric definitions against scikit-learn on generated data, and the join's
edge cases: a slice without positives, a window without labels, labels for unknown ids,
duplicate labels, NaN predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest

sklearn_metrics = pytest.importorskip("sklearn.metrics")

from mlstack.drift.quality import metrics as m  # noqa: E402
from mlstack.drift.quality.join import Labels, Predictions, join, normalise_label  # noqa: E402
from mlstack.specs.quality import PROBLEM_METRICS  # noqa: E402

RNG = np.random.default_rng(13)


def _close(ours: float, theirs: float) -> None:
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_the_spec_and_the_job_name_the_same_metrics() -> None:
    assert PROBLEM_METRICS == m.PROBLEM_METRICS


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2000
    y = rng.integers(0, 2, n).astype(float)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.25, n), 0, 1).round(2)  # rounded: many ties for the AUC
    ours = m.binary_metrics(y, score, 0.5)
    pred = (score >= 0.5).astype(int)
    _close(ours["accuracy"], sklearn_metrics.accuracy_score(y, pred))
    _close(ours["precision"], sklearn_metrics.precision_score(y, pred, zero_division=np.nan))
    _close(ours["recall"], sklearn_metrics.recall_score(y, pred, zero_division=np.nan))
    _close(ours["f1"], sklearn_metrics.f1_score(y, pred, zero_division=np.nan))
    _close(ours["auc"], sklearn_metrics.roc_auc_score(y, score))


def test_binary_without_predicted_or_actual_positives_is_undefined_not_zero() -> None:
    y = np.zeros(50)
    score = np.full(50, 0.1)
    ours = m.binary_metrics(y, score, 0.5)
    assert ours["accuracy"] == 1.0
    assert math.isnan(ours["precision"]) and math.isnan(ours["recall"]) and math.isnan(ours["auc"])
    assert math.isnan(sklearn_metrics.precision_score(y, score >= 0.5, zero_division=np.nan))


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_metrics_match_scikit_learn_macro(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c", "d"])
    y = classes[rng.integers(0, 3, 1500)]  # "d" is never a label...
    pred = np.where(rng.random(1500) < 0.7, y, classes[rng.integers(0, 4, 1500)])  # ...but sometimes predicted
    ours = m.multiclass_metrics(y, pred)
    _close(ours["accuracy"], sklearn_metrics.accuracy_score(y, pred))
    for name, fn in (("precision", sklearn_metrics.precision_score), ("recall", sklearn_metrics.recall_score), ("f1", sklearn_metrics.f1_score)):
        _close(ours[name], fn(y, pred, average="macro", zero_division=np.nan))


def test_regression_metrics_match_scikit_learn() -> None:
    y = RNG.normal(10, 3, 3000)
    pred = y + RNG.normal(0, 1, 3000)
    ours = m.regression_metrics(y, pred)
    _close(ours["rmse"], math.sqrt(sklearn_metrics.mean_squared_error(y, pred)))
    _close(ours["mae"], sklearn_metrics.mean_absolute_error(y, pred))


def test_slices_parity_opportunity_and_worst_gap() -> None:
    n = 4000
    group = np.where(RNG.random(n) < 0.5, "north", "south")
    y = RNG.integers(0, 2, n).astype(float)
    # the model is kinder to the north: more positive predictions there
    score = np.clip(0.5 * y + RNG.normal(0.2, 0.2, n) + np.where(group == "north", 0.15, 0.0), 0, 1)
    result = m.slice_metrics(m.BINARY, y, score, group, feature="region", min_size=10, threshold=0.5)
    pred = score >= 0.5
    ppr = {g: pred[group == g].mean() for g in ("north", "south")}
    tpr = {g: sklearn_metrics.recall_score(y[group == g], pred[group == g]) for g in ("north", "south")}
    acc = {g: sklearn_metrics.accuracy_score(y[group == g], pred[group == g]) for g in ("north", "south")}
    overall = sklearn_metrics.accuracy_score(y, pred)
    _close(result.demographic_parity_difference, abs(ppr["north"] - ppr["south"]))
    _close(result.equal_opportunity_difference, abs(tpr["north"] - tpr["south"]))
    worst = min(acc, key=acc.get)
    assert result.worst_slice == worst
    _close(result.worst_slice_gap, overall - acc[worst])
    assert result.bias_delta == max(result.demographic_parity_difference, result.equal_opportunity_difference)
    assert result.bias_delta > 0.05


def test_a_slice_with_no_positives_has_no_true_positive_rate_and_does_not_fake_a_gap() -> None:
    group = np.array(["a"] * 100 + ["b"] * 100 + ["c"] * 100)
    y = np.r_[np.ones(50), np.zeros(50), np.ones(50), np.zeros(50), np.zeros(100)]
    score = np.r_[np.full(100, 0.9), np.full(100, 0.9), np.full(100, 0.1)]
    result = m.slice_metrics(m.BINARY, y, score, group, feature="g", min_size=10)
    assert "true_positive_rate" not in result.slices["c"]
    assert result.equal_opportunity_difference == 0.0  # a and b both catch every positive
    assert result.demographic_parity_difference == 1.0  # a, b: all predicted positive; c: none


def test_small_slices_are_not_judged() -> None:
    group = np.array(["big"] * 200 + ["tiny"] * 5)
    y = np.r_[np.ones(100), np.zeros(100), np.ones(5)]
    score = np.r_[np.full(200, 0.9), np.full(5, 0.0)]
    result = m.slice_metrics(m.BINARY, y, score, group, feature="g", min_size=50)
    assert result.too_small == {"tiny": 5}
    assert list(result.slices) == ["big"]
    assert math.isnan(result.demographic_parity_difference)  # one judged slice: no difference


def test_regression_slices_gap_is_the_worst_rmse_above_the_whole() -> None:
    group = np.array(["x"] * 500 + ["y"] * 500)
    y = RNG.normal(0, 1, 1000)
    pred = y + np.r_[RNG.normal(0, 0.1, 500), RNG.normal(0, 2, 500)]
    result = m.slice_metrics(m.REGRESSION, y, pred, group, feature="g", min_size=10)
    overall = math.sqrt(sklearn_metrics.mean_squared_error(y, pred))
    assert result.worst_slice == "y"
    _close(result.worst_slice_gap, math.sqrt(sklearn_metrics.mean_squared_error(y[500:], pred[500:])) - overall)
    assert math.isnan(result.bias_delta)  # regression has no positive prediction


def test_output_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    base = RNG.beta(2, 5, 20000)
    assert m.output_psi(RNG.beta(2, 5, 20000), base, categorical=False) < 0.01
    assert m.output_psi(RNG.beta(5, 2, 20000), base, categorical=False) > 1.0
    assert m.output_psi(np.array(["a"] * 90 + ["b"] * 10), np.array(["a"] * 50 + ["b"] * 50), categorical=True) > 0.2


def test_conditional_error_change() -> None:
    y = np.r_[np.ones(100), np.zeros(100)]
    before = m.conditional_errors(m.BINARY, y, np.r_[np.full(90, 0.9), np.full(10, 0.1), np.full(100, 0.1)])
    after = m.conditional_errors(m.BINARY, y, np.r_[np.full(60, 0.9), np.full(40, 0.1), np.full(100, 0.1)])
    assert before == {"1": 0.1, "0": 0.0} and after == {"1": 0.4, "0": 0.0}
    assert m.conditional_error_change(after, before) == pytest.approx(0.3)


# -- the join ----------------------------------------------------------------------------


def _predictions(ids: list[str], values: list, times: list[float] | None = None) -> Predictions:
    return Predictions(ids=ids, times=times or [0.0] * len(ids), values=values, slices={})


def test_labels_join_by_id_with_duplicates_unknown_ids_and_nan_predictions() -> None:
    preds = _predictions(["a", "b", "c", "d"], ["0.9", "nan", "0.2", "0.7"], [0, 0, 0, 0])
    labels = Labels(
        ids=["a", "b", "c", "c", "zzz", "d"],
        values=["1", "1", "1", "0", "1", "maybe"],
        times=[3600, 3600, 3600, 7200, 3600, 3600],  # c is corrected an hour later
    )
    joined = join(preds, labels, problem="binary")
    assert list(joined.ids) == ["a", "c"]
    assert list(joined.labels) == [1.0, 0.0]  # the correction wins
    assert joined.duplicate_labels == 1
    assert joined.unmatched_labels == 1
    assert joined.invalid_predictions == 1  # b's NaN
    assert joined.invalid_labels == 1  # "maybe" is neither class: never read as negative
    assert joined.judged == 3
    assert joined.coverage_percent == pytest.approx(200 / 3)
    assert joined.newest_label_time == 7200


def test_a_window_without_labels_has_zero_coverage_and_undefined_quality() -> None:
    joined = join(_predictions(["a", "b"], ["0.9", "0.1"]), Labels(), problem="binary")
    assert joined.judged == 2 and joined.labelled == 0 and joined.coverage_percent == 0.0
    assert math.isnan(joined.newest_label_time)
    assert all(math.isnan(v) for v in m.binary_metrics(joined.labels, joined.predictions, 0.5).values())


def test_labels_are_normalised() -> None:
    assert normalise_label(1) == normalise_label(1.0) == normalise_label(" 1 ") == normalise_label("1.0") == normalise_label(True) == "1"
    assert normalise_label("yes") == "yes"
    assert normalise_label("1e3") == "1e3"  # not rewritten: only plain decimals are


def _event(request: str, response: str, **meta: str) -> bytes:
    import json

    return json.dumps(
        {
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "data": request, "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv", "data": response, "encoding": "CSV"},
            },
            "eventMetadata": {"eventId": "e1", "inferenceTime": "2026-11-01T10:00:00Z", **meta},
        }
    ).encode()


def test_a_batch_request_is_judged_only_with_an_id_column_to_key_its_rows() -> None:
    from mlstack.drift.quality.join import PredictionReader

    plain = PredictionReader()
    plain.add_file(_event("1,a\n2,b", "0.9\n0.1"))
    assert plain.out.ids == [] and plain.out.multi_row == 1  # one inference id, two predictions: not guessed
    keyed = PredictionReader(id_column="id", request_columns=["id", "plan"], slices=["plan"])
    keyed.add_file(_event("1,a\n2,b", "0.9\n0.1"))
    assert keyed.out.ids == ["1", "2"] and keyed.out.values == ["0.9", "0.1"] and keyed.out.slices == {"plan": ["a", "b"]}


def test_the_inference_id_wins_over_the_event_id_and_json_responses_are_read_by_key() -> None:
    import json

    from mlstack.drift.quality.join import PredictionReader

    reader = PredictionReader(prediction_field="score")
    event = json.loads(_event("1,a", "x"))
    event["captureData"]["endpointOutput"] = {"observedContentType": "application/json", "data": '{"score": 0.73, "label": 1}', "encoding": "JSON"}
    event["eventMetadata"]["inferenceId"] = "order-42"
    reader.add_file(json.dumps(event).encode() + b"\nnot json\n")
    assert reader.out.ids == ["order-42"] and reader.out.values == [0.73]
    assert reader.out.unreadable == 1
