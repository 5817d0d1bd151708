"""Max, average and adaptive pooling: finite-difference gradients, reference values, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tt_autograd import gradcheck
from tt_spatial import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from tt_spatial.functional import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from tt_tensor import Tensor

RNG = np.random.default_rng(1)


def t64(*shape: int, grad: bool = True) -> Tensor:
    # distinct values: finite differences at a tie would be ill-defined
    data = RNG.permutation(np.prod(shape)).reshape(shape) / 7.0 + RNG.random(shape) * 0.01
    return Tensor(data, requires_grad=grad)


def windows(
    x: np.ndarray,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    d: tuple[int, int],
    fill: float,
) -> np.ndarray:
    """(N, C, Ho, Wo, kh*kw) windows by explicit loops: the reference."""
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    ho = (xp.shape[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (xp.shape[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.empty((*x.shape[:2], ho, wo, k[0] * k[1]))
    for i in range(ho):
        for j in range(wo):
            win = xp[
                :,
                :,
                i * s[0] : i * s[0] + d[0] * (k[0] - 1) + 1 : d[0],
                j * s[1] : j * s[1] + d[1] * (k[1] - 1) + 1 : d[1],
            ]
            out[:, :, i, j] = win.reshape((*x.shape[:2], -1))
    return out


MAX_CONFIGS: list[dict[str, Any]] = [
    {"kernel_size": 2},
    {"kernel_size": 2, "stride": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (2, 3), "stride": (1, 2)},
    {"kernel_size": 3, "stride": 3},
    {"kernel_size": 2, "stride": 3},
    {"kernel_size": 2, "dilation": 2},
]


def pairs(v: Any) -> tuple[int, int]:
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("kwargs", MAX_CONFIGS)
def test_max_pool2d_values_and_gradcheck(kwargs: dict[str, Any]) -> None:
    x = t64(2, 3, 7, 8)
    out = max_pool2d(x, **kwargs)
    k = pairs(kwargs["kernel_size"])
    s = pairs(kwargs.get("stride", k))
    ref = windows(
        x.data, k, s, pairs(kwargs.get("padding", 0)), pairs(kwargs.get("dilation", 1)), -np.inf
    ).max(axis=-1)
    np.testing.assert_array_equal(out.data, ref)
    assert gradcheck(lambda a: max_pool2d(a, **kwargs), [x])


def test_max_pool2d_exact_tiling_uses_the_reshape_path() -> None:
    x = t64(2, 2, 6, 4)
    assert gradcheck(lambda a: max_pool2d(a, 2), [x])


def test_max_pool2d_ties_route_gradient_to_the_first_maximum() -> None:
    x = Tensor(np.zeros((1, 1, 2, 4)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, [[[[1, 0, 1, 0], [0, 0, 0, 0]]]])
    y = Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    max_pool2d(y, 2, stride=1).sum().backward()
    assert y.grad is not None
    np.testing.assert_array_equal(y.grad.data, [[[[1, 1, 0], [1, 1, 0], [0, 0, 0]]]])


AVG_CONFIGS: list[dict[str, Any]] = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 0)},
    {"kernel_size": 2, "divisor_override": 3},
]


@pytest.mark.parametrize("kwargs", AVG_CONFIGS)
def test_avg_pool2d_values_and_gradcheck(kwargs: dict[str, Any]) -> None:
    x = t64(2, 2, 7, 6)
    out = avg_pool2d(x, **kwargs)
    k = pairs(kwargs["kernel_size"])
    s = pairs(kwargs.get("stride", k))
    p = pairs(kwargs.get("padding", 0))
    win = windows(x.data, k, s, p, (1, 1), 0.0)
    if "divisor_override" in kwargs:
        ref = win.sum(-1) / kwargs["divisor_override"]
    elif kwargs.get("count_include_pad", True):
        ref = win.mean(-1)
    else:
        ones = windows(np.ones_like(x.data), k, s, p, (1, 1), 0.0)
        ref = win.sum(-1) / ones.sum(-1)
    np.testing.assert_allclose(out.data, ref, atol=1e-12)
    assert gradcheck(lambda a: avg_pool2d(a, **kwargs), [x])


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (5, 4), (7, 6), (4, None), 2])
def test_adaptive_avg_pool2d_bins_and_gradcheck(size: Any) -> None:
    x = t64(2, 2, 7, 6)
    out = adaptive_avg_pool2d(x, size)
    oh, ow = (size, size) if isinstance(size, int) else (size[0], size[1] or 6)
    assert out.shape == (2, 2, oh, ow)
    # PyTorch's bins: [floor(i*H/oh), ceil((i+1)*H/oh))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * 7) // oh, -((-(i + 1) * 7) // oh)
            c0, c1 = (j * 6) // ow, -((-(j + 1) * 6) // ow)
            np.testing.assert_allclose(
                out.data[:, :, i, j], x.data[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
            )
    assert gradcheck(lambda a: adaptive_avg_pool2d(a, size), [x])


def test_pool_modules_and_errors() -> None:
    x = Tensor(RNG.standard_normal((2, 3, 8, 8)).astype(np.float32))
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 4, 4)
    assert AvgPool2d(2)(x).dtype == np.float32
    assert AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)
    assert "kernel_size=2" in repr(MaxPool2d(2))
    with pytest.raises(ValueError, match=r"4-D input of shape \(N, C, H, W\), got shape \(3, 8\)"):
        max_pool2d(Tensor(np.zeros((3, 8))), 2)
    with pytest.raises(ValueError, match="at most half"):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        avg_pool2d(x, 9)
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        MaxPool2d(2, ceil_mode=True)
    with pytest.raises(ValueError, match="output_size"):
        adaptive_avg_pool2d(x, 0)


@pytest.mark.parametrize("op", ["max", "max3", "avg", "avg3", "adaptive"])
def test_pooling_chwn_input_matches_nchw(op: str) -> None:
    # convolutions hand pooling (C, H, W, N)-stored views: same values and gradients
    base = RNG.standard_normal((3, 7, 6, 2))  # C, H, W, N

    def run(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = Tensor(data, requires_grad=True)
        fns = {
            "max": lambda t: max_pool2d(t, 2),
            "max3": lambda t: max_pool2d(t, 3, 2, 1),
            "avg": lambda t: avg_pool2d(t, 2),
            "avg3": lambda t: avg_pool2d(t, 3, 1, 1),
            "adaptive": lambda t: adaptive_avg_pool2d(t, (3, 4)),
        }
        y = fns[op](x)
        (y * Tensor(np.arange(y.data.size).reshape(y.shape))).sum().backward()
        assert x.grad is not None
        return y.data, x.grad.data

    chwn = base.transpose(3, 0, 1, 2)
    ya, ga = run(chwn)
    yb, gb = run(np.ascontiguousarray(chwn))
    np.testing.assert_allclose(ya, yb, atol=1e-12)
    np.testing.assert_allclose(ga, gb, atol=1e-12)
