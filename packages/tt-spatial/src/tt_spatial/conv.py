"""2-D convolution as im2col + one BLAS matmul, with a hand-written backward.

The reference course convolves with six nested Python loops. Here the loops
are over *kernel offsets* at most (9 for a 3x3 kernel), never over pixels or
images, and the arithmetic goes to BLAS:

    forward   cols = im2col(x)                 (Cg*kh*kw, Ho*Wo*N) per group
              out  = W @ cols                  (Og, Ho*Wo*N)
    backward  dW   = (cols @ dout^T)^T
              dx   = col2im(W^T @ dout): one strided add per kernel offset

Memory layout: channels first, batch last (C, H, W, N), as in Krizhevsky's
cuda-convnet. `W @ cols` produces exactly that, so a conv returns its output as
a zero-copy NCHW-shaped *view* of CHWN memory; elementwise ops (BatchNorm,
ReLU, residual adds) keep the layout, and the next conv reads it directly. In
this layout a spatial slice x[:, i:i+Ho, j:j+Wo, :] is made of runs of Wo*N
contiguous floats, so im2col and col2im are long memcpy-like copies instead of
millions of tiny Wo-float runs (measured 2-6x faster than NCHW or CNHW layouts
at batch 128 on the milestone's shapes; see tools/results/cnn.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tt_autograd import Function
from tt_tensor import Tensor

from ._utils import (
    Array,
    IntPair,
    Pads,
    check_4d,
    from_chwn,
    out_size,
    pad_hw,
    pair,
    to_chwn,
    window_slices,
)


def resolve_padding(
    padding: IntPair | str,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> Pads:
    """Turn `padding` (int, pair, 'same' or 'valid') into explicit (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            # PyTorch puts the odd extra pixel (even kernels) on the bottom/right
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


def im2col(
    xt: Array,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
    groups: int,
) -> Array:
    """Unfold a padded (C, Hp, Wp, N) array into (G, Cg*kh*kw, Ho*Wo*N) columns."""
    c, n = xt.shape[0], xt.shape[3]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    if (kh, kw) == (1, 1):
        sub = xt[:, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw]
        return sub.reshape(groups, c // groups, ho * wo * n)  # a view when stride is 1
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xt, span, axis=(1, 2))  # (C, Hw, Ww, N, span_h, span_w)
    win = win[:, ::sh, ::sw, :, ::dh, ::dw]  # (C, Ho, Wo, N, kh, kw), still a view
    cols = np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3))  # the one copy
    return cols.reshape(groups, (c // groups) * kh * kw, ho * wo * n)


def col2im(
    dcols: Array,
    padded_shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> Array:
    """The adjoint of `im2col`: scatter-add columns back into a (C, Hp, Wp, N) array.

    One vectorized strided add per kernel offset: windows overlap, so every
    input pixel collects the contributions of each offset that saw it.
    """
    c, hp, wp, n = padded_shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    d = dcols.reshape(c, kh, kw, ho, wo, n)
    if (kh, kw) == (1, 1) and (sh, sw) == (1, 1) and (ho, wo) == (hp, wp):
        return d.reshape(c, hp, wp, n)
    out = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(kh):
        rows = window_slices(i, dh, sh, ho)
        for j in range(kw):
            out[:, rows, window_slices(j, dw, sw, wo)] += d[:, i, j]
    return out


def _unpad(a: Array, pads: Pads) -> Array:
    top, bottom, left, right = pads
    if pads == (0, 0, 0, 0):
        return a
    return np.ascontiguousarray(a[:, top : a.shape[1] - bottom, left : a.shape[2] - right])


def _grouped(a: Array, b: Array) -> Array:
    """a[g] @ b[g] for each group, as plain 2-D BLAS calls.

    np.matmul on 3-D stacks with a transposed operand can miss BLAS entirely
    (measured 3.5x slower), so the (usually single) group loop stays in Python.
    """
    if a.shape[0] == 1:
        single: Array = a[0] @ b[0]
        return single[None]
    return np.stack([a[i] @ b[i] for i in range(a.shape[0])])


def _forward_matmul(w: Array, cols: Array) -> Array:
    """W @ cols per group, oriented for OpenBLAS (chosen by measurement).

    With few columns and a long inner dimension (deep layers on small maps)
    (cols^T @ W^T)^T plus a copy back is up to 2.7x faster; otherwise W @ cols is.
    """
    if w.shape[0] == 1 and cols.shape[2] <= 4 * cols.shape[1]:
        return np.ascontiguousarray((cols[0].T @ w[0].T).T)[None]
    return _grouped(w, cols)


class Conv2dFunction(Function):
    """conv2d with its own backward: dW by one matmul with the saved columns, dx by col2im.

    dx could also be computed as a transposed convolution (im2col of the padded
    gradient, then a matmul with the flipped kernels); in the CHWN layout that
    measured 1.2-5x slower than W^T @ dout + col2im at every shape of the
    milestone network, so col2im it is.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: tuple[int, int],
        pads: Pads,
        dilation: tuple[int, int],
        groups: int,
    ) -> Tensor:
        xd, wd = x.data, weight.data
        n, _, h, w = xd.shape
        o, cg, kh, kw = wd.shape
        ho = out_size(h, kh, stride[0], pads[0], pads[1], dilation[0])
        wo = out_size(w, kw, stride[1], pads[2], pads[3], dilation[1])
        xpt = pad_hw(to_chwn(xd), pads)  # (C, Hp, Wp, N)
        cols = im2col(xpt, (kh, kw), stride, dilation, (ho, wo), groups)
        w3 = wd.reshape(groups, o // groups, cg * kh * kw)
        out = _forward_matmul(w3, cols).reshape(o, ho, wo, n)  # (G, Og, Ho*Wo*N) is CHWN
        if bias is not None:
            out += bias.data.reshape(o, 1, 1, 1)
        ctx.cols = cols if ctx.needs_input_grad[1] else None
        ctx.w3 = w3
        ctx.geometry = (xpt.shape, (kh, kw), stride, dilation, (ho, wo), pads, groups)
        return Tensor(from_chwn(out))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        padded_shape, kernel, stride, dilation, out_hw, pads, groups = ctx.geometry
        w3: Array = ctx.w3
        gt = to_chwn(grad_output.data)  # (O, Ho, Wo, N): free when the layout is CHWN
        o = gt.shape[0]
        g3 = gt.reshape(groups, o // groups, -1)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        if need_x:
            dcols = _grouped(w3.transpose(0, 2, 1), g3)  # (G, Cg*kh*kw, Ho*Wo*N)
            gxt = _unpad(col2im(dcols, padded_shape, kernel, stride, dilation, out_hw), pads)
            gx = Tensor(from_chwn(gxt))
        if need_w:
            cols: Array = ctx.cols
            # dW = dout @ cols^T, computed as (cols @ dout^T)^T: OpenBLAS is 5-100x slower
            # on the first form, whose huge inner dimension meets a small output
            gw3 = _grouped(cols, g3.transpose(0, 2, 1)).transpose(0, 2, 1)  # (G, Og, K)
            gw = Tensor(np.ascontiguousarray(gw3).reshape(o, -1, *kernel))
        if need_b:
            gb = Tensor(g3.reshape(o, -1).sum(axis=1))
        ctx.cols = None
        return gx, gw, gb, None, None, None, None


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution over an NCHW batch, as `torch.nn.functional.conv2d`.

    `weight` is (out_channels, in_channels // groups, kh, kw). `padding` may be
    an int, a pair, 'valid' (no padding) or 'same' (output size = input size,
    stride 1 only). A 3-D (C, H, W) input is treated as a batch of one.
    """
    if isinstance(input, Tensor) and input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(
            0
        )
    check_4d(input, "conv2d")
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"conv2d: expected a 4-D weight (out, in/groups, kh, kw), got {shape}")
    if weight.dtype != input.dtype:
        raise TypeError(
            f"conv2d: input dtype {input.dtype} and weight dtype {weight.dtype} must match"
        )
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    _, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if o % groups != 0:
        raise ValueError(
            f"conv2d: out_channels {o} (weight of shape {tuple(weight.shape)}) must be "
            f"divisible by groups={groups}"
        )
    if cg * groups != c:
        raise ValueError(
            f"conv2d: given groups={groups}, weight of shape {tuple(weight.shape)} expects "
            f"input {tuple(input.shape)} to have {cg * groups} channels, but got {c} channels"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(
            f"conv2d: bias must have shape ({o},) for weight {tuple(weight.shape)}, got "
            f"{tuple(bias.shape)}"
        )
    st, dil = pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, (kh, kw), st, dil)
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    eff = (dil[0] * (kh - 1) + 1, dil[1] * (kw - 1) + 1)
    if hp < eff[0] or wp < eff[1]:
        raise ValueError(
            f"conv2d: padded input size per channel ({hp} x {wp}) of input "
            f"{tuple(input.shape)} is smaller than the (dilated) kernel size "
            f"({eff[0]} x {eff[1]}): kernel size can't be greater than the input size"
        )
    return Conv2dFunction.apply(input, weight, bias, st, pads, dil, groups)
