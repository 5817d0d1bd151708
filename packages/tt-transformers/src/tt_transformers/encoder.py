"""`TransformerEncoderLayer`: the encoder block of "Attention Is All You Need",
with PyTorch's parameter names, so weights copied from `nn.TransformerEncoderLayer` fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tt_activations import gelu, relu
from tt_attention import MultiheadAttention
from tt_layers import Dropout, Linear, Module
from tt_tensor import Tensor

from .layer_norm import LayerNorm


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual and LayerNorm.

    ``norm_first=False`` (the 2017 paper, PyTorch's default) normalises after each
    residual sum; ``norm_first=True`` normalises before, as GPT's `Block` does.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if activation == "relu":
            self.activation_fn: Callable[[Tensor], Tensor] = relu
        elif activation == "gelu":
            self.activation_fn = gelu
        elif callable(activation):
            self.activation_fn = activation
        else:
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, padding: Tensor | None, is_causal: bool
    ) -> Tensor:
        out, _ = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=is_causal,
        )
        y: Tensor = self.dropout1(out)
        return y

    def _ff_block(self, x: Tensor) -> Tensor:
        y: Tensor = self.dropout2(self.linear2(self.dropout(self.activation_fn(self.linear1(x)))))
        return y

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """Masks follow MultiheadAttention: boolean True = may not attend; floats are added."""
        x = src
        norm1: Any = self.norm1
        norm2: Any = self.norm2
        if self.norm_first:
            x = x + self._sa_block(norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(norm2(x))
        else:
            x = norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = norm2(x + self._ff_block(x))
        return x
