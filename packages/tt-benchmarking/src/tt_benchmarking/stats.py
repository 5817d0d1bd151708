"""The statistics a benchmark needs, in NumPy: robust summaries, bootstrap, Mann–Whitney U.

Timings are skewed (a run can be slowed down, never sped up, by the rest of the
machine), so the summaries are the median and the interquartile range, the
uncertainty comes from resampling the measured runs (bootstrap), and "is B
faster than A?" is answered by a rank test that assumes no normal distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Array: TypeAlias = npt.NDArray[np.float64]
Samples: TypeAlias = Sequence[float] | npt.NDArray[Any]
Statistic: TypeAlias = str | Callable[[Array], Array]


def as_samples(samples: Samples, name: str = "samples") -> Array:
    """A 1-D float64 array of finite values, or a clear error."""
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: nothing was measured")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def quartiles(samples: Samples) -> tuple[float, float, float]:
    """(Q1, median, Q3) with linear interpolation (NumPy's default method)."""
    q1, q2, q3 = np.percentile(as_samples(samples), [25.0, 50.0, 75.0])
    return float(q1), float(q2), float(q3)


def iqr(samples: Samples) -> float:
    q1, _, q3 = quartiles(samples)
    return q3 - q1


def _rowwise(statistic: Statistic) -> Callable[[Array], Array]:
    """A function computing the statistic of every row of a 2-D array."""
    if statistic == "median":
        return lambda m: np.asarray(np.median(m, axis=-1), dtype=np.float64)
    if statistic == "mean":
        return lambda m: np.asarray(np.mean(m, axis=-1), dtype=np.float64)
    if callable(statistic):
        return statistic
    raise ValueError(f"statistic must be 'median', 'mean' or a callable, got {statistic!r}")


def _check_bootstrap(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _resample(x: Array, n_resamples: int, rng: np.random.Generator) -> Array:
    """`n_resamples` rows, each drawn with replacement from `x` (one vectorized draw)."""
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    return x[idx]


def _interval(values: Array, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(
    samples: Samples,
    statistic: Statistic = "median",
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of `statistic` (deterministic for a seed).

    A callable statistic receives a 2-D array (one resample per row) and
    returns one value per row.
    """
    _check_bootstrap(n_resamples, confidence)
    x = as_samples(samples)
    rng = np.random.default_rng(seed)
    values = _rowwise(statistic)(_resample(x, n_resamples, rng))
    return _interval(np.asarray(values, dtype=np.float64), confidence)


def ratio_ci(
    numerator: Samples,
    denominator: Samples,
    statistic: Statistic = "median",
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Bootstrap CI of `stat(numerator) / stat(denominator)`, resampling both independently.

    With timings of a baseline as numerator and a candidate as denominator this
    is the confidence interval of the speedup.
    """
    _check_bootstrap(n_resamples, confidence)
    a = as_samples(numerator, "numerator")
    b = as_samples(denominator, "denominator")
    if np.any(b <= 0):
        raise ValueError("denominator samples must be positive to form a ratio")
    rng = np.random.default_rng(seed)
    stat = _rowwise(statistic)
    ratios = stat(_resample(a, n_resamples, rng)) / stat(_resample(b, n_resamples, rng))
    return _interval(np.asarray(ratios, dtype=np.float64), confidence)


def rankdata(values: Samples) -> Array:
    """Ranks 1..n, ties receiving the average of the ranks they span."""
    x = np.asarray(values, dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # last rank of each group of equal values
    averages = ends - (counts - 1) / 2.0
    return np.asarray(averages[inverse.reshape(-1)], dtype=np.float64)


@dataclass(frozen=True)
class MannWhitneyResult:
    """Two-sided Mann–Whitney U test of `a` against `b`.

    `u` is U for `a` (SciPy's `statistic`): the number of (a_i, b_j) pairs with
    a_i > b_j, ties counting one half. `prob_a_greater = u / (n_a * n_b)` is the
    chance that a random run of `a` is slower than one of `b` (for timings).
    """

    u: float
    u_b: float
    n_a: int
    n_b: int
    z: float
    p_value: float
    tie_correction: float

    @property
    def prob_a_greater(self) -> float:
        return self.u / (self.n_a * self.n_b)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": "Mann-Whitney U (two-sided, normal approximation, tie-corrected)",
            "u": self.u,
            "u_b": self.u_b,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "z": self.z,
            "p_value": self.p_value,
            "prob_a_greater": self.prob_a_greater,
        }


def mann_whitney_u(a: Samples, b: Samples, *, continuity: bool = True) -> MannWhitneyResult:
    """Mann–Whitney U with the normal approximation, tie correction and continuity correction.

    Matches `scipy.stats.mannwhitneyu(a, b, method="asymptotic")`:
    U_a = R_a - n_a(n_a+1)/2 from the ranks of the pooled sample;
    sigma^2 = n_a n_b / 12 * ((n+1) - sum(t^3 - t) / (n(n-1))) over groups of t ties;
    z = (max(U_a, U_b) - n_a n_b / 2 - 0.5) / sigma; p = erfc(z / sqrt 2), at most 1.
    """
    x = as_samples(a, "a")
    y = as_samples(b, "b")
    n_a, n_b = x.size, y.size
    n = n_a + n_b
    ranks = rankdata(np.concatenate([x, y]))
    u_a = float(ranks[:n_a].sum() - n_a * (n_a + 1) / 2.0)
    u_b = float(n_a * n_b - u_a)
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    ties = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    tie_term = ties / (n * (n - 1)) if n > 1 else 0.0
    variance = n_a * n_b / 12.0 * ((n + 1) - tie_term)
    mu = n_a * n_b / 2.0
    big = max(u_a, u_b)
    if variance <= 0.0:  # every value equal: no evidence of any difference
        return MannWhitneyResult(u_a, u_b, n_a, n_b, 0.0, 1.0, tie_term)
    z = (big - mu - (0.5 if continuity else 0.0)) / math.sqrt(variance)
    p = min(1.0, math.erfc(z / math.sqrt(2.0)))
    return MannWhitneyResult(u_a, u_b, n_a, n_b, z, p, tie_term)
