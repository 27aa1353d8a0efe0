"""Drift statistics: the baseline profile, PSI and KL divergence, in numpy.

Buckets
    Each feature of the baseline is cut into buckets once, and production
    data is counted in the same buckets.

    * Numeric features are binned by the **baseline's** quantiles: the inner
      edges are ``np.unique(np.quantile(finite_baseline, np.linspace(0, 1,
      bins + 1)[1:-1]))`` (numpy's default "linear" method; duplicate edges,
      as from a value that fills several quantiles, are dropped). The outer
      edges are open, ``-inf`` and ``+inf``, so production values below or
      above the baseline's range land in the first or last bin. Bins are
      closed on the left, ``[e_i, e_{i+1})``, like ``np.histogram``'s (whose
      last bin also holds ``+inf``), i.e. a value goes to bin
      ``np.searchsorted(edges, value, side="right")``.
    * Categorical features get one bucket per baseline category (at most
      ``max_categories``, the most frequent ones), then one
      :data:`OTHER_BUCKET` for every other value: values of the baseline's
      long tail and values never seen in the baseline. Categories are
      compared as strings.
    * Every feature has a last :data:`MISSING_BUCKET` for missing values:
      NaN and ``None`` for numbers, ``None``, NaN and the empty string for
      categories. A value that is not a number in a numeric feature counts
      as missing too.

Smoothing
    An empty bucket would make ``ln(p / q)`` infinite, so both the
    production and the baseline proportions are smoothed the same way
    before use (:func:`smooth`): with ``k`` buckets, ``c_i`` counts and
    ``n = sum(c)``, ``p_i = (c_i / n + epsilon) / (1 + k * epsilon)``. The
    default :data:`EPSILON` is ``1e-6``. Smoothed vectors sum to 1, so the
    results are reproducible with, e.g., ``scipy.stats.entropy(smooth(a),
    smooth(e))`` for KL.

Direction
    ``p`` is always the production ("actual") distribution and ``q`` the
    baseline ("expected") one:

    * ``PSI = sum_i (p_i - q_i) * ln(p_i / q_i)`` (symmetric in p and q);
    * ``KL = KL(p || q) = sum_i p_i * ln(p_i / q_i)``, in nats.

Everything is vectorised: a column is binned with one ``searchsorted`` and
counted with one ``bincount``; no Python loop runs over rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

EPSILON = 1e-6
"""Smoothing added to every bucket proportion (see :func:`smooth`)."""

DEFAULT_BINS = 10
"""Quantile bins per numeric feature (fewer when baseline quantiles coincide)."""

DEFAULT_MAX_CATEGORIES = 100
"""Most frequent baseline categories that get a bucket of their own."""

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

MISSING_BUCKET = "__missing__"
"""Label of the bucket for missing values (the last bucket of every feature)."""

OTHER_BUCKET = "__other__"
"""Label of the categorical bucket for values without a bucket of their own (unseen or rare)."""

PROFILE_FORMAT = "mlstack.drift.profile/1"
"""Value of the ``format`` field of a serialised :class:`BaselineProfile`."""


# --------------------------------------------------------------------------
# the formulas


def smooth(counts: ArrayLike, epsilon: float = EPSILON) -> np.ndarray:
    """Turn bucket counts (or proportions) into smoothed proportions.

    ``p_i = (c_i / n + epsilon) / (1 + k * epsilon)`` with ``n = sum(c)`` and
    ``k = len(c)``: every bucket gets ``epsilon`` more and the vector is
    renormalised to sum to 1, so that no proportion is 0.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ValueError("counts must be a non-empty 1-D array")
    if np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("counts must be finite and non-negative")
    if epsilon < 0:
        raise ValueError("epsilon must be >= 0")
    total = c.sum()
    if total <= 0:
        raise ValueError("no observations: all counts are 0")
    return (c / total + epsilon) / (1.0 + c.size * epsilon)


