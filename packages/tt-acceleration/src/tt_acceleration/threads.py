"""How many threads BLAS uses, set at run time, and what is actually in effect.

NumPy's matmul runs in a BLAS library (OpenBLAS in the NumPy wheels) with its
own thread pool. Environment variables such as OPENBLAS_NUM_THREADS are read
only once, when the library loads, so setting them later changes nothing in
this process. What works at run time is calling the library's own
`*_set_num_threads`: threadpoolctl does that when installed; otherwise we find
the loaded OpenBLAS in this process and call it through ctypes. Every function
here reports the thread count read back from the library, or None when no
library could be asked (never the requested number dressed up as a fact).
"""

from __future__ import annotations

import ctypes
import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Symbol names by build: plain OpenBLAS, 64-bit-integer builds, and the
# scipy-openblas builds that NumPy's wheels bundle.
_PREFIXES = ("openblas", "scipy_openblas")
_SUFFIXES = ("", "64_", "_64_")


@dataclass(frozen=True)
class ThreadInfo:
    """BLAS threads: how they were controlled and the count read back from the library."""

    backend: str  # "threadpoolctl", "openblas-ctypes" or "env" (no run-time control found)
    library: str | None
    requested: int | None
    in_effect: int | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "library": self.library,
            "requested": self.requested,
            "in_effect": self.in_effect,
            "note": self.note,
        }


def _loaded_openblas() -> list[Path]:
    """Shared libraries with "openblas" in their name mapped into this process (Linux)."""
    maps = Path("/proc/self/maps")
    try:
        text = maps.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found: list[Path] = []
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and "openblas" in Path(parts[5]).name.lower():
            path = Path(parts[5].strip())
            if path not in found:
                found.append(path)
    return found


@dataclass(frozen=True)
class _OpenBLAS:
    path: Path
    get: Any
    set: Any


def _find_openblas() -> _OpenBLAS | None:
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    getter.restype = ctypes.c_int
                    setter.argtypes = [ctypes.c_int]
                    setter.restype = None
                    return _OpenBLAS(path, getter, setter)
    return None


def _threadpoolctl() -> Any | None:
    try:
        return importlib.import_module("threadpoolctl")
    except ImportError:
        return None


def _blas_pools(tpc: Any) -> list[dict[str, Any]]:
    return [p for p in tpc.threadpool_info() if p.get("user_api") == "blas"]


def get_blas_threads() -> ThreadInfo:
    """The BLAS thread count in effect now, read from the library itself."""
    tpc = _threadpoolctl()
    if tpc is not None:
        pools = _blas_pools(tpc)
        if pools:
            return ThreadInfo(
                "threadpoolctl",
                str(pools[0].get("internal_api")),
                None,
                int(pools[0]["num_threads"]),
            )
    lib = _find_openblas()
    if lib is not None:
        return ThreadInfo("openblas-ctypes", lib.path.name, None, int(lib.get()))
    return ThreadInfo(
        "env",
        None,
        None,
        None,
        "no BLAS library could be queried in this process; thread count unknown",
    )


def set_blas_threads(n: int) -> ThreadInfo:
    """Ask BLAS for `n` threads; returns what the library reports afterwards."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"thread count must be a positive integer, got {n!r}")
    tpc = _threadpoolctl()
    if tpc is not None and _blas_pools(tpc):
        limiter = tpc.threadpool_limits(limits=n, user_api="blas")
        del limiter  # threadpool_limits applies on construction; we keep the new setting
        now = get_blas_threads()
        return ThreadInfo(now.backend, now.library, n, now.in_effect)
    lib = _find_openblas()
    if lib is not None:
        lib.set(n)
        return ThreadInfo("openblas-ctypes", lib.path.name, n, int(lib.get()))
    for var in ENV_VARS:
        os.environ[var] = str(n)
    return ThreadInfo(
        "env",
        None,
        n,
        None,
        f"set {', '.join(ENV_VARS)}={n}: they only affect BLAS libraries loaded after this "
        "(e.g. in child processes); the count in this process is unknown",
    )


@contextmanager
def blas_threads(n: int) -> Iterator[ThreadInfo]:
    """`with blas_threads(1) as info:` ... then the previous count is restored."""
    before = get_blas_threads()
    info = set_blas_threads(n)
    try:
        yield info
    finally:
        if before.in_effect is not None:
            set_blas_threads(before.in_effect)
