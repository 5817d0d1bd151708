"""`benchmark` measures one variant; `compare` says whether another is faster, and by how much.

The timing loop is module 14's (`tt_profiling.time_with_setup`): warm-up runs
first, then at least `repeats` timed runs, and more until `min_time` seconds
have been measured. Everything reported is computed from those samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tt_profiling import LatencyStats, time_callable, time_with_setup

from .stats import bootstrap_ci, mann_whitney_u, quartiles, ratio_ci


@dataclass(frozen=True)
class BenchmarkResult:
    """Timings of one variant (seconds) and their robust summaries."""

    name: str
    samples: tuple[float, ...]
    warmup: int
    ci_low: float
    ci_high: float
    confidence: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return quartiles(self.samples)[1]

    @property
    def q1(self) -> float:
        return quartiles(self.samples)[0]

    @property
    def q3(self) -> float:
        return quartiles(self.samples)[2]

    @property
    def iqr(self) -> float:
        q1, _, q3 = quartiles(self.samples)
        return q3 - q1

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def std(self) -> float:
        return float(np.std(self.samples, ddof=1)) if self.n > 1 else 0.0

    @property
    def min(self) -> float:
        return float(np.min(self.samples))

    @property
    def max(self) -> float:
        return float(np.max(self.samples))

    @property
    def latency(self) -> LatencyStats:
        """The same samples as module 14's latency distribution (p90, p99, ...)."""
        return LatencyStats(self.samples)

    def to_dict(self) -> dict[str, Any]:
        lat = self.latency
        return {
            "name": self.name,
            "n": self.n,
            "warmup": self.warmup,
            "median_s": self.median,
            "q1_s": self.q1,
            "q3_s": self.q3,
            "iqr_s": self.iqr,
            "mean_s": self.mean,
            "std_s": self.std,
            "min_s": self.min,
            "max_s": self.max,
            "p90_s": lat.p90,
            "p99_s": lat.p99,
            "median_ci_s": [self.ci_low, self.ci_high],
            "confidence": self.confidence,
            "params": dict(self.params),
            "samples_s": list(self.samples),
        }


def result_from_samples(
    name: str,
    samples: list[float] | tuple[float, ...],
    *,
    warmup: int = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    params: dict[str, Any] | None = None,
) -> BenchmarkResult:
    """Wrap timings measured elsewhere (in seconds) into a `BenchmarkResult`."""
    lo, hi = bootstrap_ci(
        samples, "median", n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return BenchmarkResult(
        name, tuple(float(s) for s in samples), warmup, lo, hi, confidence, dict(params or {})
    )


def benchmark(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 20,
    min_time: float = 0.0,
    max_repeats: int = 100_000,
    name: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    setup: Callable[[], object] | None = None,
    params: dict[str, Any] | None = None,
) -> BenchmarkResult:
    """Time `fn()`; with `setup`, time `fn()` only, after an untimed `setup()` each run."""
    prepare: Callable[[], object] = setup if setup is not None else (lambda: None)
    samples = time_with_setup(
        prepare,
        lambda _: fn(),
        warmup=warmup,
        repeats=repeats,
        min_time=min_time,
        max_repeats=max_repeats,
    )
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    return result_from_samples(
        label,
        samples,
        warmup=warmup,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        params=params,
    )


def benchmark_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    warmup: int = 3,
    repeats: int = 20,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    burst: int = 1,
) -> dict[str, BenchmarkResult]:
    """Time several variants in alternating rounds, so they share the machine's conditions.

    Timing variant A's runs and then B's lets a burst of load from other
    processes land on one of them only. Here every round times each variant,
    the order reversed every other round (A B, B A, ...), so slow periods are
    spread over all variants alike.

    `burst=1` times one call per variant per round: every call then follows
    the other variants' calls and starts with caches they have filled (the
    cold case). `burst=k` makes one untimed call and then k timed calls in a
    row per variant and round, each call one sample: the steady state of a
    program that runs one model call after call, still interleaved round by
    round against drift.
    """
    if burst < 1:
        raise ValueError(f"burst must be >= 1, got {burst}")
    if not fns:
        raise ValueError("benchmark_interleaved needs at least one function")
    names = list(fns)
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):  # caches, lazy allocations, autotuners
        for name in names:
            fns[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            samples[name] += time_callable(fns[name], warmup=int(burst > 1), repeats=burst)
    return {
        name: result_from_samples(
            name,
            samples[name],
            warmup=warmup,
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
            params={"interleaved_with": [n for n in names if n != name], "burst": burst},
        )
        for name in names
    }


@dataclass(frozen=True)
class Comparison:
    """`candidate` against `baseline`: speedup = median(baseline) / median(candidate).

    A speedup above 1 means the candidate is faster. `significant` is the
    Mann–Whitney test's verdict at level `alpha`.
    """

    baseline: BenchmarkResult
    candidate: BenchmarkResult
    speedup: float
    speedup_ci: tuple[float, float]
    p_value: float
    u: float
    alpha: float
    confidence: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def verdict(self) -> str:
        if not self.significant:
            return f"no significant difference (p={self.p_value:.3g} >= {self.alpha})"
        faster = self.candidate.name if self.speedup > 1 else self.baseline.name
        return f"{faster} is faster (p={self.p_value:.3g} < {self.alpha})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.name,
            "candidate": self.candidate.name,
            "speedup": self.speedup,
            "speedup_ci": list(self.speedup_ci),
            "confidence": self.confidence,
            "mann_whitney_u": self.u,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "significant": self.significant,
            "verdict": self.verdict,
        }


def compare(
    baseline: BenchmarkResult,
    candidate: BenchmarkResult,
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Comparison:
    """Speedup with a bootstrap CI, and a two-sided Mann–Whitney U test between the two."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if candidate.median <= 0:
        raise ValueError(f"{candidate.name}: median time is {candidate.median}, cannot divide")
    test = mann_whitney_u(baseline.samples, candidate.samples)
    ci = ratio_ci(
        baseline.samples,
        candidate.samples,
        "median",
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return Comparison(
        baseline,
        candidate,
        baseline.median / candidate.median,
        ci,
        test.p_value,
        test.u,
        alpha,
        confidence,
    )
