"""The harness times what it is given, compares honestly and reports what it measured."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest
from tt_benchmarking import (
    MISSING,
    BenchmarkReport,
    benchmark,
    benchmark_interleaved,
    benchmark_torch,
    capture_environment,
    compare,
    cpu_model,
    fmt_seconds,
    result_from_samples,
    torch_available,
)


def test_benchmark_counts_warmup_and_repeats() -> None:
    calls: list[int] = []
    res = benchmark(lambda: calls.append(1), warmup=2, repeats=5, name="append")
    assert len(calls) == 7
    assert res.n == 5
    assert res.name == "append"
    assert res.ci_low <= res.median <= res.ci_high


def test_benchmark_min_time_adds_repeats() -> None:
    res = benchmark(lambda: time.sleep(0.002), warmup=0, repeats=2, min_time=0.03)
    assert res.n >= 10
    assert sum(res.samples) >= 0.03


def test_benchmark_measures_a_known_sleep() -> None:
    res = benchmark(lambda: time.sleep(0.01), warmup=1, repeats=5)
    assert 0.009 < res.median < 0.2


def test_setup_is_not_timed() -> None:
    res = benchmark(lambda: None, setup=lambda: time.sleep(0.01), warmup=0, repeats=3)
    assert res.median < 0.005


def test_interleaved_rounds_alternate_order() -> None:
    calls: list[str] = []
    res = benchmark_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, warmup=1, repeats=4
    )
    warm, timed = calls[:2], calls[2:]
    assert warm == ["a", "b"]
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert res["a"].n == res["b"].n == 4
    assert res["a"].params["interleaved_with"] == ["b"]
    slow = benchmark_interleaved(
        {"sleep": lambda: time.sleep(0.005), "noop": lambda: None}, warmup=0, repeats=5
    )
    assert compare(slow["sleep"], slow["noop"]).speedup > 10


def test_bursts_time_calls_in_a_row_after_one_untimed_call() -> None:
    calls: list[str] = []
    res = benchmark_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        warmup=0,
        repeats=2,
        burst=3,
    )
    # per round and variant: 1 untimed + 3 timed calls; the order flips every round
    assert calls == ["a"] * 4 + ["b"] * 4 + ["b"] * 4 + ["a"] * 4
    assert res["a"].n == res["b"].n == 6 and res["a"].params["burst"] == 3
    with pytest.raises(ValueError, match="burst"):
        benchmark_interleaved({"a": lambda: None}, burst=0)


def test_summaries_from_known_samples() -> None:
    res = result_from_samples("known", [1.0, 2.0, 3.0, 4.0, 5.0])
    assert res.median == 3.0
    assert (res.q1, res.q3, res.iqr) == (2.0, 4.0, 2.0)
    assert res.mean == 3.0
    assert res.std == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    again = result_from_samples("known", [1.0, 2.0, 3.0, 4.0, 5.0])
    assert (again.ci_low, again.ci_high) == (res.ci_low, res.ci_high)


def test_compare_finds_the_faster_variant() -> None:
    rng = np.random.default_rng(0)
    slow = result_from_samples("slow", list(rng.uniform(0.019, 0.021, 30)))
    fast = result_from_samples("fast", list(rng.uniform(0.0095, 0.0105, 30)))
    cmp = compare(slow, fast)
    assert cmp.speedup == pytest.approx(slow.median / fast.median)
    assert 1.8 < cmp.speedup_ci[0] <= cmp.speedup <= cmp.speedup_ci[1] < 2.2
    assert cmp.significant
    assert cmp.u == 900.0  # every slow run is slower than every fast run
    assert "fast is faster" in cmp.verdict


def test_compare_same_distribution_is_not_significant() -> None:
    rng = np.random.default_rng(1)
    a = result_from_samples("a", list(rng.uniform(1.0, 2.0, 25)))
    b = result_from_samples("b", list(rng.permutation(a.samples)))
    cmp = compare(a, b)
    assert not cmp.significant
    assert cmp.speedup == 1.0
    assert "no significant difference" in cmp.verdict


def test_environment_has_real_values_or_none() -> None:
    env = capture_environment()
    assert env["python"].count(".") == 2
    assert env["packages"]["numpy"] == np.__version__
    assert "tt-benchmarking" in env["packages"]
    assert env["logical_cores"] is None or env["logical_cores"] >= 1
    # threadpoolctl is optional: absent means None, never a guess
    if importlib.util.find_spec("threadpoolctl") is None:
        assert env["threadpools"] is None
    json.dumps(env)


def test_cpu_model_reads_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t: fpu\n")
    assert cpu_model(info) == "Test CPU 9000"


def test_report_contains_measured_values(tmp_path: Path) -> None:
    base = result_from_samples("baseline", [0.004, 0.005, 0.006, 0.005, 0.0052])
    cand = result_from_samples("candidate", [0.002, 0.0025, 0.003, 0.0021, 0.0024])
    report = BenchmarkReport("unit", environment={"python": "3.x", "cpu_model": None})
    report.add(base)
    report.add(cand)
    cmp = report.add_comparison(compare(base, cand))
    md = report.to_markdown()
    assert fmt_seconds(base.median) in md and fmt_seconds(cand.median) in md
    assert f"{cmp.speedup:.3g}×" in md
    assert f"| CPU | {MISSING} |" in md  # unknown CPU is shown as missing
    report.save(tmp_path / "r.json", tmp_path / "r.md")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["results"][0]["median_s"] == base.median
    assert data["results"][1]["samples_s"] == list(cand.samples)
    assert data["comparisons"][0]["p_value"] == cmp.p_value
    assert data["environment"]["cpu_model"] is None
    assert (tmp_path / "r.md").read_text() == md
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_fmt_seconds_units() -> None:
    assert fmt_seconds(None) == MISSING
    assert fmt_seconds(float("nan")) == MISSING
    assert fmt_seconds(2.0) == "2.000 s"
    assert fmt_seconds(0.0125) == "12.500 ms"
    assert fmt_seconds(3e-6) == "3.0 µs"


def test_torch_helper_is_none_without_torch() -> None:
    res = benchmark_torch(lambda: None, repeats=3, warmup=0)
    if torch_available():
        assert res is not None and res.params["torch_version"]
    else:
        assert res is None


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="repeats"):
        benchmark(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="alpha"):
        r = result_from_samples("r", [1.0, 2.0])
        compare(r, r, alpha=2.0)
