"""TinyTorch module 13: LayerNorm, decoder blocks, GPT.

Builds on module 02 (GELU), 11 (token and position embeddings) and 12
(multi-head causal self-attention); the 2017 milestone trains its `GPT` on
Tiny Shakespeare, and module 17 (memoization) adds a KV cache to it.
"""

from . import layer_norm as functional
from .encoder import TransformerEncoderLayer
from .gpt import GPT, MLP, Block, sample_next
from .layer_norm import LayerNorm, LayerNormFunction, layer_norm

__all__ = [
    "GPT",
    "MLP",
    "Block",
    "LayerNorm",
    "LayerNormFunction",
    "TransformerEncoderLayer",
    "functional",
    "layer_norm",
    "sample_next",
]
