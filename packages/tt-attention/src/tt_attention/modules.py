"""`MultiheadAttention` with PyTorch's parameters, and `AttentionTagger`, the
smallest model that shows attention routing information between positions."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from tt_embeddings import Embedding, LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from tt_layers import Linear, Module, Parameter, init
from tt_layers.functional import linear
from tt_tensor import Tensor

from .functional import attention, causal_mask

Array = npt.NDArray[Any]


def _mask_parts(
    mask: Tensor | None, what: str, dtype: np.dtype[Any]
) -> tuple[Array | None, Tensor | None]:
    """An nn.MultiheadAttention mask as (allowed, bias): a boolean mask here means
    True = *ignore* (the opposite of scaled_dot_product_attention); a float mask is added."""
    if mask is None:
        return None, None
    m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
    if m.dtype == np.bool_:
        return ~m.data, None
    if m.dtype.kind == "f":
        return None, (m if m.dtype == dtype else m.to(dtype))
    raise TypeError(f"only bool and floating types of {what} are supported, got {m.dtype}")


class MultiheadAttention(Module):
    """`torch.nn.MultiheadAttention` (same-size query/key/value embeddings).

    Parameters are PyTorch's: ``in_proj_weight`` (3E, E) stacks the query, key
    and value projections, ``in_proj_bias`` (3E,), and ``out_proj`` is a Linear,
    so a state dict copied from PyTorch gives the same outputs. `batch_first`
    defaults to False as in PyTorch: inputs are (L, N, E) unless you ask for (N, L, E).
    The returned attention weights are a plain (non-differentiable) Tensor.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim must be divisible by num_heads, got {embed_dim} and {num_heads}"
            )
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("add_bias_kv and add_zero_attn are not supported")
        if (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise NotImplementedError("kdim/vdim different from embed_dim are not supported")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        dt = np.float32 if dtype is None else dtype
        self.embed_dim = embed_dim
        self.kdim = self.vdim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dt))
        self.in_proj_bias: Parameter | None
        if bias:
            self.in_proj_bias = Parameter(np.empty((3 * embed_dim,), dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform in_proj_weight, zero biases, out_proj.weight as Linear's."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """Q, K, V as (N, H, L, head_dim); one matmul when it is self-attention."""
        e, h, hd = self.embed_dim, self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        # Projections run on (N * L, E) matrices: one BLAS call instead of one per batch item.
        if query is key and key is value:
            n, length = query.shape[0], query.shape[1]
            qkv = linear(query.reshape(n * length, e), w, b)
            qkv = qkv.reshape(n, length, 3, h, hd).permute(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        out = []
        for i, x in enumerate((query, key, value)):
            rows = slice(i * e, (i + 1) * e)
            part = linear(x.reshape(-1, e), w[rows], None if b is None else b[rows])
            out.append(part.reshape(x.shape[0], x.shape[1], h, hd).permute(0, 2, 1, 3))
        return tuple(out)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from `query` to `key`/`value`; returns (output, attention weights or None).

        Masks as in PyTorch's MultiheadAttention: boolean True means the position
        may NOT be attended; float masks are added. `key_padding_mask` is (N, S);
        `attn_mask` is (L, S) or (N * num_heads, L, S). `is_causal` without an
        `attn_mask` builds the causal mask (PyTorch requires the mask as well).
        """
        unbatched = query.ndim == 2
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != query.ndim or t.ndim not in (2, 3) or t.shape[-1] != self.embed_dim:
                raise ValueError(
                    f"{name} must be (L, E), (L, N, E) or (N, L, E) with E={self.embed_dim}, "
                    f"matching query; got {name} {tuple(t.shape)}, query {tuple(query.shape)}"
                )
        if unbatched:
            query, key, value = self._batch(query, key, value)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif not self.batch_first:
            query, key, value = self._swap(query, key, value)
        n, tgt, src = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[0] != n or value.shape[:2] != key.shape[:2]:
            raise ValueError(
                f"key and value must have the batch size and length of each other and the "
                f"batch size of query: query {tuple(query.shape)}, key {tuple(key.shape)}, "
                f"value {tuple(value.shape)}"
            )
        q, k, v = self._project(query, key, value)

        allowed, bias = self._masks(
            key_padding_mask, attn_mask, is_causal, n, tgt, src, query.dtype
        )
        p = self.dropout if self.training else 0.0
        out, weights = attention(q, k, v, allowed, bias, p, None, need_weights)
        out = out.permute(0, 2, 1, 3).reshape(n * tgt, self.embed_dim)
        out = self.out_proj(out).reshape(n, tgt, self.embed_dim)
        if unbatched:
            out = out.reshape(tgt, self.embed_dim)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        attn: Tensor | None = None
        if need_weights and weights is not None:
            w = weights.mean(axis=1) if average_attn_weights else weights.copy()
            attn = Tensor(w[0] if unbatched else w)
        return out, attn

    @staticmethod
    def _batch(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Add a batch dimension, keeping `query is key is value` for self-attention."""
        q = query.unsqueeze(0)
        k = q if key is query else key.unsqueeze(0)
        v = k if value is key else value.unsqueeze(0)
        return q, k, v

    @staticmethod
    def _swap(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(L, N, E) -> (N, L, E), keeping `query is key is value` for self-attention."""
        q = query.transpose(0, 1)
        k = q if key is query else key.transpose(0, 1)
        v = k if value is key else value.transpose(0, 1)
        return q, k, v

    def _masks(
        self,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        is_causal: bool,
        n: int,
        tgt: int,
        src: int,
        dtype: np.dtype[Any],
    ) -> tuple[Array | None, Tensor | None]:
        """Merge both masks into one boolean `allowed` and one float `bias`, (N, H, L, S)."""
        allowed_k, bias_k = _mask_parts(key_padding_mask, "key_padding_mask", dtype)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (n, src):
                raise ValueError(
                    f"expected key_padding_mask of shape {(n, src)}, "
                    f"got {tuple(key_padding_mask.shape)}"
                )
            if allowed_k is not None:
                allowed_k = allowed_k.reshape(n, 1, 1, src)
            if bias_k is not None:
                bias_k = bias_k.reshape(n, 1, 1, src)
        if attn_mask is None and is_causal:
            allowed_a: Array | None = causal_mask(tgt, src)
            bias_a: Tensor | None = None
        else:
            allowed_a, bias_a = _mask_parts(attn_mask, "attn_mask", dtype)
            if attn_mask is not None:
                shape = tuple(attn_mask.shape)
                new: tuple[int, ...]
                if shape == (n * self.num_heads, tgt, src):
                    new = (n, self.num_heads, tgt, src)
                elif shape == (tgt, src):
                    new = shape
                else:
                    raise ValueError(
                        f"attn_mask should have shape {(tgt, src)} or "
                        f"{(n * self.num_heads, tgt, src)}, got {shape}"
                    )
                allowed_a = None if allowed_a is None else allowed_a.reshape(new)
                bias_a = None if bias_a is None else bias_a.reshape(new)
        allowed = (
            allowed_a
            if allowed_k is None
            else (allowed_k if allowed_a is None else allowed_a & allowed_k)
        )
        bias = bias_a if bias_k is None else (bias_k if bias_a is None else bias_a + bias_k)
        return allowed, bias

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
            f"dropout={self.dropout}, batch_first={self.batch_first}"
        )


class AttentionTagger(Module):
    """Token + position embeddings, one self-attention layer with a residual, a linear head:
    one output per position, computed from the whole sequence.

    Positions are what let it solve tasks such as reversing a sequence: position
    i learns to query the key of position L-1-i and copy that token's value.
    """

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        embed_dim: int,
        num_heads: int,
        num_classes: int | None = None,
        positional: str = "learned",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.tok = Embedding(vocab_size, embed_dim)
        if positional == "learned":
            self.pos: Module = LearnedPositionalEmbedding(max_len, embed_dim)
        elif positional == "sinusoidal":
            self.pos = SinusoidalPositionalEncoding(max_len, embed_dim)
        else:
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', got {positional!r}")
        self.attn = MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.head = Linear(embed_dim, num_classes or vocab_size)

    def forward(
        self, ids: Tensor, key_padding_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (N, L, classes) for ids (N, L), and the head-averaged attention map."""
        x = self.tok(ids) + self.pos(ids)
        a, weights = self.attn(x, x, x, key_padding_mask=key_padding_mask)
        return self.head(x + a), weights