def _pair(actual: ArrayLike, expected: ArrayLike, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    p = smooth(actual, epsilon)
    q = smooth(expected, epsilon)
    if p.shape != q.shape:
        raise ValueError(f"actual has {p.size} buckets, expected {q.size}")
    return p, q


def psi(actual: ArrayLike, expected: ArrayLike, epsilon: float = EPSILON) -> float:
    """Population stability index of two bucket distributions.

    ``PSI = sum_i (p_i - q_i) * ln(p_i / q_i)`` with ``p`` the smoothed
    production (actual) proportions and ``q`` the smoothed baseline
    (expected) ones. ``actual`` and ``expected`` are counts or proportions
    over the same buckets. 0 means identical; > 0.2 is usually read as a
    significant shift.
    """
    p, q = _pair(actual, expected, epsilon)
    return float(np.sum((p - q) * np.log(p / q)))


def kl_divergence(actual: ArrayLike, expected: ArrayLike, epsilon: float = EPSILON) -> float:
    """KL divergence KL(production || baseline), in nats.

    ``KL = sum_i p_i * ln(p_i / q_i)`` with ``p`` the smoothed production
    (actual) proportions and ``q`` the smoothed baseline (expected) ones,
    i.e. ``scipy.stats.entropy(smooth(actual), smooth(expected))``.
    """
    p, q = _pair(actual, expected, epsilon)
    return float(np.sum(p * np.log(p / q)))


# --------------------------------------------------------------------------
# value conversion (vectorised)


def to_float(values: ArrayLike) -> np.ndarray:
    """Values as a float64 array; missing or non-numeric values become NaN.

    Numeric arrays pass through; strings are parsed by numpy (the empty
    string is NaN); ``None`` is NaN. Only when a value does not parse does a
    slower element-wise path run, turning those values into NaN.
    """
    strict = _to_float_strict(values)
    if strict is not None:
        return strict
    arr = np.asarray(values, dtype=object).ravel()
    return np.fromiter((_float_or_nan(v) for v in arr), dtype=np.float64, count=arr.size)


def _float_or_nan(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float's range: infinite, as "1e400" reads
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


def _to_float_strict(values: ArrayLike) -> np.ndarray | None:
    """Values as float64, or None when some value is not a number (or missing)."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = arr.dtype.kind
    if kind in "fiu":
        return arr.astype(np.float64, copy=False).ravel()
    if kind == "b":
        return None
    if kind == "S":
        arr = np.char.decode(arr, "utf-8")
        kind = "U"
    if kind == "U":
        empty = arr == ""
        if empty.any():
            arr = np.where(empty, "nan", arr)
        try:
            return arr.astype(np.float64).ravel()
        except ValueError:
            return None
    if kind == "O":
        arr = arr.ravel()
        try:
            return arr.astype(np.float64)
        except OverflowError:  # an integer beyond float's range: the lenient path makes it NaN
            return None
        except (TypeError, ValueError):
            pass
        empty = np.equal(arr, "")
        if not empty.any():
            return None
        arr = arr.copy()
        arr[empty] = None
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def to_category(values: ArrayLike) -> np.ndarray:
    """Values as a numpy string array, with ``""`` for a missing value.

    ``None``, NaN and ``""`` are missing; numbers become their ``str``.
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    arr = arr.ravel()
    kind = arr.dtype.kind
    if kind == "U":
        return arr
    if kind == "S":
        return np.char.decode(arr, "utf-8")
    if kind == "f":
        return np.where(np.isnan(arr), "", arr.astype(str))
    if kind in "iub":
        return arr.astype(str)
    obj = arr.astype(object, copy=True)
    missing = np.equal(obj, None) | np.not_equal(obj, obj)
    if missing.any():
        obj[missing] = ""
    if obj.size == 0:
        return np.empty(0, dtype="<U1")
    return obj.astype(str)


def infer_kind(values: ArrayLike) -> str:
    """:data:`NUMERIC` if every present value is a number, else :data:`CATEGORICAL`."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.dtype.kind == "b":
        return CATEGORICAL
    return NUMERIC if _to_float_strict(arr) is not None else CATEGORICAL


def quantile_edges(values: ArrayLike, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges of a numeric baseline: its deduplicated inner quantiles.

    ``np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))``
    over the finite values; the outer edges, -inf and +inf, are implied.
    """
    if bins < 1:
        raise ValueError("bins must be >= 1")
    x = to_float(values)
    finite = x[np.isfinite(x)]
    if finite.size == 0 or bins == 1:
        return np.empty(0, dtype=np.float64)
    return np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


_COMPARE_EDGES = 32  # up to this many edges, bin by comparisons (faster than a binary search)


def _numeric_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of float values in the bins ``(-inf, e_0), [e_0, e_1), ... [e_last, inf]`` then NaN.

    The bin of ``v`` is ``np.searchsorted(edges, v, side="right")``, the
    number of edges ``<= v``; with few edges it is computed as such a sum
    of comparisons, one vectorised pass per edge.
    """
    k = edges.size
    nan = np.isnan(x)
    if k <= _COMPARE_EDGES:
        idx = np.zeros(x.shape, dtype=np.uint8)
        for edge in edges:  # a loop over (few) edges, not over rows
            np.add(idx, x >= edge, out=idx, casting="unsafe")
    else:
        idx = np.searchsorted(edges, x, side="right")
    if nan.any():
        idx[nan] = k + 1
    return np.bincount(idx, minlength=k + 2).astype(np.int64, copy=False)


def _profile_numeric(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, counts)`` of a numeric baseline column, from one sort.

    Same edges as :func:`quantile_edges` and counts as :func:`_numeric_counts`.
    """
    present = x[~np.isnan(x)]
    xs = np.sort(present)
    finite = xs[np.searchsorted(xs, -np.inf, side="right") : np.searchsorted(xs, np.inf, side="left")]
    if finite.size == 0 or bins == 1:
        edges = np.empty(0, dtype=np.float64)
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    below = np.searchsorted(xs, edges, side="left")  # values < each edge
    counts = np.diff(np.concatenate(([0], below, [xs.size])))
    counts = np.append(counts, x.size - xs.size).astype(np.int64)
    return edges, counts


# --------------------------------------------------------------------------
# profiles


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature: production (actual) against baseline (expected).

    ``actual`` and ``expected`` are the raw (unsmoothed) bucket proportions,
    in the order of ``buckets``; ``psi`` and ``kl`` are computed on their
    smoothed versions (see the module docstring).
    """

    feature: str
    kind: str
    psi: float
    kl: float
    count: int
    missing: int
    baseline_count: int
    buckets: tuple[str, ...]
    actual: tuple[float, ...]
    expected: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "psi": self.psi,
            "kl": self.kl,
            "count": self.count,
            "missing": self.missing,
            "baseline_count": self.baseline_count,
            "buckets": list(self.buckets),
            "actual": list(self.actual),
            "expected": list(self.expected),
        }


class FeatureProfile:
    """How one baseline feature is bucketed, and its expected proportions.

    ``expected`` holds the raw baseline proportion of each bucket: for a
    numeric feature ``len(edges) + 1`` bins then the missing bucket; for a
    categorical one ``len(categories)`` buckets, the other/unseen bucket,
    then the missing bucket.
    """

    __slots__ = ("name", "kind", "count", "edges", "categories", "expected", "_lookup")

    def __init__(
        self,
        name: str,
        kind: str,
        *,
        expected: ArrayLike,
        count: int,
        edges: ArrayLike | None = None,
        categories: Sequence[str] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"feature {name!r}: kind must be one of {KINDS}, not {kind!r}")
        self.name = str(name)
        self.kind = kind
        self.count = int(count)
        self.expected = np.asarray(expected, dtype=np.float64)
        if kind == NUMERIC:
            self.edges = np.asarray(edges if edges is not None else [], dtype=np.float64).ravel()
            self.categories: tuple[str, ...] = ()
            if not np.all(np.isfinite(self.edges)) or np.any(np.diff(self.edges) <= 0):
                raise ValueError(f"feature {name!r}: edges must be finite and strictly increasing")
        else:
            self.edges = np.empty(0, dtype=np.float64)
            self.categories = tuple(str(c) for c in (categories or ()))
            if "" in self.categories or len(set(self.categories)) != len(self.categories):
                raise ValueError(f"feature {name!r}: categories must be distinct and non-empty")
        if self.expected.shape != (self.n_buckets,):
            raise ValueError(
                f"feature {name!r}: expected has {self.expected.size} proportions, "
                f"its buckets are {self.n_buckets}"
            )
        if self.count < 1:
            raise ValueError(f"feature {name!r}: the baseline count must be >= 1")
        if np.any(self.expected < 0) or not math.isclose(float(self.expected.sum()), 1.0, abs_tol=1e-6):
            raise ValueError(f"feature {name!r}: expected proportions must be >= 0 and sum to 1")
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None

    # -- shape ----------------------------------------------------------

    @property
    def n_buckets(self) -> int:
        if self.kind == NUMERIC:
            return self.edges.size + 2
        return len(self.categories) + 2

    @property
    def buckets(self) -> tuple[str, ...]:
        """Bucket labels, in the order of :attr:`expected`."""
        if self.kind == CATEGORICAL:
            return (*self.categories, OTHER_BUCKET, MISSING_BUCKET)
        bounds = [-math.inf, *self.edges.tolist(), math.inf]
        labels = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            left = "(" if lo == -math.inf else "["
            labels.append(f"{left}{lo:.6g}, {hi:.6g})")
        return (*labels, MISSING_BUCKET)

    # -- building -------------------------------------------------------

    @classmethod
    def from_values(
        cls,
        name: str,
        values: ArrayLike,
        *,
        kind: str | None = None,
        bins: int = DEFAULT_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
    ) -> FeatureProfile:
        """Profile one baseline column (kind inferred when not given)."""
        arr = values if isinstance(values, np.ndarray) else np.asarray(values)
        n = arr.size
        if n == 0:
            raise ValueError(f"feature {name!r}: the baseline has no rows")
        kind = kind or infer_kind(arr)
        if kind == NUMERIC:
            if bins < 1:
                raise ValueError("bins must be >= 1")
            edges, counts = _profile_numeric(to_float(arr), bins)
        elif kind == CATEGORICAL:
            if max_categories < 0:
                raise ValueError("max_categories must be >= 0")
            s = to_category(arr)
            present = s[s != ""]
            uniq, cnt = np.unique(present, return_counts=True)
            order = np.lexsort((uniq, -cnt))[:max_categories]  # most frequent first, ties by value
            kept = uniq[order]
            counts = np.zeros(kept.size + 2, dtype=np.int64)
            counts[: kept.size] = cnt[order]
            counts[kept.size] = present.size - counts[: kept.size].sum()
            counts[kept.size + 1] = n - present.size
            return cls(name, CATEGORICAL, categories=kept.tolist(), expected=counts / n, count=n)
        else:
            raise ValueError(f"feature {name!r}: kind must be one of {KINDS}, not {kind!r}")
        return cls(name, NUMERIC, edges=edges, expected=counts / n, count=n)

    # -- counting -------------------------------------------------------

    def bucket_counts(self, values: ArrayLike) -> np.ndarray:
        """Count values into this feature's buckets (int64, one per bucket)."""
        if self.kind == NUMERIC:
            return _numeric_counts(to_float(values), self.edges)
        s = to_category(values)
        k = len(self.categories)
        bucket = np.full(s.shape, k, dtype=np.intp)  # other / unseen
        if k:
            sorted_cats, order = self._category_lookup()
            pos = np.searchsorted(sorted_cats, s)
            np.minimum(pos, k - 1, out=pos)
            hit = sorted_cats[pos] == s
            bucket[hit] = order[pos[hit]]
        bucket[s == ""] = k + 1
        return np.bincount(bucket, minlength=self.n_buckets).astype(np.int64, copy=False)

    def _category_lookup(self) -> tuple[np.ndarray, np.ndarray]:
        if self._lookup is None:
            cats = np.asarray(self.categories, dtype=str)
            order = np.argsort(cats, kind="stable")
            self._lookup = (cats[order], order)
        return self._lookup

    def compare(self, values: ArrayLike, epsilon: float = EPSILON) -> FeatureDrift:
        """PSI and KL of production ``values`` against this baseline feature."""
        counts = self.bucket_counts(values)
        n = int(counts.sum())
        if n == 0:
            raise ValueError(f"feature {self.name!r}: no production values to compare")
        p, q = _pair(counts, self.expected, epsilon)
        return FeatureDrift(
            feature=self.name,
            kind=self.kind,
            psi=float(np.sum((p - q) * np.log(p / q))),
            kl=float(np.sum(p * np.log(p / q))),
            count=n,
            missing=int(counts[-1]),
            baseline_count=self.count,
            buckets=self.buckets,
            actual=tuple((counts / n).tolist()),
            expected=tuple(self.expected.tolist()),
        )

    # -- serialisation ----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "count": self.count}
        if self.kind == NUMERIC:
            out["edges"] = self.edges.tolist()
        else:
            out["categories"] = list(self.categories)
        out["expected"] = self.expected.tolist()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        try:
            return cls(
                data["name"],
                data["kind"],
                expected=data["expected"],
                count=data["count"],
                edges=data.get("edges"),
                categories=data.get("categories"),
            )
        except KeyError as exc:
            raise ValueError(f"feature profile lacks the field {exc.args[0]!r}") from None

    def __repr__(self) -> str:
        return f"FeatureProfile({self.name!r}, {self.kind}, buckets={self.n_buckets}, count={self.count})"


class BaselineProfile:
    """Bucket edges and expected proportions of every baseline feature.

    Build it once from the baseline data (:meth:`from_columns`,
    :meth:`from_csv`), store it as JSON (:meth:`to_json`, :meth:`save`), and
    load it in every drift run (:meth:`from_json`, :meth:`load`).

    ``columns`` is the column order of the baseline data, which is also the
    field order of CSV request payloads; ``features`` are the profiled
    columns (all of them unless a subset was asked for).
    """

    def __init__(self, features: Iterable[FeatureProfile], columns: Sequence[str] | None = None) -> None:
        self.features: dict[str, FeatureProfile] = {}
        for f in features:
            if f.name in self.features:
                raise ValueError(f"feature {f.name!r} is profiled twice")
            self.features[f.name] = f
        self.columns: tuple[str, ...] = tuple(columns) if columns is not None else tuple(self.features)
        unknown = [name for name in self.features if name not in self.columns]
        if unknown:
            raise ValueError(f"profiled features {unknown} are not among the columns")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("column names must be distinct")

    # -- building -------------------------------------------------------

    @classmethod
    def from_columns(
        cls,
        data: Mapping[str, ArrayLike],
        *,
        features: Sequence[str] | None = None,
        categorical: Iterable[str] = (),
        numeric: Iterable[str] = (),
        bins: int = DEFAULT_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
    ) -> BaselineProfile:
        """Profile baseline columns (a mapping of name to values, in column order).

        Kinds are inferred (all-numbers -> numeric) unless a name is listed
        in ``categorical`` or ``numeric``.
        """
        columns = list(data)
        names = list(features) if features is not None else columns
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"features not in the baseline: {', '.join(map(str, missing))}")
        cat, num = set(categorical), set(numeric)
        if cat & num:
            raise ValueError(f"features both categorical and numeric: {sorted(cat & num)}")
        sizes = {np.asarray(data[n]).size for n in columns}
        if len(sizes) > 1:
            raise ValueError("baseline columns differ in length")
        profiles = []
        for name in names:
            kind = CATEGORICAL if name in cat else NUMERIC if name in num else None
            profiles.append(
                FeatureProfile.from_values(name, data[name], kind=kind, bins=bins, max_categories=max_categories)
            )
        return cls(profiles, columns)

    @classmethod
    def from_csv(cls, source: str | os.PathLike[str] | bytes, **kwargs: Any) -> BaselineProfile:
        """Profile a baseline CSV with a header row (a path, or the CSV bytes).

        Keyword arguments are those of :meth:`from_columns`.
        """
        from mlstack.drift.tables import parse_csv_table

        if isinstance(source, bytes):
            text = source.decode("utf-8-sig")
        else:
            with open(source, encoding="utf-8-sig", newline="") as fh:
                text = fh.read()
        header, columns = parse_csv_table(text)
        return cls.from_columns(dict(zip(header, columns)), **kwargs)

    # -- use ------------------------------------------------------------

    def compare(
        self,
        data: Mapping[str, ArrayLike],
        *,
        features: Sequence[str] | None = None,
        epsilon: float = EPSILON,
    ) -> dict[str, FeatureDrift]:
        """PSI and KL per feature of production ``data`` (name -> values)."""
        names = list(features) if features is not None else list(self.features)
        out = {}
        for name in names:
            if name not in self.features:
                raise KeyError(f"feature {name!r} is not in the baseline profile")
            if name not in data:
                raise KeyError(f"feature {name!r} is not in the production data")
            out[name] = self.features[name].compare(data[name], epsilon)
        return out

    def kinds(self) -> dict[str, str]:
        return {name: f.kind for name, f in self.features.items()}

    # -- serialisation ----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "columns": list(self.columns),
            "features": [f.to_dict() for f in self.features.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BaselineProfile:
        if not isinstance(data, Mapping) or data.get("format") != PROFILE_FORMAT:
            raise ValueError(f"not a baseline profile: its format must be {PROFILE_FORMAT!r}")
        feats = data.get("features")
        if not isinstance(feats, list):
            raise ValueError("baseline profile: 'features' must be a list")
        return cls((FeatureProfile.from_dict(f) for f in feats), data.get("columns"))

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text; floats round-trip exactly."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> BaselineProfile:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"baseline profile is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.write("\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BaselineProfile:
        with open(path, "rb") as fh:
            return cls.from_json(fh.read())

    def __repr__(self) -> str:
        return f"BaselineProfile({len(self.features)} features, columns={len(self.columns)})"
