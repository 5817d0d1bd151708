"""Max, average and adaptive average pooling with vectorized backward passes.

Pooling windows are visited one *kernel offset* at a time: offset (i, j) of
every window at once is a strided slice of the input, so a 2x2 pool is four
whole-array operations, never a loop over pixels. When windows tile the input
exactly (stride == kernel, no padding) the forward pass is a single reshape +
reduction instead. Everything runs on an (A, H, W, B) form of the input (see
`_utils.spatial`) so that convolution outputs, stored (C, H, W, N), are pooled
in place without a transpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tt_autograd import Function
from tt_tensor import Tensor

from ._utils import (
    Array,
    IntPair,
    Pads,
    check_4d,
    out_size,
    pad_hw,
    pair,
    spatial,
    unspatial,
    window_slices,
)


def _pool_geometry(
    x: Tensor,
    op: str,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair = 1,
) -> tuple[tuple[int, int], tuple[int, int], Pads, tuple[int, int], tuple[int, int]]:
    check_4d(x, op)
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p = pair(padding, "padding", minimum=0)
    d = pair(dilation, "dilation")
    eff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    if p[0] > eff[0] // 2 or p[1] > eff[1] // 2:
        raise ValueError(
            f"{op}: padding {p} should be at most half of the (effective) kernel size {eff}"
        )
    h, w = x.shape[2], x.shape[3]
    ho = out_size(h, k[0], s[0], p[0], p[0], d[0])
    wo = out_size(w, k[1], s[1], p[1], p[1], d[1])
    if ho < 1 or wo < 1:
        raise ValueError(
            f"{op}: input of shape {tuple(x.shape)} padded to ({h + 2 * p[0]} x "
            f"{w + 2 * p[1]}) is smaller than the kernel {eff}: output would be empty"
        )
    return k, s, (p[0], p[0], p[1], p[1]), d, (ho, wo)


def _tiles(
    shape: tuple[int, ...], k: tuple[int, int], s: tuple[int, int], pads: Pads, d: tuple[int, int]
) -> bool:
    """True when windows tile the input exactly, so a reshape exposes them."""
    return (
        k == s
        and pads == (0, 0, 0, 0)
        and d == (1, 1)
        and shape[2] % k[0] == 0
        and shape[3] % k[1] == 0
    )


class MaxPool2dFunction(Function):
    """max over each window; the gradient goes to the first maximum (as in PyTorch)."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        k: tuple[int, int],
        s: tuple[int, int],
        pads: Pads,
        d: tuple[int, int],
        out_hw: tuple[int, int],
    ) -> Tensor:
        n, c = x.shape[:2]
        a, chwn = spatial(x.data)  # (A, H, W, B)
        ho, wo = out_hw
        if _tiles(x.shape, k, s, pads, d):
            aa, _, _, bb = a.shape
            out = a.reshape(aa, ho, k[0], wo, k[1], bb).max(axis=(2, 4))
        else:
            ap = pad_hw(a, pads, value=-np.inf)
            out = None
            for i in range(k[0]):
                rows = window_slices(i, d[0], s[0], ho)
                for j in range(k[1]):
                    v = ap[:, rows, window_slices(j, d[1], s[1], wo)]
                    out = v.copy() if out is None else np.maximum(out, v, out=out)
        assert out is not None
        ctx.a, ctx.out, ctx.chwn = a, out, chwn
        ctx.geometry = (k, s, pads, d, out_hw, n, c)
        return Tensor(unspatial(out, chwn, n, c))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        k, s, pads, d, (ho, wo), n, c = ctx.geometry
        a: Array = ctx.a
        out: Array = ctx.out
        g = (
            grad_output.data.transpose(1, 2, 3, 0)
            if ctx.chwn
            else grad_output.data.reshape(out.shape)
        )
        ap = pad_hw(a, pads, value=-np.inf)
        # overlapping windows (stride < kernel) must accumulate; otherwise assign
        overlap = s[0] < d[0] * (k[0] - 1) + 1 or s[1] < d[1] * (k[1] - 1) + 1
        gap: Array = np.zeros(ap.shape, dtype=g.dtype)
        taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum is already routed
        for i in range(k[0]):
            rows = window_slices(i, d[0], s[0], ho)
            for j in range(k[1]):
                cols = window_slices(j, d[1], s[1], wo)
                hit = ap[:, rows, cols] == out
                hit &= ~taken
                taken |= hit
                if overlap:
                    gap[:, rows, cols] += g * hit
                else:
                    np.multiply(g, hit, out=gap[:, rows, cols])
        top, bottom, left, right = pads
        ga = gap[:, top : gap.shape[1] - bottom, left : gap.shape[2] - right]
        return Tensor(unspatial(ga, ctx.chwn, n, c)), None, None, None, None, None


