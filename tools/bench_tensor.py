"""How much does `Tensor` cost over raw NumPy? (issue: Foundation I)

Times matmul, add and sum on square float32 arrays from 64 to 2048, as raw
NumPy, as `Tensor` forward, and as `Tensor` forward+backward (against NumPy
doing the same forward and the backward's matmuls/reductions by hand), all
measured in this one run. Also the fixed per-op overhead on a 1-element tensor.

    uv run python tools/bench_tensor.py [--quick] [--out tools/results/tensor.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tt_autograd
import tt_tensor as tt


def best_time(fn: Callable[[], Any], min_time: float = 0.2, repeats: int = 7) -> float:
    """Median over `repeats` of the mean time per call in a loop lasting >= min_time/repeats."""
    fn()
    n, t0 = 1, time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / repeats / one))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return float(np.median(samples))


Row = tuple[str, int, float, float, str]


def rows(sizes: list[int], min_time: float) -> list[Row]:
    return [row for n in sizes for row in size_rows(n, min_time)]


def size_rows(n: int, min_time: float) -> list[Row]:
    out = []
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    ta, tb = tt.Tensor(a), tt.Tensor(b)
    ga = tt.Tensor(a, requires_grad=True)
    gb = tt.Tensor(b, requires_grad=True)
    ones = np.ones((n, n), dtype=np.float32)

    def np_matmul_fb() -> Any:
        c = a @ b
        g = np.ones_like(c)
        return c.sum(), g @ b.T, a.T @ g

    def tt_matmul_fb() -> None:
        ga.grad = gb.grad = None
        (ga @ gb).sum().backward()

    def np_add_fb() -> Any:
        c = a + b
        return c.sum(), np.ones_like(c), np.ones_like(c)

    def tt_add_fb() -> None:
        ga.grad = gb.grad = None
        (ga + gb).sum().backward()

    def np_sum_fb() -> Any:
        return a.sum(axis=1).sum(), np.broadcast_to(ones[:, :1], a.shape).copy()

    def tt_sum_fb() -> None:
        ga.grad = None
        ga.sum(1).sum().backward()

    cases = [
        ("matmul", lambda: a @ b, lambda: ta @ tb, np_matmul_fb, tt_matmul_fb),
        ("add", lambda: a + b, lambda: ta + tb, np_add_fb, tt_add_fb),
        ("sum(dim=1)", lambda: a.sum(1), lambda: ta.sum(1), np_sum_fb, tt_sum_fb),
    ]
    for name, npf, ttf, npfb, ttfb in cases:
        t_np, t_tt = best_time(npf, min_time), best_time(ttf, min_time)
        out.append((name, n, t_np, t_tt, "forward"))
        t_npb, t_ttb = best_time(npfb, min_time), best_time(ttfb, min_time)
        out.append((name, n, t_npb, t_ttb, "fwd+bwd"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="sizes 64 and 256 only")
    p.add_argument("--out", type=Path, default=None, help="write a Markdown report here")
    args = p.parse_args(argv)
    sizes = [64, 256] if args.quick else [64, 128, 256, 512, 1024, 2048]
    min_time = 0.05 if args.quick else 0.3

    x, y = np.ones(1, np.float32), np.ones(1, np.float32)
    tx, ty = tt.Tensor(x), tt.Tensor(y)
    gx = tt.Tensor(x, requires_grad=True)
    overhead_plain = best_time(lambda: tx + ty) - best_time(lambda: x + y)
    overhead_graph = best_time(lambda: gx + ty) - best_time(lambda: x + y)

    lines = [
        "# Tensor vs raw NumPy",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on "
        f"{platform.processor() or platform.machine()}"
        f", {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__};"
        f" command: `uv run python tools/bench_tensor.py{' --quick' if args.quick else ''}`.",
        "",
        f"Per-op overhead (1-element add, Tensor minus NumPy): {overhead_plain * 1e6:.1f} µs "
        f"without a graph, {overhead_graph * 1e6:.1f} µs when recording for autograd "
        "(target: < 20 µs).",
        "",
        "| op | size | mode | NumPy | Tensor | ratio |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, n, t_np, t_tt, mode in rows(sizes, min_time):
        lines.append(
            f"| {name} | {n} | {mode} | {t_np * 1e6:,.1f} µs | {t_tt * 1e6:,.1f} µs "
            f"| {t_tt / t_np:.2f}× |"
        )
    lines += [
        "",
        "fwd+bwd compares `(a op b).sum().backward()` with NumPy computing the same forward "
        "and the same gradient arrays by hand. Target: within 1.10× of NumPy at size ≥ 512.",
        f"(tt_autograd engine: {type(tt_autograd._ENGINE).__name__})",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
