"""Batch normalization as one fused operation with a closed-form backward.

Built from Tensor ops, BatchNorm would record about ten graph nodes and as
many full-size temporaries; fused, the forward is a few passes over the data
and the backward uses the classic closed form

    dx = w / sigma * (dy - mean(dy) - x_hat * mean(dy * x_hat))

with all means over every axis except the channel axis (1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tt_autograd import Function
from tt_tensor import Tensor

from ._utils import Array, is_chwn


def _axes(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


def _bshape(ndim: int, c: int) -> tuple[int, ...]:
    return (1, c) + (1,) * (ndim - 2)


def _rows(a: Array) -> Array | None:
    """A (C, L) view of a CHWN-stored (N, C, H, W) array (a convolution output), else None."""
    if a.ndim == 4 and is_chwn(a) and not a.flags.c_contiguous:
        return a.transpose(1, 2, 3, 0).reshape(a.shape[1], -1)
    return None


def _channel_sum(a: Array) -> Array:
    """Sum over every axis but 1, along contiguous runs (pairwise-accurate in float32)."""
    rows = _rows(a)
    out: Array
    if rows is not None:
        out = rows.sum(axis=1)
    elif a.ndim == 2:
        out = a.sum(axis=0)
    else:
        n, c = a.shape[:2]
        out = a.reshape(n, c, -1).sum(axis=2).sum(axis=0)
    return out


def _channel_dot(a: Array, b: Array) -> Array:
    """sum(a * b) per channel without a full-size temporary."""
    ra, rb = _rows(a), _rows(b)
    out: Array
    if ra is not None and rb is not None:
        out = np.einsum("cl,cl->c", ra, rb)
    elif a.ndim == 2:
        out = np.einsum("nc,nc->c", a, b)
    else:
        n, c = a.shape[:2]
        out = np.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))
    return out


class BatchNormFunction(Function):
    """Normalize with batch statistics (training) or given running statistics (eval)."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor | None,
        bias: Tensor | None,
        mean: Array | None,
        var: Array | None,
        eps: float,
        stats: list[Array],
    ) -> Tensor:
        """With `mean`/`var` None, use batch statistics and append them to `stats`."""
        xd = x.data
        c = xd.shape[1]
        bs = _bshape(xd.ndim, c)
        training = mean is None or var is None
        if training:
            count = xd.size // c
            mean = _channel_sum(xd) / count
            xc = xd - mean.reshape(bs).astype(xd.dtype, copy=False)
            var = _channel_dot(xc, xc) / count
            stats += [mean, var]
        else:
            assert mean is not None
            xc = xd - mean.reshape(bs).astype(xd.dtype, copy=False)
        assert var is not None
        invstd = (1.0 / np.sqrt(var + eps)).astype(xd.dtype)
        scale = invstd if weight is None else invstd * weight.data
        out = xc * scale.reshape(bs)
        if bias is not None:
            out += bias.data.reshape(bs)
        ctx.xc, ctx.invstd, ctx.training = xc, invstd, training
        ctx.has_weight = weight is not None
        ctx.w = None if weight is None else weight.data
        return Tensor(out)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        g = grad_output.data
        xc: Array = ctx.xc
        invstd: Array = ctx.invstd
        c = g.shape[1]
        bs = _bshape(g.ndim, c)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        sum_g = _channel_sum(g)
        sum_gxc = _channel_dot(g, xc)
        scale = invstd if ctx.w is None else invstd * ctx.w
        gx = None
        if need_x:
            if ctx.training:
                count = g.size // c
                # dx = scale * (g - mean(g) - xc * invstd^2 * mean(g * xc))
                k = (sum_gxc * invstd * invstd / count).reshape(bs)
                gx_arr = g - xc * k
                gx_arr -= (sum_g / count).reshape(bs)
                gx_arr *= scale.reshape(bs)
            else:
                gx_arr = g * scale.reshape(bs)
            gx = Tensor(gx_arr.astype(g.dtype, copy=False))
        gw = Tensor((sum_gxc * invstd).astype(g.dtype)) if need_w else None
        gb = Tensor(sum_g.astype(g.dtype)) if need_b else None
        ctx.xc = None
        return gx, gw, gb, None, None, None, None


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over the channel axis 1, as `torch.nn.functional.batch_norm`.

    In training mode the batch statistics normalize the input and, when running
    buffers are given, update them in place: running_mean <- (1 - momentum) *
    running_mean + momentum * mean, and the same for the *unbiased* variance.
    Otherwise the running statistics normalize.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {shape}")
    c = input.shape[1]
    for name, t in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"batch_norm: {name} must have shape ({c},) for input {tuple(input.shape)}, "
                f"got {tuple(t.shape)}"
            )
    if training:
        count = input.data.size // c
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {tuple(input.shape)}"
            )
        stats: list[Array] = []
        out = BatchNormFunction.apply(input, weight, bias, None, None, eps, stats)
        if running_mean is not None and running_var is not None:
            mean, var = stats
            unbiased = var * (count / (count - 1))
            rm, rv = running_mean.data, running_var.data
            rm *= 1.0 - momentum
            rm += (momentum * mean).astype(rm.dtype)
            rv *= 1.0 - momentum
            rv += (momentum * unbiased).astype(rv.dtype)
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when not training")
    return BatchNormFunction.apply(
        input, weight, bias, running_mean.data, running_var.data, eps, []
    )
