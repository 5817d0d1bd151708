"""TinyTorch module 17: memoization, from a general LRU decorator to a transformer's KV cache.

Builds on module 13 (the `GPT` whose weights and blocks the cached decoder
walks), 12 (`scaled_dot_product_attention` over the cached keys and values) and
14 (`time_callable` and `LatencyStats` measure the speedup). Module 20's
optimization pipeline can use both.
"""

from tt_transformers import sample_next  # the sampler GPT.generate uses, shared

from .benchmark import GenerationTiming, benchmark_generation
from .generation import (
    cached_generate,
    forward_cached,
    offset_causal_mask,
    recompute_generate,
    resolve_generator,
)
from .kv_cache import KVCache
from .memoize import CacheInfo, Memoized, make_key, memoize

__all__ = [
    "CacheInfo",
    "GenerationTiming",
    "KVCache",
    "Memoized",
    "benchmark_generation",
    "cached_generate",
    "forward_cached",
    "make_key",
    "memoize",
    "offset_causal_mask",
    "recompute_generate",
    "resolve_generator",
    "sample_next",
]
