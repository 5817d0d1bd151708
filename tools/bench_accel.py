"""Module 18 measured: each acceleration against the plain path, in this one run.

For every technique of tt-acceleration this times the plain TinyTorch path and
the accelerated one with tt-benchmarking's harness (warm-up, then rounds that
alternate between the variants so both see the same machine load; median, IQR,
bootstrap CI), tests the difference with a Mann-Whitney U test, checks the
outputs agree, and writes everything with the machine's description to
tools/results/acceleration.md. PyTorch (when importable) runs the same work in
the same rounds, at the same thread count, as a reference.

    uv run python tools/bench_accel.py [--quick] [--threads 2] [--out tools/results/acceleration.md]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import tt_acceleration as acc
from tt_activations import ReLU, gelu
from tt_autograd import no_grad
from tt_benchmarking import (
    BenchmarkReport,
    BenchmarkResult,
    Comparison,
    atomic_write_text,
    benchmark_interleaved,
    compare,
    fmt_number,
    fmt_seconds,
    load_torch,
)
from tt_layers import Linear, Module, Sequential
from tt_spatial import CifarResNet, SimpleCNN
from tt_tensor import Tensor, manual_seed, randn
from tt_transformers import LayerNorm

Array = np.ndarray[Any, Any]


Fn = Callable[[], object]


class Bench:
    """Runs plain/accelerated pairs interleaved and collects results for the report."""

    def __init__(self, quick: bool, threads: int) -> None:
        self.quick = quick
        self.threads = threads
        self.report = BenchmarkReport("TinyTorch module 18: acceleration, measured")
        self.sections: list[str] = []
        self.repeats = 7 if quick else 25
        self.torch = load_torch()
        if self.torch is not None:
            self.torch.set_num_threads(threads)

    def pair(
        self,
        plain: tuple[str, Fn],
        fast: tuple[str, Fn],
        diff: float,
        reference: tuple[str, Fn] | None = None,
        repeats: int | None = None,
    ) -> tuple[Comparison, dict[str, BenchmarkResult]]:
        """Time plain, accelerated (and PyTorch) in alternating rounds; compare the first two."""
        fns = dict([plain, fast] + ([reference] if reference else []))
        res = benchmark_interleaved(fns, warmup=2, repeats=repeats or self.repeats)
        for r in res.values():
            self.report.add(r)
            print(f"  {r.name:<62} median {fmt_seconds(r.median):>11}  IQR {fmt_seconds(r.iqr)}")
        cmp = self.report.add_comparison(compare(res[plain[0]], res[fast[0]]))
        lo, hi = cmp.speedup_ci
        print(
            f"  -> speedup {cmp.speedup:.2f}x [{lo:.2f}, {hi:.2f}], p={cmp.p_value:.2g}, "
            f"max |diff| {diff:.2e}"
        )
        self.report.notes.append(
            f"{fast[0]} vs {plain[0]}: outputs agree, max |difference| {diff:.2e}"
        )
        return cmp, res


def verdict(cmp: Comparison) -> str:
    """ "significant, p=..." or "not significant, p=..." (two-sided Mann-Whitney U)."""
    return f"{'' if cmp.significant else 'not '}significant, p={cmp.p_value:.2g}"


def max_diff(a: Array, b: Array) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def eval_forward(model: Module, x: Tensor) -> Callable[[], Tensor]:
    def run() -> Tensor:
        with no_grad():
            out: Tensor = model(x)
        return out

    return run


def trained_resnet(widths: tuple[int, int, int, int]) -> CifarResNet:
    """A CifarResNet whose BatchNorms have moved off their initial statistics."""
    manual_seed(0)
    model = CifarResNet(widths=widths)
    x = randn(16, 3, 32, 32)
    for _ in range(2):
        model(x)
    return model.eval()


# ---------------------------------------------------------------- sections


def bench_folding(b: Bench) -> None:
    print("BatchNorm folding (CifarResNet, eval, batch 1)")
    model = trained_resnet((32, 64, 128, 256))
    folded, names = acc.fold_batchnorm(model)
    x = randn(1, 3, 32, 32)
    diff = max_diff(eval_forward(model, x)().data, eval_forward(folded, x)().data)
    cmp, _ = b.pair(
        ("CifarResNet eval forward, batch 1 (plain)", eval_forward(model, x)),
        ("CifarResNet eval forward, batch 1 (BatchNorm folded)", eval_forward(folded, x)),
        diff,
    )
    b.sections.append(
        f"- BatchNorm folding: {len(names)} BatchNorm2d layers folded into their convolutions; "
        f"CifarResNet single-image eval forward {cmp.speedup:.2f}× "
        f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
    )


def bench_fused(b: Bench) -> None:
    print("Fused elementwise kernels")
    rng = np.random.default_rng(0)
    rows, width = (64, 512) if b.quick else (256, 1024)
    x = rng.standard_normal((rows, width), dtype=np.float32)
    bias = rng.standard_normal(width, dtype=np.float32)
    tx, tb = Tensor(x), Tensor(bias)
    out = np.empty_like(x)
    work: list[Array] = []
    torch = b.torch

    def plain_gelu() -> Tensor:
        with no_grad():
            return gelu(tx + tb)

    ref: tuple[str, Fn] | None = None
    if torch is not None:
        txx, tbb = torch.from_numpy(x), torch.from_numpy(bias)
        ref = (f"bias+GELU {rows}x{width} (PyTorch)", lambda: torch.nn.functional.gelu(txx + tbb))
    cmp, _ = b.pair(
        (f"bias+GELU {rows}x{width} (Tensor ops, no_grad)", plain_gelu),
        (
            f"bias+GELU {rows}x{width} (fused, reused buffers)",
            lambda: acc.bias_gelu(x, bias, out=out, work=work),
        ),
        max_diff(plain_gelu().data, acc.bias_gelu(x, bias)),
        ref,
    )
    b.sections.append(
        f"- Fused bias+GELU ({rows}×{width}): {cmp.speedup:.2f}× "
        f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
    )

    # ReLU in place at the size of a small CNN's activation at batch 1 (16 channels, 32x34)
    act = rng.standard_normal((16, 32 * 34), dtype=np.float32)
    want = np.maximum(act, 0)
    scalar_in, zeros_in = act.copy(), act.copy()
    cmp, _ = b.pair(
        (
            "ReLU in place 16x1088 (np.maximum against the scalar 0)",
            lambda: np.maximum(scalar_in, 0, out=scalar_in),
        ),
        ("ReLU in place 16x1088 (relu_: against shared zeros)", lambda: acc.relu_(zeros_in)),
        max_diff(want, acc.relu_(act.copy())),
    )
    b.sections.append(
        f"- ReLU in place (16×1088): {cmp.speedup:.2f}× "
        f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
    )

    ln = LayerNorm(width)
    assert ln.weight is not None and ln.bias is not None
    ln.weight.data[...] = rng.uniform(0.5, 1.5, width)
    ln.bias.data[...] = rng.uniform(-0.5, 0.5, width)
    lw, lb, ln_out = ln.weight.data, ln.bias.data, np.empty_like(x)
    ref = None
    if torch is not None:
        tw, tbias, txx = torch.from_numpy(lw), torch.from_numpy(lb), torch.from_numpy(x)
        ref = (
            f"LayerNorm {rows}x{width} (PyTorch)",
            lambda: torch.nn.functional.layer_norm(txx, (width,), tw, tbias),
        )
    cmp, _ = b.pair(
        (f"LayerNorm {rows}x{width} (module, no_grad)", eval_forward(ln, tx)),
        (
            f"LayerNorm {rows}x{width} (fused inference)",
            lambda: acc.layer_norm_inference(x, 1, lw, lb, ln.eps, out=ln_out),
        ),
        max_diff(eval_forward(ln, tx)().data, acc.layer_norm_inference(x, 1, lw, lb)),
        ref,
    )
    b.sections.append(
        f"- Fused LayerNorm ({rows}×{width}): {cmp.speedup:.2f}× "
        f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
    )


def bench_plans(b: Bench) -> None:
    print("Inference plans (buffer reuse, in-place activations, fusion, folding, autotuned conv)")
    manual_seed(1)
    mlp = Sequential(Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10)).eval()
    x = randn(64, 784)
    plan = acc.compile_inference(mlp)
    cmp, _ = b.pair(
        ("MLP 784-512-256-10, batch 64 (plain, no_grad)", eval_forward(mlp, x)),
        ("MLP 784-512-256-10, batch 64 (inference plan)", partial(plan, x)),
        max_diff(eval_forward(mlp, x)().data, plan(x).data),
    )
    b.sections.append(
        f"- Inference plan (reused buffers, in-place ReLU) on a 784-512-256-10 MLP, batch 64: "
        f"{cmp.speedup:.2f}× [{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
    )
    widths = (16, 32, 64, 128) if b.quick else (32, 64, 128, 256)
    model = trained_resnet(widths)
    rplan = acc.compile_inference(model)
    for batch in (1, 16):
        xi = randn(batch, 3, 32, 32)
        cmp, res = b.pair(
            (f"CifarResNet{widths}, batch {batch} (plain, no_grad)", eval_forward(model, xi)),
            (f"CifarResNet{widths}, batch {batch} (inference plan)", partial(rplan, xi)),
            max_diff(eval_forward(model, xi)().data, rplan(xi).data),
        )
        p, f = res[cmp.baseline.name], res[cmp.candidate.name]
        b.sections.append(
            f"- Full inference plan (folding + fusion + buffers + autotuned convs) on "
            f"CifarResNet{widths}, batch {batch}: plain median {fmt_seconds(p.median)} "
            f"(p99 {fmt_seconds(p.latency.p99)}), plan median {fmt_seconds(f.median)} "
            f"(p99 {fmt_seconds(f.latency.p99)}); {cmp.speedup:.2f}× "
            f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] ({verdict(cmp)})."
        )


def bench_conv_autotune(b: Bench) -> None:
    print("Fastest convolution formulation per shape")
    shapes = [
        # name, x shape, w shape, stride, padding, groups
        ("3x3, 3->32, 32x32, batch 1", (1, 3, 32, 32), (32, 3, 3, 3), 1, 1, 1),
        ("3x3, 64->64, 16x16, batch 1", (1, 64, 16, 16), (64, 64, 3, 3), 1, 1, 1),
        ("3x3, 64->64, 16x16, batch 16", (16, 64, 16, 16), (64, 64, 3, 3), 1, 1, 1),
        ("3x3, 256->256, 4x4, batch 1", (1, 256, 4, 4), (256, 256, 3, 3), 1, 1, 1),
        ("5x5, 1->32, 28x28, batch 8", (8, 1, 28, 28), (32, 1, 5, 5), 1, 2, 1),
        ("3x3 depthwise, 64ch, 16x16, batch 8", (8, 64, 16, 16), (64, 1, 3, 3), 1, 1, 64),
        ("1x1, 128->64, 8x8, batch 16", (16, 128, 8, 8), (64, 128, 1, 1), 1, 0, 1),
        ("3x3 stride 2, 32->64, 32x32, batch 4", (4, 32, 32, 32), (64, 32, 3, 3), 2, 1, 1),
    ]
    if b.quick:
        shapes = shapes[:4]
    tuner = acc.ConvAutotuner(repeats=7, warmup=1)
    rng = np.random.default_rng(0)
    names = list(acc.CANDIDATES)
    rows = [
        "| shape | "
        + " | ".join(names)
        + " | winner | plain (harness) | winner (harness) | winner vs plain | PyTorch |",
        "|---|" + "---:|" * len(names) + "---|---:|---:|---:|---:|",
    ]
    torch = b.torch
    for name, xs, ws, stride, pad, groups in shapes:
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        bias = rng.standard_normal(ws[0], dtype=np.float32)
        geometry = ((stride, stride), (pad, pad), (1, 1), groups)
        winner = tuner.tune(x, w, bias, *geometry)
        fast_fn = acc.CANDIDATES[winner]
        plain = partial(acc.conv2d_plain, x, w, bias, *geometry)
        ref: tuple[str, Fn] | None = None
        if torch is not None:
            cx, cw, cb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias)
            conv_t = partial(torch.nn.functional.conv2d, cx, cw, cb, stride, pad, 1, groups)
            ref = (f"conv {name} (PyTorch)", conv_t)
        cmp, res = b.pair(
            (f"conv {name} (tt-spatial conv2d, no_grad)", plain),
            (f"conv {name} (autotuned: {winner})", partial(fast_fn, x, w, bias, *geometry)),
            max_diff(plain(), fast_fn(x, w, bias, *geometry)),
            ref,
        )
        rec = tuner.records[tuner.key(x, w, *geometry)]
        tr = res.get(ref[0]) if ref else None
        rows.append(
            f"| {name} | "
            + " | ".join(fmt_seconds(rec[c]) for c in names)
            + f" | **{winner}** | {fmt_seconds(cmp.baseline.median)} | "
            f"{fmt_seconds(cmp.candidate.median)} | "
            f"{cmp.speedup:.2f}× (p={fmt_number(cmp.p_value, 2)}) | "
            f"{fmt_seconds(tr.median) if tr else 'n/a'} |"
        )
    b.sections.append(
        "\n## Convolution formulation chosen per shape\n\n"
        "Candidate columns are the autotuner's own measurements (fastest of 7 runs after 1 "
        "warm-up, taken once per shape and cached). The plain, winner and PyTorch columns are "
        "medians from the interleaved harness runs (the same work in PyTorch with the same "
        "thread count).\n\n" + "\n".join(rows)
    )


def bench_batching(b: Bench) -> None:
    print("Batched inference")
    manual_seed(2)
    model = SimpleCNN(width=16).eval()
    n = 64 if b.quick else 256
    images = randn(n, 1, 28, 28)

    def one_by_one() -> None:
        with no_grad():
            for i in range(n):
                model(images[i : i + 1])

    with no_grad():
        ref = np.concatenate([model(images[i : i + 1]).data for i in range(n)])
    cmp, _ = b.pair(
        (f"SimpleCNN, {n} images one at a time", one_by_one),
        (
            f"SimpleCNN, {n} images, batched_inference(batch 64)",
            partial(acc.batched_inference, model, images, 64),
        ),
        max_diff(ref, acc.batched_inference(model, images, 64).data),
        repeats=5,
    )
    b.sections.append(
        f"- Batched inference, SimpleCNN on {n} MNIST-sized images: {cmp.speedup:.2f}× "
        f"[{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] over one call per image "
        f"({verdict(cmp)})."
    )


def bench_threads(b: Bench) -> None:
    print("BLAS threads")
    many = max(2, b.threads)
    rng = np.random.default_rng(0)
    n = 512 if b.quick else 1024
    a = rng.standard_normal((n, n), dtype=np.float32)
    seen: dict[int, int | None] = {}

    def with_threads(t: int) -> Fn:
        def run() -> object:
            seen[t] = acc.set_blas_threads(t).in_effect
            return a @ a

        return run

    cmp, _ = b.pair(
        (f"matmul {n}x{n} float32, 1 BLAS thread", with_threads(1)),
        (f"matmul {n}x{n} float32, {many} BLAS threads", with_threads(many)),
        0.0,
    )
    info = acc.set_blas_threads(b.threads)  # back to the run's setting
    b.sections.append(
        f"- BLAS threads via {info.backend} ({info.library}); thread counts read back from "
        f"the library (requested: in effect): {seen}. {n}×{n} matmul with {many} threads vs 1: "
        f"{cmp.speedup:.2f}× [{cmp.speedup_ci[0]:.2f}, {cmp.speedup_ci[1]:.2f}] "
        f"({verdict(cmp)})."
    )


def bench_teaching(b: Bench) -> None:
    print("Python loops vs vectorized NumPy")
    reps = 1 if b.quick else 3
    rows_ = [
        acc.compare_matmul(n, n, n, repeats=reps) for n in ((16, 32) if b.quick else (16, 32, 64))
    ]
    rows_.append(acc.compare_conv2d(1, 3, 12 if b.quick else 16, 8, 3, repeats=reps))
    table = [
        "| operation | shape | Python loops | vectorized NumPy | speedup | max abs diff |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows_:
        print(f"  {r.name} {r.shape}: {r.speedup:,.0f}x")
        table.append(
            f"| {r.name} | {r.shape} | {fmt_seconds(r.loop_s)} | {fmt_seconds(r.vectorized_s)} | "
            f"{r.speedup:,.0f}× | {r.max_abs_diff:.1e} |"
        )
    b.report.extra["teaching"] = [r.to_dict() for r in rows_]
    b.sections.append(
        "\n## Python loops against vectorized NumPy (teaching comparison)\n\n"
        "Medians of the loop version (few repeats, it is slow) and of the NumPy version "
        "(im2col + one matmul for the convolution).\n\n" + "\n".join(table)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/PyTorch threads (default 2)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "acceleration.md"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON report")
    args = parser.parse_args(argv)

    b = Bench(args.quick, args.threads)
    with acc.blas_threads(args.threads) as info:
        b.report.extra["blas_threads"] = info.to_dict()
        print(f"BLAS threads: {info.to_dict()}")
        for section in (
            bench_teaching,
            bench_folding,
            bench_fused,
            bench_plans,
            bench_conv_autotune,
            bench_batching,
            bench_threads,
        ):
            section(b)

    summary = [s for s in b.sections if s.startswith("- ")]
    tables = [s for s in b.sections if not s.startswith("- ")]
    md = b.report.to_markdown()
    command = "uv run python tools/bench_accel.py" + (" --quick" if args.quick else "")
    command += f" --threads {args.threads}" if args.threads != 2 else ""
    head = (
        f"Written by `{command}`. BLAS threads in effect: {info.in_effect} ({info.backend}); "
        f"PyTorch, when importable, ran with {args.threads} threads. Each plain/accelerated "
        "pair (and its PyTorch reference) was timed in alternating rounds, so load from other "
        "processes falls on both alike. Every accelerated path was checked against the plain "
        "one (max |difference| in the notes). The machine has 2 cores shared with other "
        "engineers who were running tests and trainings at the same time (see the load "
        "average), so absolute times are pessimistic and noisy; ratios, confidence intervals "
        "and significance tests come from this one run. Under such load a run that is "
        "preempted takes tens of milliseconds longer, so some distributions are bimodal: "
        "compare a row's median with its min (the fastest run) before trusting a ratio, "
        "and read every ratio with its confidence interval."
        + (
            " One thread was used because, in trial runs on this loaded 2-core machine, two "
            "BLAS/PyTorch threads made the timings of small operations bimodal (a thread "
            "waiting for a descheduled partner adds milliseconds); the 1-vs-2-thread matmul "
            "comparison below is from this run."
            if args.threads == 1
            else ""
        )
        + "\n\n## Summary\n\n"
        + "\n".join(summary)
        + "\n"
    )
    title, rest = md.split("\n", 1)
    md = title + "\n\n" + head + rest + "\n".join(tables) + "\n"
    atomic_write_text(args.out, md)
    if args.json:
        atomic_write_text(args.json, b.report.to_json() + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
