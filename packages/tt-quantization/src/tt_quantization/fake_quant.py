"""Fake quantization with a straight-through estimator (STE).

Quantization-aware training runs the float model but rounds weights and
activations onto the int8 grid in the forward pass, so the loss already sees
the error the integer model will make. Rounding has a zero derivative almost
everywhere, which would stop all learning; the straight-through estimator
pretends the rounding is the identity in the backward pass. Clamping is kept:
values outside the representable range get zero gradient, since nudging them
changes nothing in the quantized output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tt_autograd import Function
from tt_tensor import Tensor

from .qscheme import Array, QParams


def _rounded(x: Array, qparams: QParams) -> tuple[Array, Array, Array]:
    scale, zp = qparams.broadcast(x.ndim)
    scale = scale.astype(x.dtype)
    q = np.round(x / scale) + zp
    return q, scale, zp


class FakeQuantize(Function):
    """y = scale * (clamp(round(x / scale) + zp, qmin, qmax) - zp); dy/dx = 1 inside the grid."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, qparams: QParams) -> Tensor:
        if x.data.dtype.kind != "f":
            raise TypeError(f"fake_quantize expects a floating point tensor, got {x.data.dtype}")
        q, scale, zp = _rounded(x.data, qparams)
        inside = (q >= qparams.qmin) & (q <= qparams.qmax)
        ctx.inside = inside
        out = (np.clip(q, qparams.qmin, qparams.qmax) - zp) * scale
        return Tensor(out.astype(x.data.dtype))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, None]:
        g = grad_output.data
        return Tensor(np.where(ctx.inside, g, np.zeros_like(g))), None


def fake_quantize(x: Tensor, qparams: QParams) -> Tensor:
    """Round `x` onto `qparams`'s grid and back; gradients pass straight through."""
    return FakeQuantize.apply(x, qparams)
