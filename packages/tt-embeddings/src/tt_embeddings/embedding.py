"""`Embedding`: a learnable table with one vector per token id."""

from __future__ import annotations

from typing import Any

import numpy as np
from tt_layers import Module, Parameter
from tt_tensor import Tensor, randn
from tt_tokenization import Tokenizer

from .functional import embedding, normalize_padding_idx


class Embedding(Module):
    """`torch.nn.Embedding`: ``weight`` is (num_embeddings, embedding_dim), drawn from N(0, 1).

    With `padding_idx`, that row starts at zero and never receives a gradient,
    so padded positions contribute nothing.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {v!r}")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = normalize_padding_idx(padding_idx, self.num_embeddings)
        if _weight is None:
            self.weight = Parameter(randn(self.num_embeddings, self.embedding_dim, dtype=dtype))
            self._zero_padding_row()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(
                    f"Shape of weight {tuple(_weight.shape)} does not match num_embeddings "
                    f"and embedding_dim ({self.num_embeddings}, {self.embedding_dim})"
                )
            self.weight = Parameter(_weight.data, requires_grad=not _freeze)

    def _zero_padding_row(self) -> None:
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def reset_parameters(self) -> None:
        """Redraw the table from N(0, 1) (padding row back to zero)."""
        self.weight.data[...] = randn(*self.weight.shape, dtype=self.weight.dtype).data
        self._zero_padding_row()

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """Wrap an existing (V, D) table; frozen (no gradient) by default, as in PyTorch."""
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embeddings parameter is expected to be 2-dimensional, "
                f"got shape {tuple(embeddings.shape)}"
            )
        v, d = embeddings.shape
        return cls(v, d, padding_idx, _weight=embeddings, _freeze=freeze)

    @classmethod
    def from_tokenizer(
        cls, tokenizer: Tokenizer, embedding_dim: int, padding_idx: int | None = None
    ) -> Embedding:
        """A table with exactly one row per id the tokenizer can produce."""
        if not isinstance(tokenizer, Tokenizer):
            raise TypeError(
                f"from_tokenizer expects a tokenizer with vocab_size/encode/decode "
                f"(e.g. tt_tokenization.CharTokenizer), got {type(tokenizer).__name__}"
            )
        return cls(tokenizer.vocab_size, embedding_dim, padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
