"""Statistics against values computed by hand (and SciPy when it is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tt_benchmarking import bootstrap_ci, iqr, mann_whitney_u, quartiles, rankdata, ratio_ci


def test_rankdata_averages_ties() -> None:
    np.testing.assert_array_equal(rankdata([10.0, 20.0, 20.0, 5.0]), [2.0, 3.5, 3.5, 1.0])


def test_quartiles_and_iqr_by_hand() -> None:
    # 1..9: linear interpolation puts Q1 at 3, the median at 5, Q3 at 7.
    data = [9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0]
    assert quartiles(data) == (3.0, 5.0, 7.0)
    assert iqr(data) == 4.0


def test_mann_whitney_small_example_by_hand() -> None:
    # a = [1, 2, 4], b = [3, 5, 6]: pairs with a > b: (4 > 3) only -> U_a = 1, U_b = 8.
    # No ties, n = 6: sigma^2 = 3*3/12 * 7 = 5.25, mu = 4.5.
    # z = (8 - 4.5 - 0.5) / sqrt(5.25); p = erfc(z / sqrt 2).
    res = mann_whitney_u([1.0, 2.0, 4.0], [3.0, 5.0, 6.0])
    assert res.u == 1.0
    assert res.u_b == 8.0
    z = 3.0 / math.sqrt(5.25)
    assert res.z == pytest.approx(z)
    assert res.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert res.p_value == pytest.approx(0.1904, abs=1e-4)
    assert res.prob_a_greater == pytest.approx(1 / 9)


def test_mann_whitney_with_ties_by_hand() -> None:
    # a = [1, 2, 2], b = [2, 3]: pooled 1,2,2,2,3 -> ranks 1, 3, 3, 3, 5.
    # R_a = 1 + 3 + 3 = 7 -> U_a = 7 - 6 = 1; U_b = 6 - 1 = 5.
    # One tie group of t = 3: sum(t^3 - t) = 24; n = 5: sigma^2 = 6/12 * (6 - 24/20) = 2.4.
    res = mann_whitney_u([1.0, 2.0, 2.0], [2.0, 3.0])
    assert res.u == 1.0
    z = (5.0 - 3.0 - 0.5) / math.sqrt(2.4)
    assert res.z == pytest.approx(z)
    assert res.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))


def test_mann_whitney_identical_samples() -> None:
    res = mann_whitney_u([1.0, 1.0, 1.0], [1.0, 1.0])
    assert res.p_value == 1.0
    assert res.u == 3.0


def test_mann_whitney_detects_shift() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(10.0, 1.0, 40)
    assert mann_whitney_u(a, a + 3.0).p_value < 1e-6
    assert mann_whitney_u(a, rng.permutation(a)).p_value > 0.9


def test_mann_whitney_matches_scipy_when_installed() -> None:
    scipy_stats = pytest.importorskip(
        "scipy.stats", reason="SciPy not installed: cross-check skipped"
    )
    rng = np.random.default_rng(7)
    for _ in range(5):
        a = np.round(rng.normal(0, 1, 17), 1)  # rounding makes ties
        b = np.round(rng.normal(0.4, 1, 23), 1)
        ours = mann_whitney_u(a, b)
        ref = scipy_stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
        assert ours.u == pytest.approx(ref.statistic)
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    data = np.random.default_rng(3).exponential(1.0, 50)
    first = bootstrap_ci(data, seed=11)
    assert bootstrap_ci(data, seed=11) == first
    assert bootstrap_ci(data, seed=12) != first
    lo, hi = first
    assert lo <= float(np.median(data)) <= hi


def test_bootstrap_of_constant_sample_is_a_point() -> None:
    assert bootstrap_ci([2.0] * 10, "mean") == (2.0, 2.0)


def test_bootstrap_interval_narrows_with_more_data() -> None:
    rng = np.random.default_rng(5)
    small = bootstrap_ci(rng.normal(0, 1, 20), seed=0)
    large = bootstrap_ci(rng.normal(0, 1, 2000), seed=0)
    assert large[1] - large[0] < small[1] - small[0]


def test_ratio_ci_covers_known_ratio() -> None:
    rng = np.random.default_rng(9)
    base = rng.uniform(1.9, 2.1, 60)
    fast = rng.uniform(0.95, 1.05, 60)
    lo, hi = ratio_ci(base, fast, seed=0)
    assert lo < 2.0 < hi
    assert lo > 1.8 and hi < 2.2


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(ValueError, match="non-finite"):
        mann_whitney_u([1.0, float("nan")], [1.0])
