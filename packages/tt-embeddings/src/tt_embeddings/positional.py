"""Positional information: attention alone cannot tell "dog bites man" from
"man bites dog", so each position adds a vector of its own.

Both modules return a (T, D) tensor for a sequence of length T that broadcasts
against (B, T, D) token embeddings: ``x = tok_emb(ids) + pos_emb(ids)``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from tt_layers import Module, Parameter
from tt_tensor import Tensor, arange, randn

from .functional import embedding


def _seq_len(x: Tensor | int) -> int:
    """Integer ids are (..., T); float embeddings are (..., T, D)."""
    if isinstance(x, int):
        return x
    if x.ndim == 0:
        raise ValueError("positional encodings need a sequence, got a 0-d tensor")
    if x.dtype.kind in "iu":
        return int(x.shape[-1])
    if x.ndim < 2:
        raise ValueError(
            f"float input must be embeddings of shape (..., T, D), got shape {tuple(x.shape)}"
        )
    return int(x.shape[-2])


def _check_fits(seq_len: int, offset: int, max_len: int) -> None:
    if offset < 0 or offset + seq_len > max_len:
        raise ValueError(
            f"positions {offset}..{offset + seq_len - 1} do not fit in max_len={max_len}: "
            f"a sequence of length {seq_len} (offset {offset}) is too long for this encoding"
        )


class LearnedPositionalEmbedding(Module):
    """One learned vector per position (GPT-2's ``wpe``): ``weight`` is (max_len, D)."""

    def __init__(self, max_len: int, embedding_dim: int) -> None:
        super().__init__()
        if max_len <= 0 or embedding_dim <= 0:
            raise ValueError(
                f"max_len and embedding_dim must be positive, got {max_len}, {embedding_dim}"
            )
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.weight = Parameter(randn(max_len, embedding_dim))

    def forward(self, x: Tensor | int, offset: int = 0) -> Tensor:
        """Vectors of positions offset..offset+T-1 for a sequence `x` (ids, embeddings or T)."""
        t = _seq_len(x)
        _check_fits(t, offset, self.max_len)
        return embedding(arange(offset, offset + t), self.weight)

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.embedding_dim}"


PositionalEmbedding = LearnedPositionalEmbedding


def sinusoidal_table(max_len: int, dim: int, base: float = 10000.0) -> npt.NDArray[np.float32]:
    """Vaswani et al.'s table: PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(same).

    Each pair of columns is a rotation at its own frequency, so PE[p + k] is a
    fixed linear function of PE[p]: relative offsets are easy to attend to.
    """
    if max_len <= 0 or dim <= 0:
        raise ValueError(f"max_len and dim must be positive, got {max_len}, {dim}")
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    freq = np.exp(-math.log(base) * np.arange(0, dim, 2, dtype=np.float64) / dim)
    table = np.zeros((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: dim // 2])
    return table.astype(np.float32)


class SinusoidalPositionalEncoding(Module):
    """Fixed sine/cosine positions (no parameters); the table is a non-persistent buffer."""

    pe: Tensor

    def __init__(self, max_len: int, embedding_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.register_buffer(
            "pe", Tensor(sinusoidal_table(max_len, embedding_dim, base)), persistent=False
        )

    def forward(self, x: Tensor | int, offset: int = 0) -> Tensor:
        t = _seq_len(x)
        _check_fits(t, offset, self.max_len)
        return Tensor(self.pe.data[offset : offset + t])

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.embedding_dim}"
