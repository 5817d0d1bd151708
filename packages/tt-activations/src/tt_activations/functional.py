"""Activation functions, composed from tt-tensor operations.

Each function is a few differentiable `Tensor` operations, so once tt-autograd
is imported every one of them has a gradient without a rule of its own.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from tt_tensor import Tensor

__all__ = ["gelu", "log_softmax", "relu", "sigmoid", "softmax", "tanh"]

_SQRT_1_2 = 1.0 / math.sqrt(2.0)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def relu(input: Tensor) -> Tensor:
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x): exactly through erf, or with the tanh approximation of GPT-2."""
    x = input
    if approximate == "none":
        return x * ((x * _SQRT_1_2).erf() * 0.5 + 0.5)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_PI
        return x * (inner.tanh() * 0.5 + 0.5)
    raise ValueError(f"approximate argument must be either 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(ndim: int, name: str) -> int:
    """PyTorch's legacy choice of dim when none is given (deprecated there too)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _shifted(input: Tensor, dim: int, dtype: Any, name: str) -> tuple[Tensor, int]:
    """`input - max(input, dim)`, the max detached, so exp can never overflow.

    Subtracting a constant does not change softmax's value, and as a constant it
    contributes no gradient, so the gradient stays exact.
    """
    x = input if dtype is None else input.to(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} expects a floating point tensor, got dtype {x.dtype}")
    if x.ndim == 0:
        x = x.reshape(1)
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(
            f"{name}: dim {dim} is out of range for a tensor of shape {tuple(input.shape)}"
        )
    shift = np.max(x.data, axis=dim, keepdims=True)
    # a row of -inf (fully masked) keeps a finite shift so no inf - inf appears
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
    return x - Tensor(shift), dim


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along `dim`; stable for logits of any size."""
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmax")
    z, d = _shifted(input, dim, dtype, "softmax")
    e = z.exp()
    out = e / e.sum(d, keepdim=True)
    return out.reshape(()) if input.ndim == 0 else out


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along `dim`, never taking the log of an underflowed 0."""
    if dim is None:
        dim = _softmax_dim(input.ndim, "log_softmax")
    z, d = _shifted(input, dim, dtype, "log_softmax")
    out = z - z.exp().sum(d, keepdim=True).log()
    return out.reshape(()) if input.ndim == 0 else out
