"""What compression bought, measured with tt-profiling: parameters, zeros, FLOPs, latency."""

from __future__ import annotations

from dataclasses import dataclass

from tt_layers import Module
from tt_profiling import LatencyStats, Profiler, flops_of
from tt_tensor import Tensor


@dataclass(frozen=True)
class CompressionStats:
    """One model's footprint; `latency` is None unless an example input was timed."""

    params: int
    nonzero: int
    dense_bytes: int
    flops: int | None
    latency: LatencyStats | None

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzero / self.params if self.params else 0.0


def compression_stats(
    model: Module,
    example: Tensor | None = None,
    *,
    time_it: bool = True,
    warmup: int = 2,
    repeats: int = 10,
) -> CompressionStats:
    """Parameter and nonzero counts; with `example`, forward FLOPs and no_grad latency too.

    FLOPs are those of the dense computation: unstructured zeros do not make a
    dense matmul cheaper, only structured pruning and factorization change them.
    """
    params = nonzero = nbytes = 0
    for p in model.parameters():
        params += p.numel()
        nonzero += int((p.data != 0).sum())
        nbytes += int(p.data.nbytes)
    flops: int | None = None
    latency: LatencyStats | None = None
    if example is not None:
        if time_it:
            report = Profiler(model).run(
                example,
                warmup=warmup,
                repeats=repeats,
                backward=False,
                per_layer=False,
                peak=False,
            )
            flops, latency = report.total_flops, report.inference
        else:
            flops = flops_of(model, example)
    return CompressionStats(params, nonzero, nbytes, flops, latency)
