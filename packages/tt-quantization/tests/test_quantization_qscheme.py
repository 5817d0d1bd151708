"""The affine int8 map and the observers that choose its parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tt_quantization import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PercentileObserver,
    QConfig,
    QParams,
    calculate_qparams,
    dequantize,
    fake_quantize_array,
    qrange,
    quantize,
)


def test_qrange_signed_and_restricted() -> None:
    assert qrange(8, symmetric=False) == (-128, 127)
    assert qrange(8, symmetric=True) == (-127, 127)
    assert qrange(4, symmetric=False) == (-8, 7)
    assert qrange(2, symmetric=True) == (-1, 1)


@pytest.mark.parametrize("bits", [0, 1, 9, 16, -8])
def test_bad_bit_width_is_a_value_error(bits: int) -> None:
    with pytest.raises(ValueError, match="bit width"):
        qrange(bits, False)
    with pytest.raises(ValueError, match="bit width"):
        calculate_qparams(-1.0, 1.0, bits=bits)
    with pytest.raises(ValueError, match="bit width"):
        QConfig(weight_bits=bits)
    with pytest.raises(ValueError, match="bit width"):
        MinMaxObserver(bits=bits)


@pytest.mark.parametrize("bits", [8.0, "8", True])
def test_non_int_bit_width_is_a_type_error(bits: object) -> None:
    with pytest.raises(TypeError, match="bit width must be an int"):
        QConfig(activation_bits=bits)  # type: ignore[arg-type]


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("bits", [8, 6, 4])
def test_round_trip_error_is_at_most_half_a_step(symmetric: bool, bits: int) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10_000) * 3 + 1).astype(np.float32)
    qp = calculate_qparams(x.min(), x.max(), bits, symmetric)
    q = quantize(x, qp)
    assert q.dtype == np.int8
    assert q.min() >= qp.qmin and q.max() <= qp.qmax
    err = np.abs(dequantize(q, qp) - x)
    assert err.max() <= float(qp.scale) / 2 * (1 + 1e-5)
    # and it is not trivially zero: the grid is coarse
    assert err.mean() > float(qp.scale) / 10


def test_zero_is_exact_and_range_covers_zero() -> None:
    qp = calculate_qparams(0.5, 3.0, 8, symmetric=False)  # widened to [0, 3]
    assert dequantize(quantize(np.zeros(3, np.float32), qp), qp).tolist() == [0, 0, 0]
    assert int(qp.zero_point) == -128
    qp_neg = calculate_qparams(-4.0, -1.0, 8, symmetric=False)  # widened to [-4, 0]
    assert int(qp_neg.zero_point) == 127
    assert float(dequantize(quantize(np.float32([-4.0]), qp_neg), qp_neg)[0]) == pytest.approx(-4)


def test_values_outside_the_range_clamp() -> None:
    qp = calculate_qparams(-1.0, 1.0, 8, symmetric=True)
    q = quantize(np.float32([-100.0, 100.0, np.inf, -np.inf]), qp)
    assert q.tolist() == [-127, 127, 127, -127]


def test_all_zero_tensor_gets_a_positive_scale() -> None:
    qp = calculate_qparams(0.0, 0.0, 8, symmetric=True)
    assert float(qp.scale) > 0
    assert dequantize(quantize(np.zeros(4, np.float32), qp), qp).tolist() == [0.0] * 4


def test_bad_inputs() -> None:
    qp = calculate_qparams(-1.0, 1.0)
    with pytest.raises(TypeError, match="floating point"):
        quantize(np.arange(3), qp)
    with pytest.raises(TypeError, match="integer"):
        dequantize(np.zeros(3, np.float32), qp)
    with pytest.raises(ValueError, match="nan"):
        quantize(np.float32([0.0, np.nan]), qp)
    with pytest.raises(ValueError, match="not finite"):
        calculate_qparams(-np.inf, 1.0)
    with pytest.raises(ValueError, match="positive"):
        QParams(np.float32(0.0), np.int32(0), 8, False)
    pc = calculate_qparams(np.zeros(3), np.ones(3), axis=0)
    with pytest.raises(ValueError, match="3 channels"):
        quantize(np.zeros((4, 2), np.float32), pc)


def _skewed_weight() -> np.ndarray:
    """Rows whose magnitudes differ by 1000x, as in real layers with a few loud neurons."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    return w * np.logspace(-3, 0, 16, dtype=np.float32)[:, None]


