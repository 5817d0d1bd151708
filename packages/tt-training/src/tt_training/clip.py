"""Gradient clipping: keep one exploding batch from wrecking the weights."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[npt.NDArray[Any]]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so their global norm is at most `max_norm`.

    The norm is taken over every gradient as if they were one long vector, so
    the update keeps its direction and only its length shrinks. Returns that
    total norm (before clipping), as `torch.nn.utils.clip_grad_norm_` does.
    """
    if not max_norm >= 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm!r}")
    norm_type = float(norm_type)
    if not (norm_type > 0 or norm_type == math.inf):
        raise ValueError(f"norm_type must be positive or inf, got {norm_type!r}")
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*grads)
    with np.errstate(over="ignore"):  # an overflowing norm is reported as inf, not warned
        if norm_type == math.inf:
            total = max(np.abs(g).max(initial=0) for g in grads)
        else:
            norms = np.array([np.linalg.norm(g.ravel(), norm_type) for g in grads], dtype=dtype)
            total = np.linalg.norm(norms, norm_type)
    total = dtype.type(total)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite ({total}), so it cannot be clipped. To disable this error and scale "
            "the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = max_norm / (float(total) + 1e-6)
    if not coef >= 1.0:  # also NaN, which spreads to the gradients as in PyTorch
        with np.errstate(invalid="ignore"):
            for g in grads:
                g *= coef
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    if not clip_value >= 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value!r}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
