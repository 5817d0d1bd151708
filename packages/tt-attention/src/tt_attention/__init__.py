"""TinyTorch module 12: scaled dot-product and multi-head attention.

Builds on modules 01 (Tensor), 03 (Module, Linear), 05 (a fused `Function`
with its own backward) and 11 (the token and position embeddings of
`AttentionTagger`). Module 13 (transformers) stacks it into GPT blocks.
"""

from . import functional
from .functional import SDPAFunction, attention, causal_mask, scaled_dot_product_attention
from .modules import AttentionTagger, MultiheadAttention

__all__ = [
    "AttentionTagger",
    "MultiheadAttention",
    "SDPAFunction",
    "attention",
    "causal_mask",
    "functional",
    "scaled_dot_product_attention",
]
