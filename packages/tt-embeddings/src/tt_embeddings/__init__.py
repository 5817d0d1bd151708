"""TinyTorch module 11: token embeddings and positional encodings.

Builds on module 10 (a table sized by a tokenizer's vocabulary), module 03
(`Module`, `Parameter`) and module 05 (the scatter-add backward as a
`Function`). Attention (12) and transformers (13) build on it.
"""

from . import functional
from .embedding import Embedding
from .functional import EmbeddingFunction, embedding, scatter_add_rows
from .positional import (
    LearnedPositionalEmbedding,
    PositionalEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)

__all__ = [
    "Embedding",
    "EmbeddingFunction",
    "LearnedPositionalEmbedding",
    "PositionalEmbedding",
    "SinusoidalPositionalEncoding",
    "embedding",
    "functional",
    "scatter_add_rows",
    "sinusoidal_table",
]
