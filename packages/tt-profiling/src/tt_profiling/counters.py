"""FLOP counters per layer kind, recognised by class (`isinstance` on the real classes).

A forward hook hands each counter the module, its positional inputs and its
output; the counter reads the real shapes and applies the formulas of
`tt_profiling.flops`. A layer kind without a counter is reported as "not
counted" (None), never guessed. `register_flop_counter` adds one for your own
layer class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from tt_activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tt_attention import MultiheadAttention
from tt_embeddings import Embedding, LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from tt_layers import Dropout, Flatten, Identity, Linear, Unflatten
from tt_spatial import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout2d,
    MaxPool2d,
)
from tt_tensor import Tensor
from tt_transformers import LayerNorm

from .flops import (
    attention_flops,
    conv2d_flops,
    elementwise_flops,
    embedding_flops,
    linear_flops,
    norm_flops,
    pool2d_flops,
)

FlopCounter: TypeAlias = Callable[[Any, tuple[Any, ...], Any], int | None]


def shape_of(value: Any) -> tuple[int, ...] | None:
    """The shape of a Tensor or ndarray, else None."""
    if isinstance(value, Tensor):
        return tuple(value.shape)
    if isinstance(value, np.ndarray):
        return tuple(value.shape)
    return None


def first_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of `value`, or of the first tensor inside a tuple/list output."""
    direct = shape_of(value)
    if direct is not None:
        return direct
    if isinstance(value, tuple | list):
        for item in value:
            found = first_shape(item)
            if found is not None:
                return found
    return None


def _numel(value: Any) -> int | None:
    shape = first_shape(value)
    return None if shape is None else math.prod(shape)


def _linear(m: Linear, inputs: tuple[Any, ...], output: Any) -> int | None:
    shape = first_shape(inputs)
    if shape is None:
        return None
    rows = math.prod(shape[:-1])
    return linear_flops(rows, m.in_features, m.out_features, m.bias is not None)


def _conv2d(m: Conv2d, inputs: tuple[Any, ...], output: Any) -> int | None:
    out = first_shape(output)
    if out is None or len(out) != 4:
        return None
    n, cout, oh, ow = out
    _, cin_g, kh, kw = m.weight.shape
    return conv2d_flops(n, cin_g * m.groups, cout, oh, ow, (kh, kw), m.groups, m.bias is not None)


def _kernel(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def _pool(kind: str) -> FlopCounter:
    def count(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
        out = first_shape(output)
        if out is None or len(out) != 4:
            return None
        n, c, oh, ow = out
        return pool2d_flops(kind, n, c, oh, ow, _kernel(m.kernel_size))

    return count


def _adaptive_avg(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
    """Each output averages its own window: the window sizes, summed, at one add each."""
    inp, out = first_shape(inputs), first_shape(output)
    if inp is None or out is None or len(inp) != 4 or len(out) != 4:
        return None

    def covered(size: int, outs: int) -> int:
        # PyTorch's windows: [floor(i*size/outs), ceil((i+1)*size/outs))
        return sum(-(-((i + 1) * size) // outs) - (i * size) // outs for i in range(outs))

    n, c, h, w = inp
    return n * c * covered(h, out[2]) * covered(w, out[3])


def _batchnorm(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
    numel = _numel(output)
    if numel is None:
        return None
    uses_batch_stats = bool(m.training) or getattr(m, "running_mean", None) is None
    affine = getattr(m, "weight", None) is not None
    return norm_flops(numel, affine, affine, compute_stats=uses_batch_stats)


def _layernorm(m: LayerNorm, inputs: tuple[Any, ...], output: Any) -> int | None:
    numel = _numel(output)
    if numel is None:
        return None
    return norm_flops(numel, m.weight is not None, m.bias is not None, compute_stats=True)


def _attention(m: MultiheadAttention, inputs: tuple[Any, ...], output: Any) -> int | None:
    """Needs query, key and value passed positionally (hooks do not see keyword arguments)."""
    if len(inputs) < 3:
        return None
    q, k = shape_of(inputs[0]), shape_of(inputs[1])
    if q is None or k is None:
        return None
    if len(q) == 2:
        batch, tgt, src = 1, q[0], k[0]
    elif m.batch_first:
        batch, tgt, src = q[0], q[1], k[1]
    else:
        batch, tgt, src = q[1], q[0], k[0]
    return attention_flops(
        batch, tgt, src, m.embed_dim, m.kdim, m.vdim, bias=m.in_proj_bias is not None
    )


def _zero(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
    return embedding_flops()


def _per_element(flops: int) -> FlopCounter:
    def count(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
        numel = _numel(output)
        return None if numel is None else elementwise_flops(numel, flops)

    return count


def _dropout(m: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
    numel = _numel(output)
    if numel is None:
        return None
    return elementwise_flops(numel, 1) if m.training and m.p > 0 else 0


# Order matters only for subclasses: the first matching entry wins.
_COUNTERS: list[tuple[type, FlopCounter]] = [
    (Linear, _linear),
    (Conv2d, _conv2d),
    (MaxPool2d, _pool("max")),
    (AvgPool2d, _pool("avg")),
    (AdaptiveAvgPool2d, _adaptive_avg),
    (BatchNorm1d, _batchnorm),
    (BatchNorm2d, _batchnorm),
    (LayerNorm, _layernorm),
    (MultiheadAttention, _attention),
    (Embedding, _zero),
    (LearnedPositionalEmbedding, _zero),
    (SinusoidalPositionalEncoding, _zero),
    (ReLU, _per_element(1)),
    (Sigmoid, _per_element(1)),
    (Tanh, _per_element(1)),
    (GELU, _per_element(1)),
    (Softmax, _per_element(3)),
    (LogSoftmax, _per_element(3)),
    (Dropout, _dropout),
    (Dropout2d, _dropout),
    (Identity, _zero),
    (Flatten, _zero),
    (Unflatten, _zero),
]


def register_flop_counter(cls: type, counter: FlopCounter) -> None:
    """Count `cls` layers with `counter(module, inputs, output) -> FLOPs or None`.

    Registered counters take precedence over the built-in ones.
    """
    _COUNTERS.insert(0, (cls, counter))


def counter_for(module: Any) -> FlopCounter | None:
    for cls, counter in _COUNTERS:
        if isinstance(module, cls):
            return counter
    return None


def is_counted_kind(module: Any) -> bool:
    """Whether a counter knows this module's class (it is then profiled as one unit)."""
    return counter_for(module) is not None


def count_flops(module: Any, inputs: tuple[Any, ...], output: Any) -> int | None:
    """FLOPs of one call of `module`, or None when its kind has no counter."""
    counter = counter_for(module)
    return None if counter is None else counter(module, inputs, output)
