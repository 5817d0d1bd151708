"""`KVCache`: the keys and values every decoder layer has already computed.

In a causal transformer the key and value of position i depend only on tokens
0..i, so they never change once computed. Generating without a cache recomputes
all of them at every step: step n costs O(n) projections and O(n^2) attention,
and a whole generation O(n^2) / O(n^3). With a cache each step projects only
the new token and attends over the stored keys: O(1) projections and O(n)
attention per step.

Storage is preallocated once per layer as (batch, heads, max_len, head_dim)
arrays, so appending a token is a slice assignment (no concatenation, no
reallocation) and attention reads a view of the filled prefix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor
from tt_transformers import GPT

Array = npt.NDArray[Any]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"KVCache: {name} must be a positive int, got {value!r}")
    return int(value)


class KVCache:
    """Keys and values of `n_layer` attention layers, each (batch, heads, max_len, head_dim).

    Each layer keeps its own fill level, because a forward pass updates layer 0
    before layer 1: `update(layer, k, v)` writes the new positions right after
    that layer's filled prefix and returns views of everything stored so far.
    `seq_len` is the number of positions every layer holds, i.e. the position of
    the next token.
    """

    def __init__(
        self,
        n_layer: int,
        batch_size: int,
        n_head: int,
        max_len: int,
        head_dim: int,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        self.n_layer = _positive("n_layer", n_layer)
        self.batch_size = _positive("batch_size", batch_size)
        self.n_head = _positive("n_head", n_head)
        self.max_len = _positive("max_len", max_len)
        self.head_dim = _positive("head_dim", head_dim)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"KVCache: dtype must be floating point, got {self.dtype}")
        shape = (self.batch_size, self.n_head, self.max_len, self.head_dim)
        self.keys: list[Array] = [np.zeros(shape, self.dtype) for _ in range(self.n_layer)]
        self.values: list[Array] = [np.zeros(shape, self.dtype) for _ in range(self.n_layer)]
        self._lengths = [0] * self.n_layer

    @classmethod
    def for_model(cls, model: GPT, batch_size: int, max_len: int | None = None) -> KVCache:
        """A cache shaped for `model` (a tt-transformers GPT); `max_len` defaults to its
        block_size and cannot exceed it (there are no position embeddings beyond)."""
        if not isinstance(model, GPT):
            raise TypeError(f"KVCache.for_model expects a tt_transformers.GPT, got {type(model)}")
        length = model.block_size if max_len is None else max_len
        if length > model.block_size:
            raise ValueError(
                f"KVCache max_len={length} exceeds the model's block_size={model.block_size}"
            )
        return cls(
            model.n_layer,
            batch_size,
            model.n_head,
            length,
            model.n_embd // model.n_head,
            model.wte.weight.dtype,
        )

    # ------------------------------------------------------------ bookkeeping
    @property
    def lengths(self) -> tuple[int, ...]:
        """Positions filled in each layer."""
        return tuple(self._lengths)

    @property
    def seq_len(self) -> int:
        """Positions filled in every layer: where the next token goes."""
        return min(self._lengths)

    def __len__(self) -> int:
        return self.seq_len

    @property
    def remaining(self) -> int:
        """How many more positions fit."""
        return self.max_len - max(self._lengths)

    @property
    def nbytes(self) -> int:
        """Bytes preallocated for keys and values (2 * layers * B * H * max_len * head_dim)."""
        return sum(a.nbytes for a in self.keys) + sum(a.nbytes for a in self.values)

    def reset(self) -> None:
        """Forget every position (the storage is kept and overwritten later)."""
        self._lengths = [0] * self.n_layer

    def crop(self, length: int) -> None:
        """Keep only the first `length` positions of every layer (e.g. to rewind)."""
        if not 0 <= length <= self.seq_len:
            raise ValueError(
                f"cannot crop the KV cache to {length} positions: it holds {self.seq_len}"
            )
        self._lengths = [length] * self.n_layer

    def check_fits(self, new_tokens: int) -> None:
        """Raise a ValueError naming the lengths if `new_tokens` more do not fit."""
        end = max(self._lengths) + new_tokens
        if end > self.max_len:
            raise ValueError(
                f"KV cache overflow: {max(self._lengths)} cached + {new_tokens} new positions "
                f"= {end} > max_len={self.max_len}"
            )

    # ------------------------------------------------------------ the data
    def _layer(self, layer: int) -> int:
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
            raise TypeError(f"layer must be an int, got {type(layer).__name__}")
        if not 0 <= layer < self.n_layer:
            raise IndexError(f"layer {layer} out of range for a KV cache of {self.n_layer} layers")
        return int(layer)

    def update(self, layer: int, key: Tensor | Array, value: Tensor | Array) -> tuple[Array, Array]:
        """Append the keys and values of T new positions, (batch, heads, T, head_dim), to
        `layer`; return views (batch, heads, filled, head_dim) of all positions stored."""
        i = self._layer(layer)
        k = key.data if isinstance(key, Tensor) else np.asarray(key)
        v = value.data if isinstance(value, Tensor) else np.asarray(value)
        b, h, d = self.batch_size, self.n_head, self.head_dim
        for name, a in (("key", k), ("value", v)):
            if a.ndim != 4 or a.shape[0] != b or a.shape[1] != h or a.shape[3] != d:
                raise ValueError(
                    f"KV cache layer {i}: {name} must be (batch={b}, heads={h}, T, "
                    f"head_dim={d}), got {tuple(a.shape)}"
                )
        if k.shape != v.shape:
            raise ValueError(
                f"KV cache layer {i}: key {tuple(k.shape)} and value {tuple(v.shape)} differ"
            )
        start = self._lengths[i]
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(
                f"KV cache overflow in layer {i}: {start} cached + {k.shape[2]} new positions "
                f"= {end} > max_len={self.max_len}"
            )
        self.keys[i][:, :, start:end] = k
        self.values[i][:, :, start:end] = v
        self._lengths[i] = end
        return self.keys[i][:, :, :end], self.values[i][:, :, :end]

    def get(self, layer: int) -> tuple[Array, Array]:
        """Views of the keys and values stored for `layer`."""
        i = self._layer(layer)
        n = self._lengths[i]
        return self.keys[i][:, :, :n], self.values[i][:, :, :n]

    def __repr__(self) -> str:
        return (
            f"KVCache(n_layer={self.n_layer}, batch_size={self.batch_size}, "
            f"n_head={self.n_head}, max_len={self.max_len}, head_dim={self.head_dim}, "
            f"dtype={self.dtype}, seq_len={self.seq_len})"
        )
