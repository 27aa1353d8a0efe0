"""Model-quality, fairness and concept-drift metrics of joined predictions and labels (numpy only).

The definitions follow scikit-learn's (``tests/drift/test_quality_metrics.py`` checks them
against it on generated data), with one deliberate difference: a metric whose denominator is
zero (precision with no predicted positive, recall with no actual positive, AUC with one class)
is NaN here, i.e. *undefined*, as ``zero_division=np.nan`` makes it in scikit-learn; the job
does not publish an undefined metric, so an alarm never fires on a number nobody measured.
Macro averages over the classes skip the undefined ones (scikit-learn's rule with
``zero_division=np.nan``). F1 is ``2tp / (2tp + fp + fn)``, as scikit-learn computes it: 0, not
undefined, for a class predicted but never seen.

* binary (``y`` 0/1, ``score`` a float; predicted positive when ``score >= threshold``):
  accuracy, precision, recall, f1, auc (the ROC AUC, ties counted half: Mann-Whitney U);
* multiclass (``y`` and ``pred`` labels as strings): accuracy and macro precision, recall, f1;
* regression (floats): rmse, mae.

Fairness by slice (:func:`slice_metrics`): per slice of one feature, the problem's metrics, the
positive prediction rate and the true positive rate; between slices, the demographic-parity
difference (max - min positive prediction rate), the equal-opportunity difference (max - min
true positive rate, over slices that have positives), their maximum as the bias delta, and the
worst slice's gap (how far the worst slice's primary metric is from the whole window's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BINARY",
    "MULTICLASS",
    "REGRESSION",
    "PROBLEM_METRICS",
    "PRIMARY_METRIC",
    "LOWER_IS_BETTER",
    "binary_metrics",
    "roc_auc",
    "multiclass_metrics",
    "regression_metrics",
    "problem_metrics",
    "SliceResult",
    "slice_metrics",
    "output_psi",
    "conditional_errors",
    "conditional_error_change",
]

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"

PROBLEM_METRICS: dict[str, tuple[str, ...]] = {
    BINARY: ("accuracy", "precision", "recall", "f1", "auc"),
    MULTICLASS: ("accuracy", "precision", "recall", "f1"),
    REGRESSION: ("rmse", "mae"),
}
"""The metrics each problem type produces (the names gates and alarms may use)."""

PRIMARY_METRIC = {BINARY: "accuracy", MULTICLASS: "accuracy", REGRESSION: "rmse"}
"""The metric a slice's gap is measured on."""

LOWER_IS_BETTER = frozenset({"rmse", "mae"})

NAN = float("nan")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else NAN


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of 0/1 labels ``y`` and scores: the Mann-Whitney U over the average ranks (ties
    count half), NaN with one class only."""
    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return NAN
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score, dtype=np.float64)[order]
    # average rank of each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # ranks are 1-based
    ranks = np.repeat(avg, ends - starts)
    rank_sum = float(ranks[y[order]].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def binary_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """accuracy, precision, recall, f1 and auc of 0/1 labels and scores (see the module docstring)."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n = y.size
    if n == 0:
        return dict.fromkeys(PROBLEM_METRICS[BINARY], NAN)
    pred = score >= threshold
    tp = int(np.count_nonzero(pred & y))
    fp = int(np.count_nonzero(pred & ~y))
    fn = int(np.count_nonzero(~pred & y))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(n - fp - fn, n),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),  # undefined only without any positive, predicted or actual
        "auc": roc_auc(y, score),
    }


