"""GPT generation with and without the KV cache (module 17, issue 6): tokens per second.

The 2017 milestone's GPT shape (vocab 65, 4 layers, 4 heads, width 128) with a
context of 576 = a 64-token prompt + 512 new tokens, so neither path ever slides
its window. For 64, 256 and 512 new tokens, `tt_memoization.benchmark_generation`
times `cached_generate` against the model's own `GPT.generate` (full recompute at
every step) from the same prompt and seed, alternating the two round by round,
and checks that both produced the same ids. Target: >= 10x at 512 tokens.

BLAS threads: one by default (set before NumPy loads). On the shared 2-core
machine a 2-thread OpenBLAS waits for busy cores and its small matmuls slow down
by 10-100x, which would inflate the uncached time and so the speedup; one thread
gives the uncached path its best case, so the ratio is conservative.

    uv run python tools/bench_kv_cache.py [--rounds 3] [--threads 1] [--new 64 256 512]
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _threads_from_argv(sys.argv)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from tt_memoization import KVCache, benchmark_generation  # noqa: E402
from tt_tensor import Tensor, manual_seed  # noqa: E402
from tt_transformers import GPT  # noqa: E402

VOCAB, LAYERS, HEADS, WIDTH, PROMPT = 65, 4, 4, 128, 64
TARGET = 10.0


def machine() -> dict[str, str]:
    blas = "?"
    try:
        cfg: Any = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        blas = f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:  # an older numpy without mode="dicts"
        pass
    load = os.getloadavg()
    return {
        "date (UTC)": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "CPU": platform.processor() or platform.machine(),
        "logical / usable cores": f"{os.cpu_count()} / {len(os.sched_getaffinity(0))}",
        "load average at start (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in load),
        "Python": platform.python_version(),
        "NumPy": f"{np.__version__} ({blas})",
        "BLAS threads": f"{_THREADS} (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS)",
        "platform": platform.platform(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="timed runs per path and length")
    p.add_argument("--threads", default="1", help="BLAS threads (set before NumPy loads)")
    p.add_argument("--new", type=int, nargs="+", default=[64, 256, 512], help="new tokens")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "kv_cache.md")
    args = p.parse_args()
    block = PROMPT + max(args.new)
    info = machine()
    manual_seed(args.seed)
    model = GPT(VOCAB, block, LAYERS, HEADS, WIDTH)
    prompt = Tensor(np.random.default_rng(args.seed).integers(0, VOCAB, (args.batch, PROMPT)))
    cache_bytes = KVCache.for_model(model, args.batch).nbytes
    print(f"GPT vocab {VOCAB}, {LAYERS} layers, {HEADS} heads, width {WIDTH}, block {block}")
    results = []
    for n in args.new:
        (r,) = benchmark_generation(model, prompt, (n,), rounds=args.rounds, seed=args.seed)
        results.append(r)
        print(
            f"{n:>4} new tokens: cached {r.cached_tokens_per_s:8.1f} tok/s, uncached "
            f"{r.uncached_tokens_per_s:7.1f} tok/s, speedup {r.speedup:6.1f}x, "
            f"same tokens: {r.same_tokens}",
            flush=True,
        )
    at_max = results[-1]
    ok = all(r.same_tokens for r in results) and at_max.speedup >= TARGET
    lines = [
        "# KV cache: GPT generation with and without the cache",
        "",
        "Written by `tools/bench_kv_cache.py` (module 17, `tt-memoization`).",
        "",
        f"Model: the 2017 milestone's GPT shape (vocab {VOCAB}, {LAYERS} layers, {HEADS} heads, "
        f"width {WIDTH}, {model.num_parameters():,} parameters) with block_size {block} = a "
        f"{PROMPT}-token prompt + {max(args.new)} new tokens, so neither path slides its window. "
        f"Untrained weights (nanoGPT init, seed {args.seed}): speed does not depend on them. "
        f"Batch {args.batch}; sampling at temperature 1.0 from a generator seeded with "
        f"{args.seed}, the same for both paths. A full-context KV cache for this model holds "
        f"{cache_bytes / 2**20:.2f} MiB.",
        "",
        "- **cached**: `tt_memoization.cached_generate`: the prompt prefilled in one pass, "
        "then one single-token pass per new token over the cached keys and values.",
        "- **uncached**: the model's own `GPT.generate`: a full forward over the whole "
        "sequence at every step.",
        "",
        f"Each figure is the median of {args.rounds} complete generations per path, the two "
        "paths alternating round by round after one untimed warm-up each; tokens/s = batch x "
        "new tokens / median seconds. Both paths produced identical ids in every round "
        "(checked: `same tokens`).",
        "",
        f"Command: `uv run python tools/bench_kv_cache.py --rounds {args.rounds} "
        f"--threads {_THREADS}" + (f" --batch {args.batch}" if args.batch != 1 else "") + "`",
        "",
        "| new tokens | cached s (median) | cached tok/s | uncached s (median) | "
        "uncached tok/s | speedup | same tokens |",
        "|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.new_tokens} | {r.cached.median:.3f} | {r.cached_tokens_per_s:.1f} | "
            f"{r.uncached.median:.3f} | {r.uncached_tokens_per_s:.1f} | "
            f"**{r.speedup:.1f}x** | {'yes' if r.same_tokens else 'NO'} |"
        )
    lines += [
        "",
        f"Target: >= {TARGET:.0f}x at {at_max.new_tokens} new tokens: "
        f"**{'met' if ok else 'NOT met'}** ({at_max.speedup:.1f}x).",
        "",
        "Why it grows with length: step t of uncached generation projects all t tokens "
        "(O(t) work) and attends t x t; with the cache it projects one token and attends "
        "1 x t, so the ratio grows roughly linearly with the sequence length. At short "
        "lengths the cached step is dominated by Python and per-op overhead (hundreds of "
        "small NumPy calls per token), which bounds its tokens/s.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        "The machine has 2 cores shared with other engineers' tests and trainings during "
        "the run: absolute times are pessimistic and noisy; both paths were timed in "
        "alternating rounds so the load hits them alike. With BLAS on one thread the "
        "uncached path gets its best case on a busy machine (see the script's docstring), "
        "so the speedups are conservative.",
        "",
        "<details><summary>raw samples (JSON)</summary>",
        "",
        "```json",
        json.dumps([r.to_dict() for r in results], indent=1),
        "```",
        "",
        "</details>",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, args.out)
    print(f"wrote {args.out}; target {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
