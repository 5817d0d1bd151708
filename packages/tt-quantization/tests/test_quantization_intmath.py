"""Integer accumulation: the BLAS shortcut must be bit-for-bit the integer product."""

from __future__ import annotations

import numpy as np
import pytest
from tt_quantization import accumulation_bound, integer_matmul, requantize


def _ref(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


@pytest.mark.parametrize("k", [1, 7, 784, 4096])
def test_auto_matches_int64_reference_exactly(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.integers(-255, 256, size=(9, k)).astype(np.int16)  # zero-point-shifted int8
    b = rng.integers(-127, 128, size=(k, 5)).astype(np.int16)
    out = integer_matmul(a, b)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, _ref(a, b))


def test_worst_case_magnitudes_stay_exact_through_float64() -> None:
    k = 2048  # every product is 255 * 127: sums reach 66 million, far beyond 2**24
    a = np.full((3, k), 255, np.int16)
    b = np.full((k, 4), 127, np.int16)
    assert accumulation_bound(a, b) > 2**24
    np.testing.assert_array_equal(integer_matmul(a, b), _ref(a, b))
    with pytest.raises(ValueError, match="2\\*\\*24"):
        integer_matmul(a, b, method="float32")
    np.testing.assert_array_equal(integer_matmul(a, b, method="int"), _ref(a, b))


def test_float32_would_round_where_the_bound_forbids_it() -> None:
    """Why the bound matters: float32 loses the last bit of 2**24 + 1."""
    a = np.array([[2**12, 2**12, 1]], np.int32)
    b = np.array([[2**12], [2**12], [1]], np.int32)
    naive = np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.int64)
    assert int(naive[0, 0]) != 2**25 + 1
    assert int(integer_matmul(a, b)[0, 0]) == 2**25 + 1


def test_batched_shapes_as_in_grouped_convolution() -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(2, 3, 18)).astype(np.int16)  # (G, Og, K)
    cols = rng.integers(-255, 256, size=(4, 2, 18, 25)).astype(np.int16)  # (N, G, K, P)
    np.testing.assert_array_equal(integer_matmul(w, cols), _ref(w, cols))


def test_rejects_floats_and_int32_overflow() -> None:
    with pytest.raises(TypeError, match="integer array"):
        integer_matmul(np.zeros((2, 2)), np.zeros((2, 2), np.int8))
    a = np.full((1, 70_000), 255, np.int16)
    b = np.full((70_000, 1), 127, np.int16)
    with pytest.raises(OverflowError, match="int32"):
        integer_matmul(a, b)


def test_requantize_rounds_and_clamps() -> None:
    acc = np.array([[-1000, -3, 0, 3, 1000]], np.int32)
    q = requantize(acc, np.array(0.5), zero_point=10, qmin=-128, qmax=127)
    assert q.dtype == np.int8
    # -500 -> clamp; -1.5 -> -2 (half to even); 0; 1.5 -> 2; 500 -> clamp
    assert q.tolist() == [[-128, 8, 10, 12, 127]]