def multiclass_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """accuracy and macro precision / recall / f1 over the classes seen in ``y`` or ``pred``."""
    y = np.asarray(y)
    pred = np.asarray(pred)
    if y.size == 0:
        return dict.fromkeys(PROBLEM_METRICS[MULTICLASS], NAN)
    classes, codes = np.unique(np.concatenate([y, pred]), return_inverse=True)
    yc, pc = codes[: y.size], codes[y.size :]
    k = classes.size
    tp = np.bincount(yc[yc == pc], minlength=k).astype(np.float64)
    true_n = np.bincount(yc, minlength=k).astype(np.float64)
    pred_n = np.bincount(pc, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(pred_n > 0, tp / pred_n, np.nan)
        recall = np.where(true_n > 0, tp / true_n, np.nan)
        f1_den = true_n + pred_n  # 2tp + fp + fn
        f1 = np.where(f1_den > 0, 2 * tp / f1_den, np.nan)

    def macro(values: np.ndarray) -> float:
        finite = values[~np.isnan(values)]
        return float(finite.mean()) if finite.size else NAN

    return {"accuracy": float(tp.sum() / y.size), "precision": macro(precision), "recall": macro(recall), "f1": macro(f1)}


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """rmse and mae."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.size == 0:
        return {"rmse": NAN, "mae": NAN}
    err = pred - y
    return {"rmse": float(np.sqrt(np.mean(err * err))), "mae": float(np.mean(np.abs(err)))}


def problem_metrics(problem: str, y: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The metrics of ``problem`` (see :data:`PROBLEM_METRICS`)."""
    if problem == BINARY:
        return binary_metrics(y, pred, threshold)
    if problem == MULTICLASS:
        return multiclass_metrics(y, pred)
    if problem == REGRESSION:
        return regression_metrics(y, pred)
    raise ValueError(f"unknown problem type {problem!r}")


@dataclass
class SliceResult:
    """Fairness of one slice feature: per slice value, and between its slices."""

    feature: str
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per slice value with at least the minimum size: its metrics, ``count``,
    ``positive_prediction_rate`` and ``true_positive_rate`` (binary, or with a positive class)."""
    too_small: dict[str, int] = field(default_factory=dict)
    """Slices below the minimum size, with their size: not judged."""
    demographic_parity_difference: float = NAN
    equal_opportunity_difference: float = NAN
    worst_slice: str | None = None
    worst_slice_gap: float = NAN

    @property
    def bias_delta(self) -> float:
        """The larger of the two differences (NaN when neither is defined)."""
        values = [v for v in (self.demographic_parity_difference, self.equal_opportunity_difference) if not math.isnan(v)]
        return max(values) if values else NAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "slices": self.slices,
            "too_small": self.too_small,
            "demographic_parity_difference": _json_number(self.demographic_parity_difference),
            "equal_opportunity_difference": _json_number(self.equal_opportunity_difference),
            "bias_delta": _json_number(self.bias_delta),
            "worst_slice": self.worst_slice,
            "worst_slice_gap": _json_number(self.worst_slice_gap),
        }


def _json_number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def _spread(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return max(defined) - min(defined) if len(defined) >= 2 else NAN


def slice_metrics(
    problem: str,
    y: np.ndarray,
    pred: np.ndarray,
    groups: np.ndarray,
    *,
    feature: str,
    min_size: int,
    threshold: float = 0.5,
    overall: Mapping[str, float] | None = None,
    positive: str | None = None,
) -> SliceResult:
    """Fairness of the slices of one feature (``groups``: the slice value of each row).

    ``positive``: for multiclass, the class whose prediction is "positive" for the bias metrics
    (without it, multiclass slices get metrics and a gap, no bias differences). Regression has
    no positive prediction: its slices get metrics and a gap only.
    """
    result = SliceResult(feature)
    primary = PRIMARY_METRIC[problem]
    if overall is None:
        overall = problem_metrics(problem, y, pred, threshold)
    if len(groups) == 0:
        return result
    values, codes = _factorize(groups)
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(values)))]
    ppr: list[float] = []
    tpr: list[float] = []
    for j, value in enumerate(values):
        rows = order[bounds[j] : bounds[j + 1]]
        n = rows.size
        if n < min_size:
            result.too_small[str(value)] = int(n)
            continue
        ys, ps = y[rows], pred[rows]
        metrics = problem_metrics(problem, ys, ps, threshold)
        entry: dict[str, float] = {"count": float(n), **metrics}
        if problem == BINARY or (problem == MULTICLASS and positive is not None):
            if problem == BINARY:
                predicted, actual = np.asarray(ps, dtype=np.float64) >= threshold, np.asarray(ys, dtype=bool)
            else:
                predicted, actual = ps == positive, ys == positive
            entry["positive_prediction_rate"] = _ratio(np.count_nonzero(predicted), n)
            entry["true_positive_rate"] = _ratio(np.count_nonzero(predicted & actual), np.count_nonzero(actual))
            ppr.append(entry["positive_prediction_rate"])
            tpr.append(entry["true_positive_rate"])
        result.slices[str(value)] = {k: v for k, v in entry.items() if not math.isnan(v)}
        base = overall.get(primary, NAN)
        own = metrics.get(primary, NAN)
        if math.isnan(base) or math.isnan(own):
            continue
        gap = own - base if primary in LOWER_IS_BETTER else base - own
        if math.isnan(result.worst_slice_gap) or gap > result.worst_slice_gap:
            result.worst_slice_gap, result.worst_slice = gap, str(value)
    result.demographic_parity_difference = _spread(ppr)
    result.equal_opportunity_difference = _spread(tpr)
    return result


def _factorize(groups: Any) -> tuple[list[str], np.ndarray]:
    """``(values, codes)`` of slice values, by hashing (one C-level pass), not by sorting."""
    texts = list(map(str, groups.tolist() if isinstance(groups, np.ndarray) else groups))
    values = sorted(dict.fromkeys(texts))
    lookup = dict(zip(values, range(len(values))))
    codes = np.fromiter(map(lookup.__getitem__, texts), dtype=np.int64, count=len(texts))
    return values, codes


def _bins_of(baseline: np.ndarray, bins: int) -> np.ndarray:
    finite = baseline[np.isfinite(baseline)]
    if finite.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def output_psi(production: np.ndarray, baseline: np.ndarray, *, categorical: bool, bins: int = 10, epsilon: float = 1e-4) -> float:
    """PSI of the model's outputs against the baseline's (quantile bins of the baseline for
    scores and regression outputs, one bucket per class for labels); NaN when either is empty."""
    from mlstack.drift.stats import psi

    if categorical:
        production, baseline = np.asarray(production).astype(str), np.asarray(baseline).astype(str)
        if production.size == 0 or baseline.size == 0:
            return NAN
        classes = np.unique(np.concatenate([production, baseline]))
        actual = np.bincount(np.searchsorted(classes, production), minlength=classes.size)
        expected = np.bincount(np.searchsorted(classes, baseline), minlength=classes.size)
        return psi(actual, expected, epsilon)
    production = np.asarray(production, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    production = production[np.isfinite(production)]
    baseline = baseline[np.isfinite(baseline)]
    if production.size == 0 or baseline.size == 0:
        return NAN
    edges = _bins_of(baseline, bins)
    actual = np.bincount(np.searchsorted(edges, production, side="right"), minlength=edges.size + 1)
    expected = np.bincount(np.searchsorted(edges, baseline, side="right"), minlength=edges.size + 1)
    return psi(actual, expected, epsilon)


def conditional_errors(problem: str, y: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The error given the label: per class the share of its rows predicted wrong (binary: the
    false negative rate under ``1``, the false positive rate under ``0``); regression: the mean
    absolute error in each quartile of the label (``q1`` .. ``q4``)."""
    out: dict[str, float] = {}
    if problem == REGRESSION:
        y = np.asarray(y, dtype=np.float64)
        pred = np.asarray(pred, dtype=np.float64)
        if y.size == 0:
            return out
        edges = np.quantile(y, [0.25, 0.5, 0.75])
        bucket = np.searchsorted(edges, y, side="right")
        err = np.abs(pred - y)
        for q in range(4):
            mask = bucket == q
            if mask.any():
                out[f"q{q + 1}"] = float(err[mask].mean())
        return out
    if problem == BINARY:
        actual = np.asarray(y, dtype=bool)
        predicted = np.asarray(pred, dtype=np.float64) >= threshold
        for name, cls in (("1", True), ("0", False)):
            mask = actual == cls
            if mask.any():
                out[name] = float(np.count_nonzero(predicted[mask] != cls) / np.count_nonzero(mask))
        return out
    y = np.asarray(y).astype(str)
    pred = np.asarray(pred).astype(str)
    for cls in np.unique(y):
        mask = y == cls
        out[str(cls)] = float(np.count_nonzero(pred[mask] != cls) / np.count_nonzero(mask))
    return out


def conditional_error_change(production: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """The largest absolute change of a label-conditional error between the baseline and
    production, over the labels both have (NaN when they share none)."""
    common = [k for k in production if k in baseline]
    if not common:
        return NAN
    return max(abs(production[k] - baseline[k]) for k in common)
