"""The machine's matmul peak, measured here and now.

"Achieved GFLOP/s" only means something next to what this machine can do, so
we time a large float32 matrix product (the best case for NumPy's BLAS) on the
same machine, in the same process, with the same thread settings, and use it
as the yardstick. Nothing is looked up from a spec sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .timing import LatencyStats, time_callable


@dataclass(frozen=True)
class MatmulPeak:
    """GFLOP/s of an n x n float32 matmul; `gflops` uses the fastest run (the peak)."""

    n: int
    flops: int
    latency: LatencyStats

    @property
    def gflops(self) -> float:
        return self.flops / self.latency.min / 1e9

    @property
    def median_gflops(self) -> float:
        return self.flops / self.latency.median / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "dtype": "float32",
            "flops": self.flops,
            "peak_gflops": self.gflops,
            "median_gflops": self.median_gflops,
            "latency": self.latency.to_dict(),
        }


_CACHE: dict[int, MatmulPeak] = {}


def measure_matmul_peak(
    n: int = 1024, *, warmup: int = 2, repeats: int = 7, seed: int = 0, cached: bool = True
) -> MatmulPeak:
    """Time `a @ b` for random n x n float32 matrices; 2*n**3 FLOPs per product.

    The result is cached per `n` for the life of the process (pass
    `cached=False` to measure again, e.g. after changing BLAS threads).
    """
    if n < 1:
        raise ValueError(f"matmul size n must be >= 1, got {n}")
    if cached and n in _CACHE:
        return _CACHE[n]
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    samples = time_callable(lambda: np.matmul(a, b, out=out), warmup=warmup, repeats=repeats)
    peak = MatmulPeak(n, 2 * n**3, LatencyStats(tuple(samples)))
    _CACHE[n] = peak
    return peak
