"""TinyTorch module 19: benchmarking with statistics you can defend.

`benchmark` times a function (warm-up, repeats, median, IQR, bootstrap CI),
`compare` tests two variants against each other (Mann–Whitney U, speedup with
a bootstrap CI), `capture_environment` records where it ran, and
`BenchmarkReport` writes JSON and Markdown. Nothing is estimated: what cannot
be measured is reported as missing.
"""

from .environment import (
    THREAD_ENV_VARS,
    blas_info,
    capture_environment,
    cpu_model,
    package_versions,
    threadpool_info,
    usable_cores,
)
from .harness import (
    BenchmarkResult,
    Comparison,
    benchmark,
    benchmark_interleaved,
    compare,
    result_from_samples,
)
from .report import MISSING, BenchmarkReport, atomic_write_text, fmt_number, fmt_seconds
from .stats import (
    MannWhitneyResult,
    bootstrap_ci,
    iqr,
    mann_whitney_u,
    quartiles,
    rankdata,
    ratio_ci,
)
from .torch_compare import benchmark_torch, compare_with_torch, load_torch, torch_available

__all__ = [
    "MISSING",
    "THREAD_ENV_VARS",
    "BenchmarkReport",
    "BenchmarkResult",
    "Comparison",
    "MannWhitneyResult",
    "atomic_write_text",
    "benchmark",
    "benchmark_interleaved",
    "benchmark_torch",
    "blas_info",
    "bootstrap_ci",
    "capture_environment",
    "compare",
    "compare_with_torch",
    "cpu_model",
    "fmt_number",
    "fmt_seconds",
    "iqr",
    "load_torch",
    "mann_whitney_u",
    "package_versions",
    "quartiles",
    "rankdata",
    "ratio_ci",
    "result_from_samples",
    "threadpool_info",
    "torch_available",
    "usable_cores",
]
