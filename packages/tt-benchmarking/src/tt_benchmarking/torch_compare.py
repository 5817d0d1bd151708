"""Optional: the same measurement in PyTorch, when it is importable.

PyTorch is never a dependency. It is imported lazily; without it every helper
here returns None, and a report shows the PyTorch column as missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .harness import BenchmarkResult, Comparison, benchmark, compare


def load_torch() -> ModuleType | None:
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def torch_available() -> bool:
    return load_torch() is not None


def benchmark_torch(
    fn: Callable[[], object],
    *,
    threads: int | None = None,
    name: str = "pytorch",
    warmup: int = 3,
    repeats: int = 20,
    min_time: float = 0.0,
    seed: int | None = 0,
    params: dict[str, Any] | None = None,
) -> BenchmarkResult | None:
    """Time `fn()` under `torch.no_grad()` with `threads` intra-op threads; None without torch.

    Give PyTorch the same thread count as the NumPy side (e.g. 2), or the
    comparison measures the thread settings rather than the code.
    """
    torch = load_torch()
    if torch is None:
        return None
    previous = int(torch.get_num_threads())
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            info = {"torch_version": str(torch.__version__), "threads": torch.get_num_threads()}
            info.update(params or {})
            return benchmark(
                fn,
                warmup=warmup,
                repeats=repeats,
                min_time=min_time,
                name=name,
                seed=seed,
                params=info,
            )
    finally:
        torch.set_num_threads(previous)


def compare_with_torch(
    ours: BenchmarkResult, torch_fn: Callable[[], object], **kwargs: Any
) -> Comparison | None:
    """PyTorch as the baseline, `ours` as the candidate (speedup < 1: PyTorch is faster)."""
    theirs = benchmark_torch(torch_fn, **kwargs)
    if theirs is None:
        return None
    return compare(theirs, ours)
