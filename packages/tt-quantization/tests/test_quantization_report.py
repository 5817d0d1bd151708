"""Sizes and operation counts of quantized models, through tt-profiling."""

from __future__ import annotations

import numpy as np
from tt_layers import Flatten, Linear, Sequential
from tt_profiling import LatencyStats, flops_of
from tt_quantization import inference_latency, model_size, quantize_model
from tt_spatial import Conv2d
from tt_tensor import Tensor, manual_seed


def _model() -> Sequential:
    manual_seed(0)
    return Sequential(Conv2d(3, 16, 3, padding=1), Flatten(), Linear(16 * 6 * 6, 10))


def test_sizes_params_and_flops_line_up_with_the_float_model() -> None:
    model = _model()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3, 6, 6)).astype(np.float32))
    qmodel = quantize_model(model, [x])
    f, q = model_size(model), model_size(qmodel)
    assert f.params == q.params == 16 * 27 + 16 + 576 * 10 + 10
    assert f.int8_params == 0 and q.int8_params == 16 * 27 + 576 * 10
    assert 3.5 < f.storage_bytes / q.storage_bytes <= 4.0
    # the profiler counts the integer multiply-adds of quantized layers like float ones
    assert flops_of(qmodel, x) == flops_of(model, x) > 0


def test_inference_latency_is_measured() -> None:
    model = _model()
    x = Tensor(np.zeros((2, 3, 6, 6), np.float32))
    stats, flops = inference_latency(quantize_model(model, [x]), x, warmup=1, repeats=3)
    assert isinstance(stats, LatencyStats) and stats.count == 3 and stats.median > 0
    assert flops == flops_of(model, x)
