"""`tinytorch.benchmarking`: Benchmark harness and statistics (module 19)."""

from tt_benchmarking import (
    BenchmarkReport,
    benchmark,
    bootstrap_ci,
    capture_environment,
    compare,
    mann_whitney_u,
)

__all__ = [
    "BenchmarkReport",
    "benchmark",
    "bootstrap_ci",
    "capture_environment",
    "compare",
    "mann_whitney_u",
]
