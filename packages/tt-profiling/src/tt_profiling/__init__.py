"""TinyTorch module 14: profiling, measured on the machine that runs the model.

`Profiler(model).run(x)` reports, per layer and in total, parameters, FLOPs
counted from the real shapes, activation memory, forward and backward latency
(each measured, with warm-up, repeats, median and tail percentiles) and the
achieved GFLOP/s against a matmul peak measured on the same machine. The timing
tools (`time_callable`, `LatencyStats`, `@timed`) and FLOP formulas are usable
on their own.
"""

from .counters import count_flops, counter_for, register_flop_counter
from .flops import (
    attention_flops,
    conv2d_flops,
    conv_output_size,
    elementwise_flops,
    embedding_flops,
    linear_flops,
    norm_flops,
    pool2d_flops,
    sdpa_flops,
)
from .peak import MatmulPeak, measure_matmul_peak
from .profiler import (
    LayerProfile,
    Profiler,
    ProfileReport,
    default_loss,
    flops_of,
    fmt_bytes,
    fmt_count,
    nbytes,
    profile,
)
from .timing import (
    LatencyStats,
    Timer,
    TimingLog,
    measure,
    percentile,
    time_callable,
    time_with_setup,
    timed,
    timing,
    timings,
)

__all__ = [
    "LatencyStats",
    "LayerProfile",
    "MatmulPeak",
    "ProfileReport",
    "Profiler",
    "Timer",
    "TimingLog",
    "attention_flops",
    "conv2d_flops",
    "conv_output_size",
    "count_flops",
    "counter_for",
    "default_loss",
    "elementwise_flops",
    "embedding_flops",
    "flops_of",
    "fmt_bytes",
    "fmt_count",
    "linear_flops",
    "measure",
    "measure_matmul_peak",
    "nbytes",
    "norm_flops",
    "percentile",
    "pool2d_flops",
    "profile",
    "register_flop_counter",
    "sdpa_flops",
    "time_callable",
    "time_with_setup",
    "timed",
    "timing",
    "timings",
]
