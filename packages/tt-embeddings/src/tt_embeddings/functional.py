"""`embedding`: a row lookup forward, a scatter-add backward.

Looking up rows is a gather (`np.take`). Its gradient sends each output row's
gradient back to the row it came from, and a row picked k times receives the
sum of k gradients: a scatter-add. `np.add.at` does that but is slow (it
handles one element at a time), so `scatter_add_rows` uses one of two
vectorized forms, picked by vocabulary size (measured on this project's
machine, milliseconds per backward, float32; see the README):

| rows V | width D | ids N | np.add.at | sort + add.reduceat | one-hot matmul |
|---:|---:|---:|---:|---:|---:|
| 65 | 128 | 768 | 1.39 | 0.24 | 0.15 |
| 1,024 | 128 | 768 | 1.41 | 0.76 | 1.40 |
| 1,000 | 64 | 20,000 | 11.6 | 4.1 | 31.9 |
| 50,257 | 768 | 4,096 | 60.4 | 50.8 | 1,943 |

A one-hot matrix times the gradients is a single BLAS call and wins for small
vocabularies (a character-level model); sorting the ids and summing each run
of equal ids with `np.add.reduceat` costs O(N log N + V*D) and wins otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from tt_autograd import Function
from tt_tensor import Tensor

Array = npt.NDArray[Any]

ONE_HOT_MAX_ROWS = 256  # at or below this many rows, the one-hot matmul is faster


def check_ids(ids: Array, num_embeddings: int) -> None:
    """Raise a clear error unless `ids` are integers in ``range(num_embeddings)``."""
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"Expected tensor for argument #1 'indices' to have an integer dtype "
            f"(int64 or int32), but got {ids.dtype}"
        )
    if ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"embedding: token id {bad} is out of range for num_embeddings="
                f"{num_embeddings} (valid ids are 0..{num_embeddings - 1})"
            )


def scatter_add_rows(ids: Array, grad: Array, num_rows: int) -> Array:
    """``out[ids[i]] += grad[i]`` for every i, into a (num_rows, D) array, vectorized."""
    flat = ids.reshape(-1)
    g = grad.reshape(flat.size, grad.shape[-1])
    if num_rows <= ONE_HOT_MAX_ROWS:
        one_hot = np.zeros((num_rows, flat.size), dtype=g.dtype)
        one_hot[flat, np.arange(flat.size)] = 1
        return one_hot @ g
    out = np.zeros((num_rows, g.shape[1]), dtype=g.dtype)
    if flat.size == 0:
        return out
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out[sorted_ids[starts]] = np.add.reduceat(g[order], starts, axis=0)
    return out


class EmbeddingFunction(Function):
    """Gather rows of `weight`; the backward scatter-adds into a dense weight gradient."""

    @staticmethod
    def forward(ctx: Any, ids: Tensor, weight: Tensor, padding_idx: int | None) -> Tensor:
        idx = ids.data
        check_ids(idx, weight.shape[0])
        ctx.ids = idx
        ctx.num_rows = weight.shape[0]
        ctx.padding_idx = padding_idx
        return Tensor(np.take(weight.data, idx, axis=0))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[None, Tensor, None]:
        g = scatter_add_rows(ctx.ids, grad_output.data, ctx.num_rows)
        if ctx.padding_idx is not None:
            g[ctx.padding_idx] = 0  # the padding row never learns
        return None, Tensor(g), None


def normalize_padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    """PyTorch's rule: a negative padding_idx counts from the end."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}"
        )
    return padding_idx % num_embeddings


def embedding(input: Tensor | Array, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` (V, D) picked by the integer ids in `input` (any shape): (*, D)."""
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input))
    if weight.ndim != 2:
        raise ValueError(f"embedding weight must be 2-D (num_embeddings, dim), got {weight.shape}")
    pad = normalize_padding_idx(padding_idx, weight.shape[0])
    return EmbeddingFunction.apply(input, weight, pad)
