"""`LayerNorm`: normalise each token's features to zero mean and unit variance.

Unlike BatchNorm it looks at one sample at a time, so it behaves the same in
training and evaluation and for any batch size: the normaliser of transformers.

The backward is analytic. With x̂ = (x - mean) * rstd over the normalised
dimensions (n elements), g the incoming gradient and ĝ = g * weight:

    dx = rstd * (ĝ - mean(ĝ) - x̂ * mean(ĝ * x̂))
    dweight = sum over the other dims of g * x̂,    dbias = sum of g
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tt_autograd import Function
from tt_layers import Module, Parameter
from tt_tensor import Tensor


class LayerNormFunction(Function):
    """Fused layer norm over the last `ndim` dimensions."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Tensor | None, bias: Tensor | None, ndim: int, eps: float
    ) -> Tensor:
        xd = x.data
        axes = tuple(range(xd.ndim - ndim, xd.ndim))
        mean = xd.mean(axis=axes, keepdims=True)
        xc = xd - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + xd.dtype.type(eps))
        xhat = xc * rstd
        out = xhat if weight is None else xhat * weight.data
        if bias is not None:
            out = out + bias.data
        ctx.xhat, ctx.rstd, ctx.axes = xhat, rstd, axes
        ctx.weight = None if weight is None else weight.data
        return Tensor(out)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Any, ...]:
        g = grad_output.data
        xhat, rstd, axes = ctx.xhat, ctx.rstd, ctx.axes
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        lead = tuple(range(g.ndim - len(axes)))
        dx = dw = db = None
        if need_x:
            gh = g if ctx.weight is None else g * ctx.weight
            dx = rstd * (
                gh
                - gh.mean(axis=axes, keepdims=True)
                - xhat * (gh * xhat).mean(axis=axes, keepdims=True)
            )
        if need_w:
            dw = (g * xhat).sum(axis=lead)
        if need_b:
            db = g.sum(axis=lead)
        return (*(None if a is None else Tensor(a) for a in (dx, dw, db)), None, None)


def _shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, int | np.integer):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """`torch.nn.functional.layer_norm`: normalise over the trailing `normalized_shape` dims."""
    shape = _shape(normalized_shape)
    if input.dtype.kind != "f":
        raise TypeError(f"layer_norm expects a floating point input, got {input.dtype}")
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or input.ndim < len(shape):
        raise ValueError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"layer_norm {name} must have shape {shape}, got {tuple(p.shape)}")
    return LayerNormFunction.apply(input, weight, bias, len(shape), float(eps))


class LayerNorm(Module):
    """`torch.nn.LayerNorm`: ``weight`` starts at ones and ``bias`` at zeros."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = np.float32 if dtype is None else dtype
        self.weight: Parameter | None
        self.bias: Parameter | None
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
