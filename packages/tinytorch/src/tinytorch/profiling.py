"""`tinytorch.profiling`: Profile models: parameters, FLOPs, memory and latency (module 14)."""

from tt_profiling import (
    Profiler,
    ProfileReport,
    count_flops,
    flops_of,
    measure_matmul_peak,
    profile,
    time_callable,
)

__all__ = [
    "ProfileReport",
    "Profiler",
    "count_flops",
    "flops_of",
    "measure_matmul_peak",
    "profile",
    "time_callable",
]
