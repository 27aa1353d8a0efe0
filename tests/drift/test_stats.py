"""mlstack.drift.stats against independently computed values.

The reference values are built here from numpy's quantile / histogram and
scipy's entropy, not from the module's own helpers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import entropy

from mlstack.drift.stats import (
    CATEGORICAL,
    EPSILON,
    MISSING_BUCKET,
    NUMERIC,
    OTHER_BUCKET,
    BaselineProfile,
    FeatureProfile,
    kl_divergence,
    psi,
    smooth,
    to_category,
    to_float,
)


def reference_smooth(counts: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The documented smoothing, spelled out."""
    counts = np.asarray(counts, dtype=float)
    return (counts / counts.sum() + eps) / (1 + counts.size * eps)


def reference_numeric_counts(baseline: np.ndarray, values: np.ndarray, bins: int = 10) -> np.ndarray:
    """Bin counts (bins, then missing) by the baseline's quantiles, with np.histogram."""
    finite = baseline[np.isfinite(baseline)]
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    present = values[~np.isnan(values)]
    hist, _ = np.histogram(present, bins=np.concatenate(([-np.inf], inner, [np.inf])))
    return np.append(hist, np.isnan(values).sum())


def reference_psi(p: np.ndarray, q: np.ndarray) -> float:
    return float(sum((pi - qi) * math.log(pi / qi) for pi, qi in zip(p, q)))


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240501)


# -- the formulas -----------------------------------------------------------


def test_epsilon_is_the_documented_value() -> None:
    assert EPSILON == 1e-6


def test_smooth_matches_the_documented_formula() -> None:
    counts = np.array([0, 5, 0, 95])
    p = smooth(counts)
    np.testing.assert_allclose(p, reference_smooth(counts), rtol=0, atol=1e-15)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(p > 0)
    np.testing.assert_allclose(smooth(counts / 100), p, rtol=1e-12)  # proportions work too
    with pytest.raises(ValueError):
        smooth([0, 0, 0])
    with pytest.raises(ValueError):
        smooth([1, -1])


def test_psi_and_kl_on_counts_match_direct_formulas() -> None:
    actual = np.array([10, 20, 30, 0, 40])
    expected = np.array([25, 25, 25, 25, 0])
    p, q = reference_smooth(actual), reference_smooth(expected)
    assert psi(actual, expected) == pytest.approx(reference_psi(p, q), rel=1e-12)
    assert kl_divergence(actual, expected) == pytest.approx(entropy(p, q), rel=1e-12)
    # direction: KL is KL(actual || expected), which is not symmetric; PSI is
    assert kl_divergence(actual, expected) != pytest.approx(entropy(q, p), rel=1e-3)
    assert psi(actual, expected) == pytest.approx(psi(expected, actual), rel=1e-12)
    assert psi(actual, actual) == 0.0 and kl_divergence(actual, actual) == 0.0
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])


# -- numeric features -----------------------------------------------------------


def test_numeric_psi_and_kl_match_an_independent_computation(rng: np.random.Generator) -> None:
    baseline = rng.normal(10, 2, size=20_000)
    baseline[rng.random(baseline.size) < 0.02] = np.nan
    production = rng.normal(10.6, 2.4, size=7_000)
    production[rng.random(production.size) < 0.05] = np.nan

    profile = FeatureProfile.from_values("x", baseline)
    drift = profile.compare(production)

    exp_counts = reference_numeric_counts(baseline, baseline)
    act_counts = reference_numeric_counts(baseline, production)
    np.testing.assert_allclose(profile.expected, exp_counts / baseline.size, rtol=1e-12)
    np.testing.assert_allclose(drift.actual, act_counts / production.size, rtol=1e-12)

    p, q = reference_smooth(act_counts), reference_smooth(exp_counts)
    assert drift.psi == pytest.approx(reference_psi(p, q), rel=1e-10)
    assert drift.kl == pytest.approx(entropy(p, q), rel=1e-10)
    assert drift.count == production.size
    assert drift.missing == np.isnan(production).sum()
    assert drift.baseline_count == baseline.size
    assert profile.kind == NUMERIC and len(drift.buckets) == 11 and drift.buckets[-1] == MISSING_BUCKET


def test_edges_are_the_baseline_deciles(rng: np.random.Generator) -> None:
    baseline = rng.exponential(3.0, size=5_000)
    profile = FeatureProfile.from_values("x", baseline)
    np.testing.assert_array_equal(profile.edges, np.quantile(baseline, np.linspace(0, 1, 11)[1:-1]))
    # each bin holds ~10% of the baseline
    np.testing.assert_allclose(profile.expected[:-1], 0.1, atol=0.001)
    assert profile.expected[-1] == 0.0


def test_same_distribution_gives_near_zero_psi(rng: np.random.Generator) -> None:
    baseline = rng.normal(size=50_000)
    profile = FeatureProfile.from_values("x", baseline)
    assert profile.compare(baseline).psi == pytest.approx(0.0, abs=1e-12)
    assert profile.compare(baseline).kl == pytest.approx(0.0, abs=1e-12)
    fresh = profile.compare(rng.normal(size=50_000))
    assert fresh.psi < 0.01 and fresh.kl < 0.01


