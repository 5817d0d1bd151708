"""TinyTorch module 10: character and byte-level BPE tokenizers.

Builds on module 01 (ids come out as int64 `Tensor`s); module 11 (embeddings)
sizes its tables from a tokenizer's `vocab_size`.
"""

from __future__ import annotations

import os

from ._base import Tokenizer
from .bpe import GPT2_SPLIT_PATTERN, BPETokenizer, learn_merges
from .char import CharTokenizer


def load_tokenizer(path: str | os.PathLike[str]) -> CharTokenizer | BPETokenizer:
    """Load a tokenizer saved by either class, choosing the class from the file."""
    from ._base import read_json

    kind = read_json(path, None)["type"]
    if kind == "char":
        return CharTokenizer.load(path)
    if kind == "bpe":
        return BPETokenizer.load(path)
    raise ValueError(f"{path}: unknown tokenizer type {kind!r} (expected 'char' or 'bpe')")


__all__ = [
    "GPT2_SPLIT_PATTERN",
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "learn_merges",
    "load_tokenizer",
]
