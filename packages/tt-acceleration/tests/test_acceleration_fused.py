"""Fused kernels equal the plain tt-activations / tt-transformers operations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tt_acceleration import bias_gelu, erf_, gelu_, layer_norm_inference, relu_
from tt_activations import gelu
from tt_autograd import no_grad
from tt_tensor import Tensor
from tt_transformers import LayerNorm


def _x(shape: tuple[int, ...], seed: int = 0, scale: float = 3.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_bias_gelu_equals_plain(approximate: str) -> None:
    x, b = _x((32, 64)), _x((64,), 1)
    plain = gelu(Tensor(x) + Tensor(b), approximate=approximate).data
    np.testing.assert_allclose(bias_gelu(x, b, approximate), plain, rtol=1e-5, atol=2e-6)


def test_bias_gelu_reuses_work_buffers_and_keeps_input() -> None:
    x, b = _x((8, 16)), _x((16,), 1)
    x_before = x.copy()
    work: list[np.ndarray] = []
    out = np.empty_like(x)
    bias_gelu(x, b, out=out, work=work)
    ids = [id(w) for w in work]
    res = bias_gelu(x, b, out=out, work=work)
    assert res is out and [id(w) for w in work] == ids  # nothing reallocated
    np.testing.assert_array_equal(x, x_before)


def test_gelu_in_place_and_without_bias() -> None:
    x = _x((5, 7))
    expected = gelu(Tensor(x)).data
    y = x.copy()
    assert gelu_(y) is y
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(bias_gelu(x, None), expected, rtol=1e-5, atol=2e-6)
    with pytest.raises(ValueError, match="approximate"):
        gelu_(x.copy(), "cubic")


def test_erf_in_place() -> None:
    z = np.linspace(-5, 5, 2001)
    expected = np.array([math.erf(v) for v in z])
    np.testing.assert_allclose(erf_(z.copy()), expected, atol=2e-7)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_inference_equals_layer_norm(bias: bool) -> None:
    ln = LayerNorm(16, bias=bias)
    assert ln.weight is not None
    ln.weight.data[...] = _x((16,), 2, 1.0)
    if ln.bias is not None:
        ln.bias.data[...] = _x((16,), 3, 1.0)
    x = _x((4, 5, 16), 4)
    with no_grad():
        plain = ln(Tensor(x)).data
    fused = layer_norm_inference(
        x, 1, ln.weight.data, None if ln.bias is None else ln.bias.data, ln.eps
    )
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5)
    inplace = x.copy()
    layer_norm_inference(inplace, 1, ln.weight.data, None, ln.eps, out=inplace)
    expected = fused if ln.bias is None else fused - ln.bias.data
    np.testing.assert_allclose(inplace, expected, rtol=1e-5, atol=1e-5)


def test_layer_norm_over_two_axes() -> None:
    ln = LayerNorm((5, 16), elementwise_affine=False)
    x = _x((3, 5, 16), 5)
    with no_grad():
        plain = ln(Tensor(x)).data
    np.testing.assert_allclose(layer_norm_inference(x, 2, None, None), plain, atol=1e-5)
    with pytest.raises(ValueError, match="normalise"):
        layer_norm_inference(x, 4, None, None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 1088), (3, 5, 7), (1,), (0, 4)])
def test_relu_in_place_equals_maximum(dtype: type, shape: tuple[int, ...]) -> None:
    x = _x(shape).astype(dtype)
    if x.size:
        x.flat[0] = np.nan  # NaN passes through as np.maximum's does
    want = np.maximum(x, 0)
    got = relu_(x)
    assert got is x and x.dtype == dtype
    np.testing.assert_array_equal(x, want)


def test_relu_on_views_and_beyond_the_zeros_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import tt_acceleration.fused as fused

    base = _x((6, 10))
    view = base[:, ::2]  # not contiguous: the scalar path
    want = base.copy()
    want[:, ::2] = np.maximum(want[:, ::2], 0)
    relu_(view)
    np.testing.assert_array_equal(base, want)
    monkeypatch.setattr(fused, "_ZEROS_MAX", 8)  # too big for the zeros: the scalar path
    monkeypatch.setattr(fused, "_SHAPED", {})
    y = _x((4, 5))
    want = np.maximum(y, 0)
    relu_(y)
    np.testing.assert_array_equal(y, want)


def test_relu_zeros_stay_zero_and_read_only() -> None:
    import tt_acceleration.fused as fused

    relu_(_x((64, 64)))
    zeros = fused._ZEROS[np.dtype(np.float32)]
    assert not zeros.flags.writeable and not zeros.any()
