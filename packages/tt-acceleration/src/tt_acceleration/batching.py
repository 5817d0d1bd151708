"""Batched inference: many inputs through a model in chunks, not one by one.

Each call into a model pays a fixed cost (Python dispatch per layer, small
BLAS calls that cannot use the cores well). Stacking inputs into batches
spreads that cost: `batched_inference` cuts a large input into `batch_size`
chunks, runs each under `no_grad`, and writes the results into one
preallocated output array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tt_autograd import no_grad
from tt_tensor import Tensor


def batched_inference(
    model: Callable[[Tensor], Any], inputs: Tensor | np.ndarray[Any, Any], batch_size: int = 256
) -> Tensor:
    """`model(inputs)` computed `batch_size` rows at a time (for a model or an InferencePlan)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
    if data.ndim == 0 or data.shape[0] == 0:
        raise ValueError(f"inputs need a non-empty batch dimension, got shape {data.shape}")
    n = data.shape[0]
    out: np.ndarray[Any, Any] | None = None
    with no_grad():
        for start in range(0, n, batch_size):
            result = model(Tensor(data[start : start + batch_size]))
            if not isinstance(result, Tensor):
                raise TypeError(f"model returned {type(result).__name__}, expected a Tensor")
            chunk = result.data
            if out is None:
                out = np.empty((n, *chunk.shape[1:]), dtype=chunk.dtype)
            out[start : start + chunk.shape[0]] = chunk
    assert out is not None
    return Tensor(out)
