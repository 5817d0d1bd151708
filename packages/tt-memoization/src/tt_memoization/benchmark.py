"""`benchmark_generation`: tokens per second with and without the KV cache, measured.

Both paths generate the same ids from the same prompt and seed (checked on every
run), timed with tt-profiling's `time_callable`. Cached and uncached runs
alternate round by round, so load from other jobs on a shared machine hits
both alike; the reported figure is the median over rounds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tt_profiling import LatencyStats, time_callable
from tt_tensor import Tensor
from tt_transformers import GPT

from .generation import cached_generate


@dataclass(frozen=True)
class GenerationTiming:
    """One generation length: latency of the whole generation, cached and uncached."""

    new_tokens: int
    batch_size: int
    prompt_len: int
    cached: LatencyStats
    uncached: LatencyStats
    same_tokens: bool

    @property
    def cached_tokens_per_s(self) -> float:
        return self.batch_size * self.new_tokens / self.cached.median

    @property
    def uncached_tokens_per_s(self) -> float:
        return self.batch_size * self.new_tokens / self.uncached.median

    @property
    def speedup(self) -> float:
        """Median uncached time / median cached time."""
        return self.uncached.median / self.cached.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "new_tokens": self.new_tokens,
            "batch_size": self.batch_size,
            "prompt_len": self.prompt_len,
            "cached_tokens_per_s": self.cached_tokens_per_s,
            "uncached_tokens_per_s": self.uncached_tokens_per_s,
            "speedup": self.speedup,
            "same_tokens": self.same_tokens,
            "cached": self.cached.to_dict(),
            "uncached": self.uncached.to_dict(),
        }


def benchmark_generation(
    model: GPT,
    prompt: Tensor,
    new_tokens: Sequence[int] = (64, 256, 512),
    *,
    rounds: int = 3,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> list[GenerationTiming]:
    """Time `cached_generate` against the model's own (uncached) `generate` for each length.

    Every run uses a fresh generator seeded with `seed`, so both paths sample the
    same ids; `same_tokens` records whether they did. One untimed run of each path
    warms up first (allocation, BLAS threads).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if prompt.ndim != 2:
        raise ValueError(f"prompt must be ids of shape (B, T), got {tuple(prompt.shape)}")
    results: list[GenerationTiming] = []
    out: dict[str, Tensor] = {}

    def run_cached(n: int) -> None:
        out["cached"] = cached_generate(model, prompt, n, temperature, top_k, seed)

    def run_uncached(n: int) -> None:
        out["uncached"] = model.generate(prompt, n, temperature, top_k, seed)

    for n in new_tokens:
        if n < 1:
            raise ValueError(f"new token counts must be >= 1, got {n}")
        run_cached(min(n, 8))
        run_uncached(min(n, 8))
        cached: list[float] = []
        uncached: list[float] = []
        same = True
        for _ in range(rounds):
            cached += time_callable(functools.partial(run_cached, n), warmup=0, repeats=1)
            uncached += time_callable(functools.partial(run_uncached, n), warmup=0, repeats=1)
            same = same and bool(np.array_equal(out["cached"].data, out["uncached"].data))
        results.append(
            GenerationTiming(
                new_tokens=n,
                batch_size=prompt.shape[0],
                prompt_len=prompt.shape[1],
                cached=LatencyStats(tuple(cached)),
                uncached=LatencyStats(tuple(uncached)),
                same_tokens=same,
            )
        )
    return results
