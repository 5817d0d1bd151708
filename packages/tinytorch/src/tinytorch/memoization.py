"""`tinytorch.memoization`: KV cache and memoization (module 17)."""

from tt_memoization import (
    KVCache,
    cached_generate,
    memoize,
)

__all__ = [
    "KVCache",
    "cached_generate",
    "memoize",
]
