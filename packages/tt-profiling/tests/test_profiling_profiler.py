"""The Profiler measures for real: backward is run, state is restored, reports hold the numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tt_activations import ReLU
from tt_autograd import Function
from tt_layers import Dropout, Linear, Module, Sequential
from tt_profiling import MatmulPeak, Profiler, measure_matmul_peak, profile
from tt_spatial import BatchNorm1d
from tt_tensor import Tensor, get_rng_state, manual_seed, randn, set_rng_state
from tt_transformers import GPT


@pytest.fixture(scope="module")
def peak() -> MatmulPeak:
    return measure_matmul_peak(64, repeats=3)


class CountingIdentity(Module):
    """Identity whose backward counts its calls: proof that backward really ran."""

    def __init__(self) -> None:
        super().__init__()
        self.backward_calls = 0
        owner = self

        class _Fn(Function):
            @staticmethod
            def forward(ctx: Any, x: Tensor) -> Tensor:
                return Tensor(x.data.copy())

            @staticmethod
            def backward(ctx: Any, grad: Tensor) -> Tensor:
                owner.backward_calls += 1
                return grad

        self.fn = _Fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn.apply(x)


def mlp() -> Sequential:
    manual_seed(0)
    return Sequential(Linear(4, 8), ReLU(), Linear(8, 2))


def test_layers_params_memory_and_flops(peak: MatmulPeak) -> None:
    report = Profiler(mlp()).run(randn(3, 4), warmup=1, repeats=3, peak=peak)
    assert [layer.name for layer in report.layers] == ["0", "1", "2"]
    assert [layer.kind for layer in report.layers] == ["Linear", "ReLU", "Linear"]
    assert [layer.params for layer in report.layers] == [40, 0, 18]
    assert report.total_params == 58
    assert report.total_param_bytes == 58 * 4
    assert [layer.activation_bytes for layer in report.layers] == [96, 96, 24]
    assert report.activation_bytes == 216
    assert [layer.flops for layer in report.layers] == [3 * 72, 24, 3 * 34]
    assert report.total_flops == 216 + 24 + 102
    assert report.layers[0].output_shapes == [(3, 8)]


def test_latencies_are_measured_separately(peak: MatmulPeak) -> None:
    report = Profiler(mlp()).run(randn(3, 4), warmup=1, repeats=4, peak=peak)
    for stats in (report.forward, report.inference, report.backward):
        assert stats is not None and stats.count == 4
        assert 0 < stats.median <= stats.p90 <= stats.p99 <= stats.max
    assert all(layer.forward is not None and layer.forward.count == 4 for layer in report.layers)
    achieved = report.achieved_gflops("inference")
    assert achieved is not None and achieved > 0
    assert report.fraction_of_peak() == pytest.approx(achieved / peak.gflops)


def test_backward_is_run_not_estimated(peak: MatmulPeak) -> None:
    probe = CountingIdentity()
    model = Sequential(Linear(4, 4), probe, Linear(4, 1))
    report = Profiler(model).run(randn(2, 4), warmup=2, repeats=5, peak=peak)
    assert report.backward is not None and report.backward.count == 5
    assert probe.backward_calls == 2 + 5  # warm-up runs and timed runs
    assert all(p.grad is None for p in model.parameters())  # gradients restored


def test_backward_missing_when_nothing_requires_grad(peak: MatmulPeak) -> None:
    model = mlp().requires_grad_(False)
    report = Profiler(model).run(randn(2, 4), repeats=2, peak=peak)
    assert report.backward is None
    assert any("backward not measured" in n for n in report.notes)
    assert report.to_dict()["totals"]["backward"] is None
    assert "backward               n/a" in report.table()


def test_profiling_leaves_the_model_untouched(peak: MatmulPeak) -> None:
    manual_seed(1)
    model = Sequential(Linear(4, 6), BatchNorm1d(6), Dropout(0.5), Linear(6, 2))
    bn = model[1]
    assert isinstance(bn, BatchNorm1d)
    assert bn.running_mean is not None and bn.num_batches_tracked is not None
    before = (bn.running_mean.data.copy(), int(bn.num_batches_tracked.data))
    x = randn(8, 4)
    rng_before = get_rng_state()
    Profiler(model).run(x, warmup=1, repeats=2, peak=peak)
    np.testing.assert_array_equal(bn.running_mean.data, before[0])
    assert int(bn.num_batches_tracked.data) == before[1]
    after_profiling = randn(3).data  # Dropout drew masks, yet the stream is where it was
    set_rng_state(rng_before)
    np.testing.assert_array_equal(after_profiling, randn(3).data)


def test_json_export_and_table(tmp_path: Path, peak: MatmulPeak) -> None:
    report = profile(mlp(), randn(3, 4), warmup=0, repeats=2, peak=peak)
    data = json.loads(report.to_json())
    assert data["totals"]["flops"] == report.total_flops
    assert data["totals"]["achieved_gflops_backward"] is None  # backward FLOPs not counted
    assert data["layers"][0]["forward"]["count"] == 2
    assert data["peak"]["n"] == 64
    path = report.save_json(tmp_path / "p.json")
    assert json.loads(path.read_text())["totals"]["params"] == 58
    table = report.table()
    for needle in ("Linear", "ReLU", "parameters", "58", "backward", "GFLOP/s"):
        assert needle in table


def test_gpt_attention_is_one_unit_and_shared_weights_count_once(peak: MatmulPeak) -> None:
    manual_seed(0)
    gpt = GPT(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)
    idx = Tensor(np.random.default_rng(0).integers(0, 11, (2, 8)))
    report = Profiler(gpt).run(idx, warmup=0, repeats=1, peak=peak)
    names = [layer.name for layer in report.layers]
    assert "h.0.attn" in names and "h.0.attn.out_proj" not in names
    attn = report.layers[names.index("h.0.attn")]
    # self-attention, N=2, L=S=8, E=8: 4 projections of 16 rows * (2*64 + 8), two 2*N*L*S*E
    assert attn.flops == 4 * 16 * 136 + 2 * (2 * 2 * 8 * 8 * 8)
    assert report.uncounted == []
    assert report.total_params == sum(p.numel() for p in gpt.parameters())
    assert any("shared" in n for n in report.notes)  # lm_head ties wte's weight


def test_unknown_layer_is_reported_not_guessed(peak: MatmulPeak) -> None:
    class Mystery(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.exp()

    report = Profiler(Sequential(Linear(2, 2), Mystery())).run(
        randn(1, 2), repeats=1, warmup=0, peak=peak
    )
    assert report.layers[1].flops is None
    assert report.uncounted == ["1 (Mystery)"]
    assert "FLOPs not counted for: 1 (Mystery)" in report.table()


def test_unused_layer_is_noted(peak: MatmulPeak) -> None:
    class Partly(Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = Linear(2, 2)
            self.spare = Linear(2, 2)

        def forward(self, x: Tensor) -> Tensor:
            out: Tensor = self.used(x)
            return out

    report = Profiler(Partly()).run(randn(1, 2), repeats=1, warmup=0, peak=peak)
    spare = report.layers[1]
    assert (spare.name, spare.calls, spare.flops, spare.forward) == ("spare", 0, 0, None)
    assert any("never called" in n and "spare" in n for n in report.notes)


def test_matmul_peak_is_measured(peak: MatmulPeak) -> None:
    assert peak.flops == 2 * 64**3
    assert peak.latency.count == 3
    assert peak.gflops == pytest.approx(peak.flops / peak.latency.min / 1e9)
    assert measure_matmul_peak(64) is measure_matmul_peak(64)  # cached per size
