"""How much does `Tensor` cost over raw NumPy? (issue: Foundation I)

Times matmul, add and sum on square float32 arrays from 64 to 2048, as raw
NumPy, as `Tensor` forward, and as `Tensor` forward+backward (against NumPy
doing the same forward and the backward's matmuls/reductions by hand), all
measured in this one run. Also the fixed per-op overhead on a 1-element tensor.

    uv run python tools/bench_tensor.py [--quick] [--out tools/results/tensor.md]

At these sizes a fwd+bwd step allocates several megabyte-sized arrays, and
glibc's malloc by default hands freed memory back to the kernel, so the next
allocation pays for fresh page faults. Which side pays depends on the order
of frees, not on the work done, so on glibc the whole table is measured a
second time in a child process whose malloc keeps freed memory
(`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`; the same for both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tt_autograd
import tt_tensor as tt


def _calls_for(fn: Callable[[], Any], budget: float) -> int:
    """How many calls of `fn` fill `budget` seconds (after one warm-up call)."""
    fn()
    t0 = time.perf_counter()
    fn()
    return max(1, int(budget / max(time.perf_counter() - t0, 1e-7)))


Release = tuple[Callable[[], None], Callable[[], None]]


def paired_time(
    fa: Callable[[], Any],
    fb: Callable[[], Any],
    min_time: float = 0.2,
    repeats: int = 15,
    release: Release | None = None,
) -> tuple[float, float, float]:
    """Median time per call of `fa` and `fb`, and the median of the per-round ratios b/a.

    Each round times a burst of A and a burst of B back to back (A B, then B A
    in the next round), so a slow period of the machine hits both sides of a
    round's ratio instead of skewing one of them. Each burst starts with one
    untimed call: the first call after the other side ran pays for the other
    side's way of leaving the heap (at 512 x 512, about a thousand page faults,
    measured with getrusage), which neither side pays when it runs alone.
    `release` (untimed, after each burst) drops what a side keeps between its
    calls (its gradients), so each burst starts from the heap the other side
    left, not one still holding the other side's arrays: otherwise glibc's
    malloc may hand one side, at random, memory it gives back to the system
    and faults in again on every call.
    """
    na, nb = _calls_for(fa, min_time / repeats), _calls_for(fb, min_time / repeats)
    ta: list[float] = []
    tb: list[float] = []
    ra, rb = release if release is not None else (None, None)
    for r in range(repeats):
        order = ((fa, na, ta, ra), (fb, nb, tb, rb))
        for fn, n, out, done in order if r % 2 == 0 else order[::-1]:
            fn()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - t0) / n)
            if done is not None:
                done()
    ratios = [b / a for a, b in zip(ta, tb, strict=True)]
    return float(np.median(ta)), float(np.median(tb)), float(np.median(ratios))


Row = tuple[str, int, float, float, float, str]  # op, size, NumPy, Tensor, ratio, mode
KEEP_MEMORY = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 25)}


def rows(sizes: list[int], min_time: float) -> list[Row]:
    return [row for n in sizes for row in size_rows(n, min_time)]


def add_steps(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]
) -> tuple[Callable[[], Any], Callable[[], None], Release]:
    """`(a + b).sum().backward()` in NumPy (forward plus both gradients by hand) and in
    Tensor, and how each drops the gradients it keeps."""
    ga, gb = tt.Tensor(a, requires_grad=True), tt.Tensor(b, requires_grad=True)

    grads: list[Any] = []

    def numpy_step() -> Any:
        grads.clear()
        c = a + b
        grads.extend((np.ones_like(c), np.ones_like(c)))
        return c.sum()

    def tensor_step() -> None:
        ga.grad = gb.grad = None
        (ga + gb).sum().backward()

    return numpy_step, tensor_step, (grads.clear, _drop_grads(ga, gb))


def _drop_grads(*tensors: tt.Tensor) -> Callable[[], None]:
    def drop() -> None:
        for t in tensors:
            t.grad = None

    return drop


def size_rows(n: int, min_time: float) -> list[Row]:
    out = []
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    ta, tb = tt.Tensor(a), tt.Tensor(b)
    ga = tt.Tensor(a, requires_grad=True)
    gb = tt.Tensor(b, requires_grad=True)
    ones = np.ones((n, n), dtype=np.float32)

    mm_grads: list[Any] = []

    def np_matmul_fb() -> Any:
        mm_grads.clear()
        c = a @ b
        g = np.ones_like(c)
        mm_grads.extend((g @ b.T, a.T @ g))
        return c.sum()

    def tt_matmul_fb() -> None:
        ga.grad = gb.grad = None
        (ga @ gb).sum().backward()

    np_add_fb, tt_add_fb, add_release = add_steps(a, b)

    sum_grads: list[Any] = []

    def np_sum_fb() -> Any:
        sum_grads.clear()
        sum_grads.append(np.broadcast_to(ones[:, :1], a.shape).copy())
        return a.sum(axis=1).sum()

    def tt_sum_fb() -> None:
        ga.grad = None
        ga.sum(1).sum().backward()

    drop = _drop_grads(ga, gb)
    cases: list[
        tuple[
            str, Callable[[], Any], Callable[[], Any], Callable[[], Any], Callable[[], Any], Release
        ]
    ] = [
        (
            "matmul",
            lambda: a @ b,
            lambda: ta @ tb,
            np_matmul_fb,
            tt_matmul_fb,
            (mm_grads.clear, drop),
        ),
        ("add", lambda: a + b, lambda: ta + tb, np_add_fb, tt_add_fb, add_release),
        (
            "sum(dim=1)",
            lambda: a.sum(1),
            lambda: ta.sum(1),
            np_sum_fb,
            tt_sum_fb,
            (sum_grads.clear, drop),
        ),
    ]
    for name, npf, ttf, npfb, ttfb, release in cases:
        out.append((name, n, *paired_time(npf, ttf, min_time), "forward"))
        out.append((name, n, *paired_time(npfb, ttfb, min_time, release=release), "fwd+bwd"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="sizes 64 and 256 only")
    p.add_argument("--out", type=Path, default=None, help="write a Markdown report here")
    p.add_argument("--rows-json", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sizes = [64, 256] if args.quick else [64, 128, 256, 512, 1024, 2048]
    min_time = 0.05 if args.quick else 0.3
    if args.rows_json:  # the child run: just the table, as JSON
        print(json.dumps(rows(sizes, min_time)))
        return 0

    x, y = np.ones(1, np.float32), np.ones(1, np.float32)
    tx, ty = tt.Tensor(x), tt.Tensor(y)
    gx = tt.Tensor(x, requires_grad=True)
    t_np, t_plain, _ = paired_time(lambda: x + y, lambda: tx + ty)
    overhead_plain = t_plain - t_np
    t_np, t_graph, _ = paired_time(lambda: x + y, lambda: gx + ty)
    overhead_graph = t_graph - t_np
    np_step, tt_step, step_release = add_steps(x, y)
    t_np, t_step, _ = paired_time(np_step, tt_step, release=step_release)
    overhead_step = t_step - t_np

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
        "(target: < 20 µs). A whole fwd+bwd step `(a + b).sum().backward()` on 1 element "
        f"costs {overhead_step * 1e6:.1f} µs more than NumPy's forward and gradients: "
        "the Python of recording two nodes, walking them back and filling two `.grad`s, "
        "which is what separates the ratios below at small sizes.",
        "",
        "| op | size | mode | NumPy | Tensor | ratio | NumPy, kept memory "
        "| Tensor, kept memory | ratio, kept memory |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    table = rows(sizes, min_time)
    kept, why_not = kept_memory_rows(args.quick)
    misses, kept_misses = [], []
    for i, (name, n, t_np, t_tt, ratio, mode) in enumerate(table):
        cells = [f"{t_np * 1e6:,.1f} µs", f"{t_tt * 1e6:,.1f} µs", f"{ratio:.2f}×"]
        if kept is not None:
            k_np, k_tt, k_ratio = kept[i][2:5]
            cells += [f"{k_np * 1e6:,.1f} µs", f"{k_tt * 1e6:,.1f} µs", f"{k_ratio:.2f}×"]
            if n >= 512 and k_ratio > 1.10:
                kept_misses.append(f"{name} {n} {mode}")
        else:
            cells += ["missing"] * 3
        lines.append(f"| {name} | {n} | {mode} | " + " | ".join(cells) + " |")
        if n >= 512 and ratio > 1.10:
            misses.append(f"{name} {n} {mode}")
    lines += [
        "",
        "fwd+bwd compares `(a op b).sum().backward()` with NumPy computing the same forward "
        "and the same gradient arrays by hand, which it keeps until its next step starts, as "
        "`.grad` keeps them until `.grad = None`: both sides then free and allocate the same "
        "arrays at the same points, and each drops what it keeps at the end of its timed "
        "burst, so neither starts on a heap the other still fills. "
        "Times are medians over 15 rounds; a ratio is "
        "the median of the rounds' Tensor/NumPy ratios (each round times both, back to back). "
        "Target: within 1.10× of NumPy at size ≥ 512.",
        '"kept memory": the same table measured in a child process whose glibc malloc keeps '
        f"freed memory ({', '.join(f'{k}={v}' for k, v in KEEP_MEMORY.items())})"
        + (f"; not measured: {why_not}." if why_not else "."),
        "Rows over 1.10× at size ≥ 512 with the default allocator: "
        + (", ".join(misses) if misses else "none")
        + "; with kept memory: "
        + (
            ", ".join(kept_misses)
            if kept is not None and kept_misses
            else "none"
            if kept
            else "missing"
        )
        + ".",
        f"(tt_autograd engine: {type(tt_autograd._ENGINE).__name__})",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


def kept_memory_rows(quick: bool) -> tuple[list[Row] | None, str]:
    """The table again, in a child process whose malloc keeps freed memory (glibc only)."""
    if platform.libc_ver()[0] != "glibc":
        return None, f"the C library is not glibc ({platform.libc_ver()[0] or 'unknown'})"
    cmd = [sys.executable, __file__, "--rows-json"] + (["--quick"] if quick else [])
    done = subprocess.run(
        cmd, env={**os.environ, **KEEP_MEMORY}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None, f"the child run failed: {done.stderr.strip()[-300:]}"
    return [tuple(r) for r in json.loads(done.stdout)], ""


if __name__ == "__main__":
    raise SystemExit(main())
