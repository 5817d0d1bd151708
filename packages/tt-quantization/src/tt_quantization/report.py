"""Measuring what quantization bought: size, operations and latency, with tt-profiling.

`tt_profiling.Profiler` counts FLOPs by layer class; importing this package
registers counters for the quantized layers (the same multiply-adds, done in
integers), so a quantized model profiles like its float original. Its
parameter totals see only float `Parameter`s, while a quantized layer keeps
its int8 weight in a buffer, so sizes are counted here from `state_dict()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tt_layers import Module
from tt_profiling import LatencyStats, Profiler, conv2d_flops, linear_flops, register_flop_counter
from tt_tensor import Tensor

from .modules import QuantizedConv2d, QuantizedLinear, _QuantizedLayer


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, Tensor):
        return tuple(value.shape)
    if isinstance(value, tuple | list) and value:
        return _shape(value[0])
    return None


def _linear_ops(m: QuantizedLinear, inputs: tuple[Any, ...], output: Any) -> int | None:
    shape = _shape(inputs)
    if shape is None:
        return None
    rows = math.prod(shape[:-1])
    return linear_flops(rows, m.in_features, m.out_features, m.bias is not None)


def _conv_ops(m: QuantizedConv2d, inputs: tuple[Any, ...], output: Any) -> int | None:
    out = _shape(output)
    if out is None or len(out) != 4:
        return None
    n, c, h, w = out
    return conv2d_flops(n, m.in_channels, c, h, w, m.kernel_size, m.groups, m.bias is not None)


register_flop_counter(QuantizedLinear, _linear_ops)
register_flop_counter(QuantizedConv2d, _conv_ops)


@dataclass(frozen=True)
class ModelSize:
    """Weights (float or integer) and bytes of every saved tensor of a model."""

    params: int  # weight and bias elements, whatever their dtype
    storage_bytes: int  # parameters and persistent buffers, as state_dict() holds them
    int8_params: int  # of `params`, how many are stored as int8


def model_size(model: Module) -> ModelSize:
    """Count weights whether they are float Parameters or quantized int8 buffers."""
    params = sum(p.numel() for p in model.parameters())
    int8 = 0
    for _, layer in model.named_modules():
        if isinstance(layer, _QuantizedLayer):
            int8 += layer.weight.numel()
            params += layer.weight.numel() + (0 if layer.bias is None else layer.bias.numel())
    storage = sum(int(t.data.nbytes) for t in model.state_dict().values())
    return ModelSize(params, storage, int8)


def inference_latency(
    model: Module, example: Tensor, *, warmup: int = 2, repeats: int = 10
) -> tuple[LatencyStats, int]:
    """Median-ready forward latency (no_grad) and forward FLOPs, via tt-profiling's Profiler."""
    report = Profiler(model).run(
        example, warmup=warmup, repeats=repeats, backward=False, per_layer=False, peak=False
    )
    assert report.inference is not None
    return report.inference, report.total_flops
