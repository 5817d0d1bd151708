"""Timing primitives: warm-up and repeat counts, percentiles, decorators."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tt_profiling import (
    LatencyStats,
    Timer,
    TimingLog,
    measure,
    percentile,
    time_callable,
    time_with_setup,
    timed,
    timing,
)


def test_warmup_and_repeats_are_counted() -> None:
    calls: list[int] = []
    samples = time_callable(lambda: calls.append(1), warmup=3, repeats=7)
    assert len(calls) == 10 and len(samples) == 7


def test_min_time_extends_sampling() -> None:
    samples = time_callable(lambda: time.sleep(0.002), warmup=0, repeats=1, min_time=0.02)
    assert sum(samples) >= 0.02 and len(samples) >= 5


def test_setup_is_excluded_from_timing() -> None:
    samples = time_with_setup(lambda: time.sleep(0.01), lambda _: None, warmup=0, repeats=3)
    assert max(samples) < 0.005


def test_latency_stats_match_numpy() -> None:
    data = (0.5, 0.1, 0.4, 0.2, 0.3, 1.0)
    st = LatencyStats(data)
    assert st.median == pytest.approx(np.median(data))
    assert st.p90 == pytest.approx(np.percentile(data, 90))
    assert st.p99 == pytest.approx(np.percentile(data, 99))
    assert st.std == pytest.approx(np.std(data, ddof=1))
    assert (st.min, st.max, st.count) == (0.1, 1.0, 6)
    assert st.to_dict()["median_ms"] == pytest.approx(350.0)
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_measure_sleep_is_plausible() -> None:
    st = measure(lambda: time.sleep(0.005), warmup=1, repeats=3)
    assert 0.004 < st.median < 0.2


def test_timed_decorator_and_context() -> None:
    log = TimingLog()

    @timed(name="work", log=log)
    def work(n: int) -> int:
        return sum(range(n))

    assert work(1000) == 499500
    work(10)
    with timing("block", log):
        time.sleep(0.001)
    assert log.stats("work").count == 2
    assert log.stats("block").min >= 0.001
    assert "work" in log.table() and "block" in log.table()
    with pytest.raises(KeyError, match="no timings"):
        log.stats("missing")
    with Timer() as t:
        time.sleep(0.002)
    assert t.elapsed >= 0.002


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="repeats"):
        time_callable(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="at least one"):
        LatencyStats(())
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], 120)
