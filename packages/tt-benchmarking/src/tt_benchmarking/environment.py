"""What machine and software produced the numbers.

A timing is meaningless without its context: CPU, cores actually usable, the
BLAS NumPy calls into, the thread settings, the load from other processes and
the versions involved. Anything that cannot be found out is recorded as None,
never guessed.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's "model name" from /proc/cpuinfo, else what `platform` knows, else None."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, flags=re.MULTILINE)
    if match:
        return match.group(1).strip()
    return platform.processor() or None


def usable_cores() -> int | None:
    """Cores this process may run on (its affinity mask), which can be fewer than exist."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    return len(getter(0))


def load_average() -> list[float] | None:
    try:
        return [float(v) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def blas_info() -> dict[str, Any] | None:
    """NumPy's build-time BLAS (name, version, configuration), from `numpy.show_config`."""
    try:
        config: Any = np.show_config(mode="dicts")
    except Exception:  # older NumPy or an unusual build: report it as unknown
        return None
    if not isinstance(config, dict):
        return None
    deps: Any = config.get("Build Dependencies", {})
    blas: Any = deps.get("blas") if isinstance(deps, dict) else None
    if not isinstance(blas, dict):
        return None
    keys = ("name", "version", "openblas configuration")
    return {k: blas.get(k) for k in keys if k in blas}


def threadpool_info() -> list[dict[str, Any]] | None:
    """Thread pools in effect (library, threads) via threadpoolctl, or None if not installed."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return None
    info = threadpoolctl.threadpool_info()
    return [
        {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "prefix")}
        for pool in info
    ]


def package_versions() -> dict[str, str | None]:
    """numpy, torch (when installed) and every installed tt-* / tinytorch distribution."""
    found: dict[str, str | None] = {"numpy": np.__version__}
    for dist in metadata.distributions():
        name = dist.name or ""
        if name.startswith("tt-") or name in ("tinytorch", "torch", "threadpoolctl", "scipy"):
            found[name] = dist.version
    return dict(sorted(found.items()))


def capture_environment() -> dict[str, Any]:
    """Everything above in one JSON-ready dict; unknown values are None."""
    return {
        "timestamp_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine() or None,
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "load_average": load_average(),
        "blas": blas_info(),
        "threadpools": threadpool_info(),
        "thread_env": {var: os.environ.get(var) for var in THREAD_ENV_VARS},
        "packages": package_versions(),
    }
