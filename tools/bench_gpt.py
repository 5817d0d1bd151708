"""One GPT training iteration in TinyTorch vs PyTorch (issue: Language, milestone 2017).

The milestone's model (nanoGPT's CPU configuration: vocab 65, 4 layers, 4
heads, width 128, context 64, batch 12, tied embeddings) doing forward + loss,
backward, gradient clipping and an AdamW step. Where torch is importable, the
identical model in PyTorch (same modules: nn.MultiheadAttention, nn.LayerNorm,
exact GELU; same weights, copied) runs in the same process with
torch.set_num_threads(2). The two are timed in alternating rounds so that load
from other jobs on a shared machine hits both alike. Target: <= 2.5x.

    uv run python tools/bench_gpt.py [--threads 2] [--rounds 6] [--iters 10] [--out FILE.md]

`--threads N` sets both sides: torch.set_num_threads(N) and, for NumPy's
OpenBLAS, OPENBLAS_NUM_THREADS=N (read once when NumPy loads, so the script
sets it before importing NumPy unless it is already in the environment).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _threads_arg(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "2"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_arg(sys.argv[1:]))

import numpy as np  # noqa: E402  (after the thread count is fixed)
from tt_optimizers import AdamW  # noqa: E402
from tt_tensor import Tensor, manual_seed  # noqa: E402
from tt_training import clip_grad_norm_  # noqa: E402
from tt_transformers import GPT  # noqa: E402

VOCAB, BLOCK, LAYERS, HEADS, WIDTH, BATCH = 65, 64, 4, 4, 128, 12
TARGET = 2.5


Timing = tuple[float, float]  # (wall-clock seconds, CPU seconds of this process)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def tinytorch_step(seed: int) -> tuple[GPT, Callable[[], Timing], dict[str, list[float]]]:
    manual_seed(seed)
    model = GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH)
    opt = AdamW(model.param_groups(0.1), lr=1e-3, betas=(0.9, 0.99))
    params = list(model.parameters())
    rng = np.random.default_rng(seed)
    parts: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}

    def step() -> Timing:
        x = Tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))
        y = Tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))
        start = _clock()
        t0 = time.perf_counter()
        _, loss = model(x, y)
        assert loss is not None
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        clip_grad_norm_(params, 1.0)
        opt.step()
        t3 = time.perf_counter()
        parts["forward"].append(t1 - t0)
        parts["backward"].append(t2 - t1)
        parts["optimizer"].append(t3 - t2)
        return _since(start)

    return model, step, parts


def torch_step(ours: GPT, seed: int, threads: int) -> Callable[[], Timing] | None:
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.set_num_threads(threads)
    F = nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(WIDTH)
            self.attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.ln_2 = nn.LayerNorm(WIDTH)
            self.c_fc = nn.Linear(WIDTH, 4 * WIDTH)
            self.c_proj = nn.Linear(4 * WIDTH, WIDTH)

        def forward(self, x: Any) -> Any:
            t = x.shape[1]
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            h = self.ln_1(x)
            a, _ = self.attn(h, h, h, need_weights=False, attn_mask=mask, is_causal=True)
            x = x + a
            return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class TorchGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, WIDTH)
            self.wpe = nn.Embedding(BLOCK, WIDTH)
            self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(WIDTH)
            self.lm_head = nn.Linear(WIDTH, VOCAB, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: Any, targets: Any) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    model = TorchGPT()
    sd = {k: torch.tensor(v.data) for k, v in ours.state_dict().items()}
    renamed = {
        k.replace("mlp.c_fc", "c_fc").replace("mlp.c_proj", "c_proj"): v for k, v in sd.items()
    }
    model.load_state_dict(renamed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.99),
    )
    rng = np.random.default_rng(seed)

    def step() -> Timing:
        x = torch.tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))
        y = torch.tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))
        start = _clock()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return _since(start)

    return step


def _ms(times: list[Timing], which: int, stat: Callable[[list[float]], Any] = np.median) -> float:
    return 1e3 * float(stat([t[which] for t in times]))


def machine() -> str:
    load = os.getloadavg()
    blas = "?"
    try:
        cfg: Any = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        blas = f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:  # an older numpy without mode="dicts"
        pass
    return (
        f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), NumPy {np.__version__} ({blas}), "
        f"load average at start {load[0]:.2f}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2, help="threads for both frameworks")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--iters", type=int, default=10, help="iterations per round")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpt.md")
    p.add_argument("--append", action="store_true", help="add this run to --out, keep the rest")
    args = p.parse_args()
    info = machine()
    model, ours, parts = tinytorch_step(0)
    theirs = torch_step(model, 0, args.threads)
    for _ in range(3):  # warm up both (allocations, BLAS threads)
        ours()
        if theirs is not None:
            theirs()
    for v in parts.values():
        v.clear()
    t_ours: list[Timing] = []
    t_theirs: list[Timing] = []
    for r in range(args.rounds):
        t_ours += [ours() for _ in range(args.iters)]
        if theirs is not None:
            t_theirs += [theirs() for _ in range(args.iters)]
        print(
            f"round {r + 1}/{args.rounds}: tinytorch {_ms(t_ours, 0):.1f} ms"
            + (f", torch {_ms(t_theirs, 0):.1f} ms" if t_theirs else ""),
            flush=True,
        )
    split = ", ".join(f"{k} {1e3 * float(np.median(v)):.1f}" for k, v in parts.items())
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "?")
    lines = [
        "# GPT training iteration: TinyTorch vs PyTorch",
        "",
        f"Model: the 2017 milestone's GPT (vocab {VOCAB}, {LAYERS} layers, {HEADS} heads, width "
        f"{WIDTH}, context {BLOCK}, batch {BATCH}, {model.num_parameters():,} parameters). One "
        "iteration = forward with cross-entropy, backward, gradient clipping, AdamW step.",
        "",
        f"Machine: {info}. The machine is shared with other engineers' jobs: both sides are "
        f"timed in alternating rounds ({args.rounds} x {args.iters} iterations each), and "
        "absolute times are pessimistic. Wall-clock time suffers from the other jobs; the CPU "
        "time this process used per iteration does much less (with one thread it is close to "
        "the wall-clock time of an idle machine; with several it also counts BLAS threads "
        "spinning while they wait for each other).",
        "",
        f"Command: `uv run python tools/bench_gpt.py --threads {args.threads}` "
        f"(NumPy/OpenBLAS threads: {blas_threads}; torch threads: {args.threads})",
        "",
        "| framework | median wall ms / iter | fastest wall | median CPU ms / iter | "
        "median wall split (ms) |",
        "|---|---:|---:|---:|---|",
        f"| TinyTorch (NumPy) | {_ms(t_ours, 0):.1f} | {_ms(t_ours, 0, min):.1f} | "
        f"{_ms(t_ours, 1):.1f} | {split} |",
    ]
    ok = True
    if t_theirs:
        import torch

        lines.append(
            f"| PyTorch {torch.__version__}, {args.threads} thread(s) | {_ms(t_theirs, 0):.1f} | "
            f"{_ms(t_theirs, 0, min):.1f} | {_ms(t_theirs, 1):.1f} | |"
        )
        wall = _ms(t_ours, 0) / _ms(t_theirs, 0)
        cpu = _ms(t_ours, 1) / _ms(t_theirs, 1)
        ok = wall <= TARGET
        verdict = (
            f"ratio {wall:.2f}x PyTorch's median wall-clock time, {cpu:.2f}x its CPU time "
            f"(target <= {TARGET}x: {'met' if ok else 'MISSED'})"
        )
        proj = _ms(t_ours, 0) * 2000 / 1e3
        lines += [
            "",
            f"**{verdict}.** Projected 2,000-iteration training at this speed: "
            f"{proj / 60:.1f} min (plus evaluation).",
        ]
        print(verdict)
    else:
        lines += ["", "PyTorch is not installed here: no ratio (pip install torch to compare)."]
        print("torch not importable: no comparison")
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.out.is_file():
        lines = [
            args.out.read_text().rstrip("\n"),
            "",
            f"## Run with {args.threads} thread(s)",
            *lines[1:],
        ]
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