def test_per_channel_beats_per_tensor_on_skewed_weights() -> None:
    w = _skewed_weight()
    per_tensor = calculate_qparams(w.min(), w.max(), 8, symmetric=True)
    per_channel = calculate_qparams(w.min(axis=1), w.max(axis=1), 8, symmetric=True, axis=0)
    assert per_channel.scale.shape == (16,)
    err_t = np.mean((fake_quantize_array(w, per_tensor) - w) ** 2)
    err_c = np.mean((fake_quantize_array(w, per_channel) - w) ** 2)
    assert err_c < err_t  # lower in absolute terms, dominated by the loud rows...

    def relative_row_error(qp: object) -> float:  # ...and far lower relative to each row
        e = ((fake_quantize_array(w, qp) - w) ** 2).sum(axis=1) / (w**2).sum(axis=1)  # type: ignore[arg-type]
        return float(e.mean())

    assert relative_row_error(per_channel) < relative_row_error(per_tensor) / 100
    # the small rows are wiped out entirely by the per-tensor grid, not per channel
    assert np.all(fake_quantize_array(w[:2], per_tensor) == 0)
    small = fake_quantize_array(w, per_channel)[:2]
    assert np.count_nonzero(small) > 0.9 * small.size


def test_minmax_observer_tracks_running_range_per_tensor_and_per_channel() -> None:
    obs = MinMaxObserver(8, symmetric=False)
    with pytest.raises(RuntimeError, match="seen no data"):
        obs.calculate_qparams()
    obs.observe(np.float32([0.0, 1.0]))
    obs.observe(np.float32([-2.0, 0.5]))
    qp = obs.calculate_qparams()
    assert float(qp.scale) == pytest.approx(3.0 / 255)
    assert obs.batches == 2

    pc = MinMaxObserver(8, symmetric=True, axis=0)
    pc.observe(np.float32([[1.0, -2.0], [0.1, 0.2]]))
    qp = pc.calculate_qparams()
    np.testing.assert_allclose(qp.scale, np.float32([2.0, 0.2]) / 127, rtol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        pc.observe(np.zeros((3, 2), np.float32))


def test_observer_rejects_bad_tensors() -> None:
    obs = MinMaxObserver()
    with pytest.raises(TypeError, match="floating point"):
        obs.observe(np.arange(3))
    with pytest.raises(ValueError, match="empty"):
        obs.observe(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="inf or nan"):
        obs.observe(np.float32([1.0, np.nan]))


def test_percentile_observer_clips_outliers() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(100_000).astype(np.float32)
    x[:5] = 1000.0  # a handful of huge outliers
    mm = MinMaxObserver(8, symmetric=True)
    pct = PercentileObserver(99.9, 8, symmetric=True)
    for chunk in np.split(x, 10):
        mm.observe(chunk)
        pct.observe(chunk)
    s_mm, s_pct = float(mm.calculate_qparams().scale), float(pct.calculate_qparams().scale)
    assert s_mm == pytest.approx(1000 / 127)
    assert s_pct < s_mm / 100  # ~3.3 sigma instead of 1000
    body = x[5:]
    err_mm = np.mean((fake_quantize_array(body, mm.calculate_qparams()) - body) ** 2)
    err_pct = np.mean((fake_quantize_array(body, pct.calculate_qparams()) - body) ** 2)
    assert err_pct < err_mm / 100


def test_percentile_observer_sample_stays_bounded_and_uniform() -> None:
    obs = PercentileObserver(99.0, max_samples=1000, seed=3)
    for i in range(20):
        obs.observe(np.full(500, float(i), np.float32))
    assert obs._values.size == 1000
    # every batch is represented about equally: a uniform sample over the stream
    counts = np.bincount(obs._values.astype(int), minlength=20)
    assert counts.min() > 20 and counts.max() < 80
    with pytest.raises(ValueError, match="percentile"):
        PercentileObserver(10.0)


def test_moving_average_observer_follows_drift() -> None:
    obs = MovingAverageMinMaxObserver(averaging_constant=0.5)
    obs.observe(np.float32([0.0, 4.0]))
    obs.observe(np.float32([0.0, 2.0]))
    assert float(obs.max_val) == pytest.approx(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="averaging_constant"):
        MovingAverageMinMaxObserver(averaging_constant=0.0)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=1, max_size=64),
    bits=st.integers(2, 8),
    symmetric=st.booleans(),
)
def test_round_trip_bound_holds_for_any_values(
    values: list[float], bits: int, symmetric: bool
) -> None:
    x = np.asarray(values, dtype=np.float32)
    qp = calculate_qparams(x.min(), x.max(), bits, symmetric)
    back = dequantize(quantize(x, qp), qp).astype(np.float64)
    err = np.abs(back - x.astype(np.float64))
    # half a step, plus float32 rounding of the products themselves
    assert np.all(err <= float(qp.scale) / 2 * (1 + 1e-5) + 1e-6 * np.abs(x))
