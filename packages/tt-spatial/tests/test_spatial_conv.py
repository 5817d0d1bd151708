"""conv2d / Conv2d: gradients by finite differences, shapes, layouts, init and errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from tt_autograd import gradcheck
from tt_spatial import Conv2d, conv2d
from tt_tensor import Tensor, manual_seed

RNG = np.random.default_rng(0)


def t64(*shape: int, grad: bool = True) -> Tensor:
    return Tensor(RNG.standard_normal(shape), requires_grad=grad)


def naive_conv(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """The textbook loops, as an independent reference (tiny shapes only)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        gi = oc // og
        for i in range(ho):
            for j in range(wo):
                r, s = i * stride[0], j * stride[1]
                patch = xp[
                    :,
                    gi * cg : (gi + 1) * cg,
                    r : r + dilation[0] * (kh - 1) + 1 : dilation[0],
                    s : s + dilation[1] * (kw - 1) + 1 : dilation[1],
                ]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
        if b is not None:
            out[:, oc] += b[oc]
    return out


CONFIGS: list[dict[str, Any]] = [
    {},
    {"padding": 1},
    {"stride": 2, "padding": 1},
    {"stride": (2, 3), "padding": (2, 1)},
    {"padding": "same"},
    {"padding": "valid"},
    {"dilation": 2, "padding": 2},
    {"padding": "same", "dilation": (2, 1)},
    {"groups": 2, "padding": 1},
    {"groups": 2, "stride": 2},
]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_conv2d_gradcheck(kwargs: dict[str, Any]) -> None:
    groups = kwargs.get("groups", 1)
    x = t64(2, 4, 7, 6)
    w = t64(6, 4 // groups, 3, 2)
    b = t64(6)
    assert gradcheck(lambda a, k, c: conv2d(a, k, c, **kwargs), [x, w, b])


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_conv2d_matches_naive_loops(kwargs: dict[str, Any]) -> None:
    groups = kwargs.get("groups", 1)
    x, w, b = t64(2, 4, 7, 6, grad=False), t64(6, 4 // groups, 3, 2, grad=False), t64(6)
    out = conv2d(x, w, b, **kwargs)
    stride = kwargs.get("stride", 1)
    stride = stride if isinstance(stride, tuple) else (stride, stride)
    dil = kwargs.get("dilation", 1)
    dil = dil if isinstance(dil, tuple) else (dil, dil)
    pad = kwargs.get("padding", 0)
    if pad == "same":
        th, tw = dil[0] * 2, dil[1] * 1
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    elif pad == "valid":
        pads = (0, 0, 0, 0)
    else:
        p = pad if isinstance(pad, tuple) else (pad, pad)
        pads = (p[0], p[0], p[1], p[1])
    ref = naive_conv(x.data, w.data, b.data, stride, pads, dil, groups)
    np.testing.assert_allclose(out.data, ref, atol=1e-10)
    if pad == "same":
        assert out.shape[2:] == x.shape[2:]


def test_conv2d_no_bias_1x1_and_strided_1x1() -> None:
    # many columns per weight row: the W @ cols matmul orientation (tiny shapes take the other)
    x, w = t64(2, 3, 5, 5), t64(4, 3, 1, 1)
    assert gradcheck(lambda a, k: conv2d(a, k), [x, w])
    assert gradcheck(lambda a, k: conv2d(a, k, stride=2), [x, w])
    out = conv2d(x, w)
    np.testing.assert_allclose(out.data, np.einsum("nchw,oc->nohw", x.data, w.data[:, :, 0, 0]))


def test_conv2d_even_kernel_same_padding_and_odd_sizes() -> None:
    x, w = t64(1, 2, 5, 7), t64(3, 2, 4, 2)
    out = conv2d(x, w, padding="same")
    assert out.shape == (1, 3, 5, 7)
    assert gradcheck(lambda a, k: conv2d(a, k, padding="same"), [x, w])


def test_conv2d_input_without_grad_still_gives_weight_grad() -> None:
    x, w = t64(2, 2, 5, 5, grad=False), t64(3, 2, 3, 3)
    conv2d(x, w, padding=1).sum().backward()
    assert w.grad is not None and x.grad is None


def test_conv2d_accepts_chwn_views_and_unbatched_input() -> None:
    # conv outputs are NCHW-shaped views of (C, H, W, N) memory: feeding one to
    # another conv (and back-propagating through both) must give the same numbers
    x = t64(2, 3, 6, 6)
    w1, w2 = t64(4, 3, 3, 3), t64(5, 4, 3, 3)
    y = conv2d(conv2d(x, w1, padding=1), w2, padding=1)
    assert y.data.transpose(1, 2, 3, 0).flags.c_contiguous
    ref = naive_conv(
        naive_conv(x.data, w1.data, None, (1, 1), (1,) * 4, (1, 1), 1),
        w2.data,
        None,
        (1, 1),
        (1,) * 4,
        (1, 1),
        1,
    )
    np.testing.assert_allclose(y.data, ref, atol=1e-10)
    assert gradcheck(lambda a, b, c: conv2d(conv2d(a, b, padding=1), c, padding=1), [x, w1, w2])
    single = conv2d(Tensor(x.data[0]), Tensor(w1.data), padding=1)
    np.testing.assert_allclose(
        single.data, conv2d(Tensor(x.data[:1]), Tensor(w1.data), padding=1).data[0]
    )


def test_conv2d_float32_stays_float32() -> None:
    x = Tensor(RNG.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    layer = Conv2d(3, 4, 3, padding=1)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad is not None and x.grad.dtype == np.float32
    assert layer.weight.grad is not None and layer.weight.grad.dtype == np.float32


def test_conv2d_module_parameters_and_default_init() -> None:
    manual_seed(0)
    layer = Conv2d(16, 32, 3, padding=1)
    assert layer.weight.shape == (32, 16, 3, 3) and layer.bias is not None
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(16 * 9)
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(layer.bias.data).max() <= bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    grouped = Conv2d(8, 4, (3, 5), groups=2, bias=False)
    assert grouped.weight.shape == (4, 4, 3, 5) and grouped.bias is None
    assert list(grouped.state_dict()) == ["weight"]
    assert "bias=False" in repr(grouped) and "groups=2" in repr(grouped)


def test_conv2d_errors_name_the_shapes() -> None:
    x = Tensor(np.zeros((2, 3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expects input \(2, 3, 8, 8\) to have 4 channels"):
        conv2d(x, Tensor(np.zeros((5, 4, 3, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"\(8 x 8\).*\(9 x 9\)"):
        conv2d(x, Tensor(np.zeros((5, 3, 9, 9), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"4-D input of shape \(N, C, H, W\), got shape \(8, 8\)"):
        conv2d(
            Tensor(np.zeros((8, 8), dtype=np.float32)),
            Tensor(np.zeros((5, 3, 3, 3), dtype=np.float32)),
        )
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d(x, Tensor(np.zeros((5, 1, 3, 3), dtype=np.float32)), groups=3)
    with pytest.raises(ValueError, match="in_channels 3 must be divisible by groups 2"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d(
            x,
            Tensor(np.zeros((5, 3, 3, 3), dtype=np.float32)),
            Tensor(np.zeros(4, dtype=np.float32)),
        )
    with pytest.raises(TypeError, match="dtype"):
        conv2d(x, Tensor(np.zeros((5, 3, 3, 3))))
    with pytest.raises(ValueError, match="padding"):
        conv2d(x, Tensor(np.zeros((5, 3, 3, 3), dtype=np.float32)), padding="full")
