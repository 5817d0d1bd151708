"""Wall-clock timing done carefully: warm-up, repeats, and percentiles.

One run of a function tells you little: the first call pays for caches, lazy
imports and memory allocation, and later calls scatter because the machine is
doing other things. So every measurement here warms up first, repeats, and
reports the whole distribution (median and tail percentiles), never a single
number pulled from one run.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def percentile(samples: list[float] | tuple[float, ...], q: float) -> float:
    """The `q`-th percentile (0..100) with linear interpolation, as NumPy's default."""
    if not samples:
        raise ValueError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


@dataclass(frozen=True)
class LatencyStats:
    """A latency distribution: the raw samples (seconds) and the summaries people quote."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("LatencyStats needs at least one sample")
        if any(not math.isfinite(s) or s < 0 for s in self.samples):
            raise ValueError("latency samples must be finite and non-negative")

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return percentile(self.samples, 50.0)

    @property
    def p90(self) -> float:
        return percentile(self.samples, 90.0)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99.0)

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1); 0.0 for a single sample."""
        if len(self.samples) < 2:
            return 0.0
        return float(np.std(self.samples, ddof=1))

    @property
    def min(self) -> float:
        return float(min(self.samples))

    @property
    def max(self) -> float:
        return float(max(self.samples))

    def percentile(self, q: float) -> float:
        return percentile(self.samples, q)

    def to_dict(self) -> dict[str, Any]:
        """Summaries in milliseconds, plus the raw samples in seconds."""
        ms = 1e3
        return {
            "count": self.count,
            "median_ms": self.median * ms,
            "p90_ms": self.p90 * ms,
            "p99_ms": self.p99 * ms,
            "mean_ms": self.mean * ms,
            "std_ms": self.std * ms,
            "min_ms": self.min * ms,
            "max_ms": self.max * ms,
            "samples_s": list(self.samples),
        }


def _check_counts(warmup: int, repeats: int, min_time: float, max_repeats: int) -> None:
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if min_time < 0:
        raise ValueError(f"min_time must be >= 0 seconds, got {min_time}")
    if max_repeats < repeats:
        raise ValueError(f"max_repeats ({max_repeats}) must be >= repeats ({repeats})")


def time_with_setup(
    setup: Callable[[], S],
    fn: Callable[[S], object],
    *,
    warmup: int = 3,
    repeats: int = 10,
    min_time: float = 0.0,
    max_repeats: int = 100_000,
    disable_gc: bool = True,
) -> list[float]:
    """Seconds per call of `fn(setup())`, timing `fn` only.

    `setup` runs untimed before every call: it is how a backward pass is timed
    on its own (setup runs the forward and returns the loss, `fn` runs
    `loss.backward()`). At least `repeats` samples are taken, and more until
    they add up to `min_time` seconds (at most `max_repeats`). The garbage
    collector is paused inside the timed region only, as `timeit` does.
    """
    _check_counts(warmup, repeats, min_time, max_repeats)
    for _ in range(warmup):
        fn(setup())
    samples: list[float] = []
    total = 0.0
    gc_was_enabled = gc.isenabled()
    try:
        while len(samples) < repeats or (total < min_time and len(samples) < max_repeats):
            arg = setup()
            if disable_gc:
                gc.disable()
            start = time.perf_counter()
            fn(arg)
            elapsed = time.perf_counter() - start
            if gc_was_enabled:
                gc.enable()
            samples.append(elapsed)
            total += elapsed
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def time_callable(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 10,
    min_time: float = 0.0,
    max_repeats: int = 100_000,
    disable_gc: bool = True,
) -> list[float]:
    """Seconds per call of `fn()`: `warmup` untimed calls, then at least `repeats` timed ones."""
    return time_with_setup(
        lambda: None,
        lambda _: fn(),
        warmup=warmup,
        repeats=repeats,
        min_time=min_time,
        max_repeats=max_repeats,
        disable_gc=disable_gc,
    )


def measure(
    fn: Callable[[], object], *, warmup: int = 3, repeats: int = 10, min_time: float = 0.0
) -> LatencyStats:
    """`time_callable` summarised as a `LatencyStats`."""
    return LatencyStats(tuple(time_callable(fn, warmup=warmup, repeats=repeats, min_time=min_time)))


class Timer:
    """`with Timer() as t: ...` then `t.elapsed` (seconds), for one-off spans."""

    def __init__(self) -> None:
        self.start = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.start


@dataclass
class TimingLog:
    """Samples collected by `@timed` functions, by name: find where the time goes."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def stats(self, name: str) -> LatencyStats:
        if name not in self.samples:
            raise KeyError(f"no timings recorded for {name!r}; known: {sorted(self.samples)}")
        return LatencyStats(tuple(self.samples[name]))

    def clear(self) -> None:
        self.samples.clear()

    def table(self) -> str:
        """Names by total time, largest first: the bottlenecks at the top."""
        rows = sorted(self.samples.items(), key=lambda kv: -sum(kv[1]))
        lines = [f"{'name':<40} {'calls':>7} {'total ms':>10} {'median ms':>10} {'p90 ms':>9}"]
        for name, vals in rows:
            st = LatencyStats(tuple(vals))
            lines.append(
                f"{name:<40} {st.count:>7} {sum(vals) * 1e3:>10.3f} "
                f"{st.median * 1e3:>10.3f} {st.p90 * 1e3:>9.3f}"
            )
        return "\n".join(lines)


timings = TimingLog()


@overload
def timed(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def timed(
    *, name: str | None = None, log: TimingLog | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def timed(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    log: TimingLog | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Profiling decorator: every call's duration goes to `log` (default: `timings`).

    `@timed` or `@timed(name="step", log=my_log)`.
    """

    def decorate(f: Callable[P, R]) -> Callable[P, R]:
        label = str(name or getattr(f, "__qualname__", repr(f)))
        target = log if log is not None else timings

        @functools.wraps(f)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                target.add(label, time.perf_counter() - start)

        return wrapper

    if fn is not None:
        return decorate(fn)
    return decorate


@contextmanager
def timing(name: str, log: TimingLog | None = None) -> Iterator[None]:
    """`with timing("data"): ...` records the block's duration under `name`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        (log if log is not None else timings).add(name, time.perf_counter() - start)