@pytest.mark.parametrize(("loc", "scale"), [(0.5, 1.0), (-0.6, 1.0), (0.0, 2.0)])
def test_shifted_distribution_gives_psi_above_0_2(rng: np.random.Generator, loc: float, scale: float) -> None:
    profile = FeatureProfile.from_values("x", rng.normal(size=50_000))
    drift = profile.compare(rng.normal(loc, scale, size=20_000))
    assert drift.psi > 0.2
    assert drift.kl > 0.05


def test_values_outside_the_baseline_range_land_in_the_end_bins(rng: np.random.Generator) -> None:
    profile = FeatureProfile.from_values("x", rng.uniform(0, 1, size=1_000))
    counts = profile.bucket_counts([-100.0, -np.inf, 1e9, np.inf, 0.5, np.nan])
    assert counts[0] == 2  # below the baseline's minimum, -inf included
    assert counts[-2] == 2  # above its maximum, +inf included
    assert counts[-1] == 1  # NaN is missing
    assert counts.sum() == 6


def test_repeated_values_deduplicate_edges() -> None:
    baseline = np.array([0.0] * 60 + [1.0] * 30 + [2.0] * 10)
    profile = FeatureProfile.from_values("x", baseline)
    np.testing.assert_array_equal(profile.edges, np.unique(np.quantile(baseline, np.linspace(0, 1, 11)[1:-1])))
    assert profile.edges.size < 9
    assert profile.compare(baseline).psi == pytest.approx(0.0, abs=1e-12)
    # a constant baseline still has a bin below and one from its value up
    const = FeatureProfile.from_values("c", np.full(100, 3.0))
    assert const.edges.tolist() == [3.0]
    assert const.bucket_counts([1.0, 3.0, 5.0]).tolist() == [1, 2, 0]


def test_missing_values_have_their_own_bucket(rng: np.random.Generator) -> None:
    baseline = rng.normal(size=10_000)
    profile = FeatureProfile.from_values("x", baseline)
    production = rng.normal(size=10_000)
    production[:5_000] = np.nan
    drift = profile.compare(production)
    assert drift.missing == 5_000
    assert drift.actual[-1] == 0.5
    assert drift.psi > 1.0  # half the rows lost their value: a big shift
    # empty strings and None count as missing too
    counts = profile.bucket_counts(np.array(["1.5", "", None, "nan", "abc"], dtype=object))
    assert counts[-1] == 4 and counts.sum() == 5


def test_all_missing_baseline_feature() -> None:
    profile = FeatureProfile.from_values("x", [np.nan, np.nan, np.nan])
    assert profile.kind == NUMERIC and profile.edges.size == 0
    assert profile.expected.tolist() == [0.0, 1.0]
    assert profile.compare([np.nan]).psi == pytest.approx(0.0, abs=1e-12)
    assert profile.compare([1.0]).psi > 10


# -- categorical features ---------------------------------------------------------


def test_categorical_with_unseen_category_matches_direct_counts() -> None:
    baseline = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 15 + [""] * 5)
    production = np.array(["a"] * 20 + ["b"] * 20 + ["z"] * 40 + ["y"] * 10 + [None] * 10, dtype=object)
    profile = FeatureProfile.from_values("cat", baseline)
    assert profile.kind == CATEGORICAL
    assert profile.buckets == ("a", "b", "c", OTHER_BUCKET, MISSING_BUCKET)
    drift = profile.compare(production)

    exp_counts = np.array([50, 30, 15, 0, 5])
    act_counts = np.array([20, 20, 0, 50, 10])  # "z" and "y" were never seen: other/unseen
    np.testing.assert_allclose(drift.expected, exp_counts / 100)
    np.testing.assert_allclose(drift.actual, act_counts / 100)
    p, q = reference_smooth(act_counts), reference_smooth(exp_counts)
    assert drift.psi == pytest.approx(reference_psi(p, q), rel=1e-10)
    assert drift.kl == pytest.approx(entropy(p, q), rel=1e-10)
    assert drift.psi > 0.2 and drift.missing == 10


def test_categorical_cap_sends_rare_categories_to_other() -> None:
    baseline = np.array(["a"] * 40 + ["b"] * 30 + ["c"] * 20 + ["d"] * 10)
    profile = FeatureProfile.from_values("cat", baseline, max_categories=2)
    assert profile.categories == ("a", "b")
    assert profile.expected.tolist() == [0.4, 0.3, 0.3, 0.0]
    assert profile.bucket_counts(["c", "d", "e", "a"]).tolist() == [1, 0, 3, 0]