def max_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max over sliding windows, as `torch.nn.functional.max_pool2d` (stride defaults to kernel)."""
    if ceil_mode or return_indices:
        raise NotImplementedError("max_pool2d: ceil_mode and return_indices are not supported")
    k, s, pads, d, out_hw = _pool_geometry(
        input, "max_pool2d", kernel_size, stride, padding, dilation
    )
    return MaxPool2dFunction.apply(input, k, s, pads, d, out_hw)


class AvgPool2dFunction(Function):
    """Mean over each window; backward spreads each gradient evenly over its window."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        k: tuple[int, int],
        s: tuple[int, int],
        pads: Pads,
        out_hw: tuple[int, int],
        count_include_pad: bool,
        divisor_override: int | None,
    ) -> Tensor:
        n, c = x.shape[:2]
        a, chwn = spatial(x.data)
        ho, wo = out_hw
        divisor = _avg_divisor(
            x.shape, k, s, pads, out_hw, count_include_pad, divisor_override, x.dtype
        )
        if _tiles(x.shape, k, s, pads, (1, 1)):
            aa, _, _, bb = a.shape
            total = a.reshape(aa, ho, k[0], wo, k[1], bb).sum(axis=(2, 4))
        else:
            ap = pad_hw(a, pads)
            total = None
            for i in range(k[0]):
                rows = window_slices(i, 1, s[0], ho)
                for j in range(k[1]):
                    v = ap[:, rows, window_slices(j, 1, s[1], wo)]
                    total = v.copy() if total is None else np.add(total, v, out=total)
        assert total is not None
        ctx.geometry = (a.shape, chwn, n, c, k, s, pads, out_hw, divisor)
        out = (total / divisor).astype(x.dtype, copy=False)
        return Tensor(unspatial(out, chwn, n, c))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        shape, chwn, n, c, k, s, pads, (ho, wo), divisor = ctx.geometry
        gd = grad_output.data
        g = gd.transpose(1, 2, 3, 0) if chwn else gd.reshape(shape[0], ho, wo, shape[3])
        g = (g / divisor).astype(gd.dtype, copy=False)
        aa, h, w, bb = shape
        if _tiles((n, c, h, w), k, s, pads, (1, 1)):
            ga = np.broadcast_to(g[:, :, None, :, None, :], (aa, ho, k[0], wo, k[1], bb))
            ga = ga.reshape(shape)
        else:
            top, bottom, left, right = pads
            gap = np.zeros((aa, h + top + bottom, w + left + right, bb), dtype=g.dtype)
            for i in range(k[0]):
                rows = window_slices(i, 1, s[0], ho)
                for j in range(k[1]):
                    gap[:, rows, window_slices(j, 1, s[1], wo)] += g
            ga = gap[:, top : top + h, left : left + w]
        return Tensor(unspatial(ga, chwn, n, c)), None, None, None, None, None, None


def _avg_divisor(
    shape: tuple[int, ...],
    k: tuple[int, int],
    s: tuple[int, int],
    pads: Pads,
    out_hw: tuple[int, int],
    count_include_pad: bool,
    divisor_override: int | None,
    dtype: np.dtype[Any],
) -> Array | float:
    """A scalar when every window has the same size, else a per-window (Ho, Wo) count."""
    if divisor_override is not None:
        return float(divisor_override)
    if count_include_pad or pads == (0, 0, 0, 0):
        return float(k[0] * k[1])
    h, w = shape[2], shape[3]

    def valid(size: int, kk: int, ss: int, pad: int, count: int) -> Array:
        start = np.arange(count) * ss - pad
        return np.minimum(start + kk, size) - np.maximum(start, 0)

    rows = valid(h, k[0], s[0], pads[0], out_hw[0])
    cols = valid(w, k[1], s[1], pads[2], out_hw[1])
    return np.outer(rows, cols).astype(dtype)[None, :, :, None]  # (1, Ho, Wo, 1)


def avg_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows, as `torch.nn.functional.avg_pool2d`."""
    if ceil_mode:
        raise NotImplementedError("avg_pool2d: ceil_mode is not supported")
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    k, s, pads, _, out_hw = _pool_geometry(input, "avg_pool2d", kernel_size, stride, padding)
    return AvgPool2dFunction.apply(input, k, s, pads, out_hw, count_include_pad, divisor_override)


def _adaptive_matrix(size: int, out: int, dtype: np.dtype[Any]) -> Array:
    """(out, size) averaging matrix: row i averages PyTorch's bin [floor(i*size/out), ceil(...))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = np.arange(size)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2dFunction(Function):
    """Adaptive averaging is separable: out = A_h @ x @ A_w^T with per-bin weights."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, out_hw: tuple[int, int]) -> Tensor:
        xd = x.data
        h, w = xd.shape[2:]
        if out_hw == (1, 1):
            ctx.shape, ctx.global_ = xd.shape, True
            return Tensor(xd.mean(axis=(2, 3), keepdims=True, dtype=xd.dtype))
        ah = _adaptive_matrix(h, out_hw[0], xd.dtype)
        aw = _adaptive_matrix(w, out_hw[1], xd.dtype)
        ctx.shape, ctx.global_, ctx.ah, ctx.aw = xd.shape, False, ah, aw
        return Tensor(np.matmul(np.matmul(ah, xd), aw.T))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        g = grad_output.data
        n, c, h, w = ctx.shape
        if ctx.global_:
            gx = np.broadcast_to(g / (h * w), (n, c, h, w)).astype(g.dtype)
            return Tensor(gx), None
        gx = np.matmul(np.matmul(ctx.ah.T, g), ctx.aw)
        return Tensor(gx), None


def adaptive_avg_pool2d(
    input: Tensor, output_size: IntPair | tuple[int | None, int | None]
) -> Tensor:
    """Average into a fixed output grid whatever the input size, as in PyTorch.

    `output_size` may contain None to keep that input dimension.
    """
    check_4d(input, "adaptive_avg_pool2d")
    sizes: Any = output_size
    if isinstance(output_size, tuple | list):
        sizes = tuple(input.shape[2 + i] if v is None else v for i, v in enumerate(output_size))
    oh, ow = pair(sizes, "output_size")
    return AdaptiveAvgPool2dFunction.apply(input, (oh, ow))
