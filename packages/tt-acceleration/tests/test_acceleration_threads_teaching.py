"""BLAS thread control reports what the library says; loops and vectorized code agree."""

from __future__ import annotations

import numpy as np
import pytest
from tt_acceleration import (
    blas_threads,
    compare_conv2d,
    compare_matmul,
    get_blas_threads,
    naive_conv2d,
    naive_matmul,
    set_blas_threads,
)


def test_thread_count_is_read_back_not_assumed() -> None:
    before = get_blas_threads()
    with blas_threads(1) as info:
        assert info.requested == 1
        if info.backend == "env":
            assert info.in_effect is None  # no library answered: unknown, not 1
        else:
            assert info.in_effect == 1
            assert get_blas_threads().in_effect == 1
    assert get_blas_threads().in_effect == before.in_effect
    assert set(info.to_dict()) == {"backend", "library", "requested", "in_effect", "note"}
    with pytest.raises(ValueError, match="positive"):
        set_blas_threads(0)


def test_naive_matmul_equals_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6), dtype=np.float32)
    b = rng.standard_normal((6, 3), dtype=np.float32)
    np.testing.assert_allclose(naive_matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="naive_matmul"):
        naive_matmul(a, a)


def test_naive_conv_shapes() -> None:
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    w = np.ones((1, 1, 3, 3), dtype=np.float32)
    out = naive_conv2d(x, w, padding=1)
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0, 0, 0] == 4.0 and out[0, 0, 1, 1] == 9.0


def test_comparisons_are_measured_and_agree() -> None:
    mm = compare_matmul(8, 8, 8, repeats=1)
    cv = compare_conv2d(1, 2, 6, 2, 3, repeats=1)
    for row in (mm, cv):
        assert row.loop_s > 0 and row.vectorized_s > 0
        assert row.speedup == pytest.approx(row.loop_s / row.vectorized_s)
        assert row.max_abs_diff < 1e-4
        assert row.to_dict()["speedup"] == row.speedup
