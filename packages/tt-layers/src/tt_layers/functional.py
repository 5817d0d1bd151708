"""Stateless forms of the layers: `linear` and `dropout`, as in `torch.nn.functional`."""

from __future__ import annotations

import numpy as np
from tt_tensor import Tensor, generator

__all__ = ["dropout", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`input @ weight.T + bias` for weight of shape (out_features, in_features).

    One matmul over any number of leading batch dimensions; transposing is a
    free NumPy view and the matmul gradient rule sums the batch dimensions back.
    """
    out = input @ weight.T
    return out if bias is None else out + bias


def _check_p(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1 / (1 - p).

    Scaling at training time ("inverted dropout") keeps every activation's
    expected value unchanged, so evaluation needs no rescaling and is the identity.
    The mask comes from tt-tensor's global generator: `manual_seed` fixes it.
    """
    p = _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dt = input.dtype if input.dtype.kind == "f" else np.dtype(np.float32)
    keep = generator().random(input.shape, dtype=np.float32) >= p
    scale = np.where(keep, dt.type(1.0 / (1.0 - p)), dt.type(0.0))
    return input * Tensor(scale)
