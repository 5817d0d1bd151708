"""`tinytorch.text`: tokenizers and positional encodings for language models."""

from tt_embeddings import (
    LearnedPositionalEmbedding,
    PositionalEmbedding,
    SinusoidalPositionalEncoding,
)
from tt_tokenization import BPETokenizer, CharTokenizer, Tokenizer, load_tokenizer

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "LearnedPositionalEmbedding",
    "PositionalEmbedding",
    "SinusoidalPositionalEncoding",
    "Tokenizer",
    "load_tokenizer",
]
