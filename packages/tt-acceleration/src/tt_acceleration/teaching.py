"""Why vectorize: the same matmul and convolution in Python loops and in NumPy, timed.

The loop versions are deliberately naive (one multiply-add per Python
iteration); they exist to be measured against, on small sizes, so the speedup
of handing whole arrays to compiled code is a number you saw, not a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_profiling import conv_output_size, measure

from .conv import conv2d_im2col

Array: TypeAlias = npt.NDArray[Any]


def naive_matmul(a: Array, b: Array) -> Array:
    """(m, k) @ (k, n) with three nested Python loops over Python floats."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"naive_matmul needs (m, k) and (k, n), got {a.shape} and {b.shape}")
    m, k = a.shape
    n = b.shape[1]
    al, bl = a.tolist(), b.tolist()
    out = [[0.0] * n for _ in range(m)]
    for i in range(m):
        row = al[i]
        out_row = out[i]
        for j in range(n):
            acc = 0.0
            for p in range(k):
                acc += row[p] * bl[p][j]
            out_row[j] = acc
    return np.asarray(out, dtype=np.result_type(a.dtype, b.dtype))


def naive_conv2d(
    x: Array, w: Array, b: Array | None = None, stride: int = 1, padding: int = 0
) -> Array:
    """Convolution with seven nested Python loops (N, Cout, Ho, Wo, Cin, kh, kw)."""
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"naive_conv2d needs (N, C, H, W) and (Cout, C, kh, kw), got {x.shape}, {w.shape}"
        )
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))).tolist()
    wl = w.tolist()
    oh = conv_output_size(h, kh, stride, padding)
    ow = conv_output_size(wd, kw, stride, padding)
    bl = [0.0] * cout if b is None else b.tolist()
    out = np.empty((n, cout, oh, ow), dtype=x.dtype)
    for ni in range(n):
        for co in range(cout):
            for i in range(oh):
                for j in range(ow):
                    acc = bl[co]
                    for ci in range(c):
                        for di in range(kh):
                            xrow = xp[ni][ci][i * stride + di]
                            wrow = wl[co][ci][di]
                            for dj in range(kw):
                                acc += xrow[j * stride + dj] * wrow[dj]
                    out[ni, co, i, j] = acc
    return out


@dataclass(frozen=True)
class LoopVsVectorized:
    """One measured row of the teaching comparison."""

    name: str
    shape: str
    loop_s: float
    vectorized_s: float
    max_abs_diff: float

    @property
    def speedup(self) -> float:
        return self.loop_s / self.vectorized_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": self.shape,
            "loop_median_s": self.loop_s,
            "vectorized_median_s": self.vectorized_s,
            "speedup": self.speedup,
            "max_abs_diff": self.max_abs_diff,
        }


def compare_matmul(m: int, k: int, n: int, *, repeats: int = 3, seed: int = 0) -> LoopVsVectorized:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    diff = float(np.max(np.abs(naive_matmul(a, b) - a @ b)))
    loop = measure(lambda: naive_matmul(a, b), warmup=0, repeats=repeats).median
    vec = measure(lambda: a @ b, warmup=3, repeats=max(repeats, 20)).median
    return LoopVsVectorized("matmul", f"({m}x{k}) @ ({k}x{n})", loop, vec, diff)


def compare_conv2d(
    n: int, c: int, h: int, cout: int, k: int, *, repeats: int = 3, seed: int = 0
) -> LoopVsVectorized:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    w = rng.standard_normal((cout, c, k, k), dtype=np.float32)
    b = rng.standard_normal(cout, dtype=np.float32)
    pad = k // 2
    fast = conv2d_im2col(x, w, b, (1, 1), (pad, pad), (1, 1), 1)
    diff = float(np.max(np.abs(naive_conv2d(x, w, b, 1, pad) - fast)))
    loop = measure(lambda: naive_conv2d(x, w, b, 1, pad), warmup=0, repeats=repeats).median
    vec = measure(
        lambda: conv2d_im2col(x, w, b, (1, 1), (pad, pad), (1, 1), 1),
        warmup=3,
        repeats=max(repeats, 20),
    ).median
    return LoopVsVectorized(
        "conv2d", f"x({n},{c},{h},{h}) * w({cout},{c},{k},{k})", loop, vec, diff
    )