def test_numbers_as_categories_and_kind_override() -> None:
    data = {"zip": np.array([10115, 10117, 10115, 80331]), "x": [1.0, 2.0, 3.0, 4.0]}
    profile = BaselineProfile.from_columns(data, categorical=["zip"])
    assert profile.kinds() == {"zip": CATEGORICAL, "x": NUMERIC}
    assert profile.features["zip"].categories == ("10115", "10117", "80331")
    # JSON numbers and CSV strings meet as the same category
    assert profile.features["zip"].bucket_counts([10115, "10115", 99999]).tolist() == [2, 0, 0, 1, 0]


# -- conversions ------------------------------------------------------------------


def test_to_float_and_to_category() -> None:
    np.testing.assert_array_equal(
        to_float(np.array(["1.5", "", " 2", "nan", "inf"])), [1.5, np.nan, 2.0, np.nan, np.inf]
    )
    np.testing.assert_array_equal(to_float([1, None, "3", "x", ""]), [1.0, np.nan, 3.0, np.nan, np.nan])
    assert to_category(np.array(["a", None, np.nan, "", 3], dtype=object)).tolist() == ["a", "", "", "", "3"]
    assert to_category(np.array([1.0, np.nan])).tolist() == ["1.0", ""]


# -- profiles -----------------------------------------------------------------------


def test_profile_json_round_trip(tmp_path, rng: np.random.Generator) -> None:
    n = 5_000
    data = {
        "age": rng.normal(40, 12, size=n),
        "income": rng.lognormal(10, 1, size=n),
        "plan": rng.choice(np.array(["basic", "pro", "team", ""]), size=n),
    }
    data["age"][:50] = np.nan
    profile = BaselineProfile.from_columns(data, bins=8)
    text = profile.to_json()
    doc = json.loads(text)
    assert doc["format"] == "mlstack.drift.profile/1"
    assert doc["columns"] == ["age", "income", "plan"]
    assert [f["kind"] for f in doc["features"]] == ["numeric", "numeric", "categorical"]

    loaded = BaselineProfile.from_json(text)
    assert loaded.to_dict() == profile.to_dict()
    for name in data:  # floats survive the round trip exactly
        np.testing.assert_array_equal(loaded.features[name].edges, profile.features[name].edges)
        np.testing.assert_array_equal(loaded.features[name].expected, profile.features[name].expected)

    production = {k: v[::-1].copy() for k, v in data.items()}
    production["income"] = production["income"] * 1.5
    assert {k: d.to_dict() for k, d in loaded.compare(production).items()} == {
        k: d.to_dict() for k, d in profile.compare(production).items()
    }

    path = tmp_path / "baseline.json"
    profile.save(path)
    assert BaselineProfile.load(path).to_dict() == profile.to_dict()


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        "{}",
        '{"format": "mlstack.drift.profile/1", "features": {}}',
        '{"format": "mlstack.drift.profile/1", "features": [{"name": "x", "kind": "numeric", "count": 3,'
        ' "edges": [2, 1], "expected": [0.5, 0.5, 0, 0]}]}',
        '{"format": "mlstack.drift.profile/1", "features": [{"name": "x", "kind": "numeric", "count": 3,'
        ' "edges": [1], "expected": [0.5, 0.5]}]}',
        '{"format": "mlstack.drift.profile/1", "features": [{"name": "x", "kind": "text", "count": 3,'
        ' "expected": [1]}]}',
        '{"format": "mlstack.drift.profile/1", "features": [{"name": "x", "kind": "categorical",'
        ' "count": 3, "categories": ["a"]}]}',
    ],
)
def test_invalid_profiles_are_rejected(doc: str) -> None:
    with pytest.raises(ValueError):
        BaselineProfile.from_json(doc)


def test_profile_from_csv_infers_kinds(tmp_path) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("age,plan,score\n31,basic,0.5\n45,pro,\n,basic,0.7\n52,team,0.1\n")
    profile = BaselineProfile.from_csv(path)
    assert profile.columns == ("age", "plan", "score")
    assert profile.kinds() == {"age": NUMERIC, "plan": CATEGORICAL, "score": NUMERIC}
    assert profile.features["age"].expected[-1] == 0.25  # one missing age
    subset = BaselineProfile.from_csv(path.read_bytes(), features=["plan"])
    assert list(subset.features) == ["plan"] and subset.columns == profile.columns
    with pytest.raises(ValueError, match="not in the baseline"):
        BaselineProfile.from_csv(path, features=["nope"])


def test_compare_many_features_vectorised_scale(rng: np.random.Generator) -> None:
    """A 200k x 20 comparison stays well under a second (no per-row Python)."""
    import time

    n = 200_000
    base = {f"n{i}": rng.normal(size=n) for i in range(16)}
    base.update({f"c{i}": rng.choice(np.array(["a", "b", "c", "d"]), size=n) for i in range(4)})
    start = time.perf_counter()
    profile = BaselineProfile.from_columns(base)
    result = profile.compare(base)
    assert time.perf_counter() - start < 5.0
    assert all(d.psi == pytest.approx(0.0, abs=1e-12) for d in result.values())
