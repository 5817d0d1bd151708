"""An inference plan: a model compiled into NumPy steps that reuse their buffers.

Under `no_grad` nothing needs to be kept for a backward pass, so an inference
run may overwrite what it no longer needs. `compile_inference` turns a
`Sequential`-shaped model into a list of steps that

* fold each BatchNorm into the Conv2d/Linear before it (`fold_batchnorm`),
* fuse an activation into the layer before it (matmul, then bias + GELU/ReLU in
  place in the matmul's output); a ReLU between a convolution and a max-pooling
  runs after the pooling instead (same result, on fewer values), and
  global average pooling + flatten + Linear become one matmul,
* write every layer's output into a buffer allocated once per input shape and
  reused on every later call, and apply activations in place,
* run each convolution with the formulation the autotuner measured fastest for
  its shape.

Steps only ever overwrite buffers the plan owns: the caller's input is never
modified, and the result is copied out so the next call cannot change it.
Layers the plan does not know run as themselves (a fallback step), so any
model compiles; `plan.fallbacks` lists them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeGuard

import numpy as np
import numpy.typing as npt
from tt_activations import GELU, ReLU, Sigmoid, Tanh
from tt_autograd import no_grad
from tt_layers import Dropout, Flatten, Identity, Linear, Module, Sequential
from tt_spatial import (
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout2d,
    MaxPool2d,
    Residual,
)
from tt_spatial.conv import resolve_padding
from tt_tensor import Tensor
from tt_transformers import LayerNorm

from .buffered import BufferedConv2d, Scratch
from .conv import ConvAutotuner, default_autotuner, pair
from .folding import fold_batchnorm
from .fused import gelu_, layer_norm_inference, relu_

Array: TypeAlias = npt.NDArray[Any]


class Step:
    """One stage of a plan: `run(x, owned)` returns (output, whether the plan owns it)."""

    name = "step"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        raise NotImplementedError


@dataclass
class _Buffers:
    """Output arrays by (input shape, dtype): allocated on first use, then reused."""

    store: dict[tuple[Any, ...], Array] = field(default_factory=dict)

    def get(self, key: tuple[Any, ...], shape: tuple[int, ...], dtype: Any) -> Array:
        buf = self.store.get(key)
        if buf is None:
            buf = np.empty(shape, dtype=dtype)
            self.store[key] = buf
        return buf


def _in_place(kind: str | None, work: list[Array]) -> Callable[[Array], object] | None:
    """`_activate` bound to one kind (ReLU without any dispatch: it is the common one)."""
    if kind is None:
        return None
    if kind == "relu":
        return relu_
    return lambda x: _activate(x, kind, work)


def _activate(x: Array, kind: str | None, work: list[Array]) -> None:
    """Apply an activation in place."""
    if kind is None:
        return
    if kind == "relu":
        relu_(x)
    elif kind in ("gelu", "gelu_tanh"):
        gelu_(x, "tanh" if kind == "gelu_tanh" else "none", work)
    elif kind == "tanh":
        np.tanh(x, out=x)
    elif kind == "sigmoid":  # (1 + tanh(x / 2)) / 2: no exp to overflow
        x *= 0.5
        np.tanh(x, out=x)
        x += 1.0
        x *= 0.5
    else:
        raise ValueError(f"unknown activation {kind!r}")


class LinearStep(Step):
    """`x @ W.T + b` into a reused buffer, then an optional activation in place."""

    def __init__(self, layer: Linear, activation: str | None = None) -> None:
        self.wt = np.ascontiguousarray(layer.weight.data.T)
        self.b = None if layer.bias is None else layer.bias.data.copy()
        self.activation = activation
        self.buffers = _Buffers()
        self.work: list[Array] = []
        self.name = f"Linear({self.wt.shape[0]}, {self.wt.shape[1]})" + (
            f" + {activation}" if activation else ""
        )

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        x2 = x.reshape(-1, x.shape[-1])
        out = self.buffers.get(
            (x.shape, x.dtype), (x2.shape[0], self.wt.shape[1]), np.result_type(x, self.wt)
        )
        np.matmul(x2, self.wt, out=out)
        if self.b is not None:
            out += self.b
        _activate(out, self.activation, self.work)
        return out.reshape(*x.shape[:-1], self.wt.shape[1]), True


# Up to this batch size a convolution's bookkeeping (allocations, padding,
# passes over the output) costs about as much as its arithmetic, so ConvStep
# tries its buffered convolution; beyond it, buffers for every batch shape
# would cost memory for little gain.
BUFFERED_MAX_BATCH = 8


class ConvStep(Step):
    """A convolution (folded BatchNorm already in its weights), activation in place.

    On the first call for an input shape of at most `BUFFERED_MAX_BATCH`
    examples it times its own buffered convolution (every way of filling the
    columns) against the autotuner's best stateless formulation and keeps
    whichever was fastest for that shape; bigger batches use the autotuner.
    """

    def __init__(
        self,
        conv: Conv2d,
        autotuner: ConvAutotuner,
        activation: str | None = None,
        scratch: Scratch | None = None,
    ) -> None:
        pads = resolve_padding(conv.padding, conv.kernel_size, conv.stride, conv.dilation)
        if pads[0] != pads[1] or pads[2] != pads[3]:
            raise NotImplementedError("asymmetric padding")
        self.w = conv.weight.data.copy()
        self.b = None if conv.bias is None else conv.bias.data.copy()
        self.stride, self.dilation, self.groups = conv.stride, conv.dilation, conv.groups
        self.padding = (pads[0], pads[2])
        self.autotuner = autotuner
        self.activation = activation
        self.work: list[Array] = []
        self._fast: dict[tuple[int, ...], Callable[[Array], Array]] = {}
        self.buffered = (
            BufferedConv2d(
                self.w,
                self.b,
                pair(self.stride),
                self.padding,
                pair(self.dilation),
                activation=_in_place(activation, self.work),
                scratch=scratch,
            )
            if self.groups == 1
            else None
        )
        self.name = f"Conv2d{tuple(self.w.shape)}" + (f" + {activation}" if activation else "")

    def _stateless(self, x: Array) -> Array:
        out = self.autotuner(
            x, self.w, self.b, self.stride, self.padding, self.dilation, self.groups
        )
        _activate(out, self.activation, self.work)
        return out

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        fast = self._fast.get(x.shape)
        if fast is None:
            fast = self._fast[x.shape] = self._choose(x)
        return fast(x), True

    def _choose(self, x: Array) -> Callable[[Array], Array]:
        if self.buffered is None or x.shape[0] > BUFFERED_MAX_BATCH:
            return self._stateless
        method = self.buffered.choose(x, {"autotuned": self._stateless})
        return self._stateless if method == "autotuned" else self.buffered.runner(x, method)


class ActivationStep(Step):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = kind
        self.work: list[Array] = []

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        y = x if owned else x.copy()
        _activate(y, self.kind, self.work)
        return y, True


class ChannelAffineStep(Step):
    """An eval-mode BatchNorm that had no layer to fold into: x * scale + shift per channel."""

    def __init__(self, bn: BatchNorm1d | BatchNorm2d) -> None:
        assert bn.running_mean is not None and bn.running_var is not None
        var = bn.running_var.data.astype(np.float64)
        gamma = 1.0 if bn.weight is None else bn.weight.data.astype(np.float64)
        beta = 0.0 if bn.bias is None else bn.bias.data.astype(np.float64)
        scale = gamma / np.sqrt(var + bn.eps)
        shift = beta - bn.running_mean.data.astype(np.float64) * scale
        self.scale = scale.astype(bn.running_mean.data.dtype)
        self.shift = shift.astype(bn.running_mean.data.dtype)
        self.name = f"{type(bn).__name__} (affine)"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = x if owned else x.copy()
        y *= self.scale.reshape(shape)
        y += self.shift.reshape(shape)
        return y, True


class LayerNormStep(Step):
    def __init__(self, ln: LayerNorm) -> None:
        self.ndim = len(ln.normalized_shape)
        self.w = None if ln.weight is None else ln.weight.data.copy()
        self.b = None if ln.bias is None else ln.bias.data.copy()
        self.eps = ln.eps
        self.name = f"LayerNorm{ln.normalized_shape} (fused)"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        out = layer_norm_inference(x, self.ndim, self.w, self.b, self.eps, x if owned else None)
        return out, True


class MaxPoolStep(Step):
    """Max over windows as elementwise maxima of strided slices, into reused buffers.

    A reduction over two small inner axes (`windows.max(axis=(4, 5))`) is slow in
    NumPy and its speed depends on the input's memory layout; `np.maximum` of
    strided slices streams through memory the same way for any layout. The
    window is separable: first the maximum over the kernel's rows (kh slices of
    whole rows), then over its columns (kw slices), kh + kw passes, not kh * kw.
    """

    def __init__(self, pool: MaxPool2d, relu: bool = False) -> None:
        self.k = pair(pool.kernel_size)
        self.s = pair(pool.stride)
        self.relu = relu
        self.buffers = _Buffers()
        self._source: Array | None = None
        self._shape: tuple[int, ...] = ()
        self._strides: tuple[int, ...] = ()
        self._views: tuple[list[Array], Array, list[Array], Array]
        self.name = f"MaxPool2d{self.k}" + (" + relu" if relu else "")

    def _buffer(self, x: Array, shape: tuple[int, ...], order: tuple[int, ...]) -> Array:
        buf = self.buffers.get(
            (x.shape, x.dtype, order, shape), tuple(shape[a] for a in order), x.dtype
        )
        return buf.transpose(np.argsort(order))

    def _prepare(self, x: Array) -> tuple[list[Array], Array, list[Array], Array]:
        """The row slices of `x`, the row buffer, its column slices, and the output."""
        (kh, kw), (sh, sw) = self.k, self.s
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        # Keep the input's memory layout (convolutions may return a channel-major
        # array viewed as NCHW; the next convolution reads that without a copy).
        order = tuple(int(a) for a in np.argsort([-st for st in x.strides], kind="stable"))
        rows = self._buffer(x, (n, c, oh, w), order)
        out = self._buffer(x, (n, c, oh, ow), order)
        row_tiles = [x[:, :, i : i + sh * (oh - 1) + 1 : sh, :] for i in range(kh)]
        col_tiles = [rows[:, :, :, j : j + sw * (ow - 1) + 1 : sw] for j in range(kw)]
        return row_tiles, rows, col_tiles, out

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        # A step before that returns the same buffer view on every call (a buffered
        # convolution does) lets the slices be made once and reused.
        if x is not self._source or x.strides != self._strides or x.shape != self._shape:
            self._views = self._prepare(x)
            self._source, self._shape, self._strides = x, x.shape, x.strides
        row_tiles, rows, col_tiles, out = self._views
        _max_into(rows, row_tiles)
        _max_into(out, col_tiles)
        if self.relu:
            relu_(out)
        return out, True


def _max_into(out: Array, tiles: list[Array]) -> None:
    """The elementwise maximum of `tiles` into `out`: one ufunc call per tile after the first."""
    if len(tiles) == 1:
        np.copyto(out, tiles[0])
        return
    np.maximum(tiles[0], tiles[1], out=out)
    for tile in tiles[2:]:
        np.maximum(out, tile, out=out)


class GlobalAvgPoolStep(Step):
    name = "AdaptiveAvgPool2d(1)"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        # np.add.reduce and a scale, not x.mean: mean's Python wrapper costs more
        # than the arithmetic on a 4x4 map
        out = np.add.reduce(x, axis=(2, 3), keepdims=True)
        out *= x.dtype.type(1.0 / (x.shape[2] * x.shape[3]))
        return out, True


class PooledLinearStep(Step):
    """Global average pooling, flatten and a Linear as one matmul.

    Averaging is linear, so it folds into the Linear's weights: each input
    feature's weight row repeated for the h*w positions it averages, divided by
    h*w. At batch 1 the three NumPy steps cost more than the arithmetic; this
    is one matmul over the (N, C*h*w) input. The expanded weights are made once
    per map size (up to `MAX_EXPANDED` elements; beyond that, pool then matmul).
    """

    MAX_EXPANDED = 1 << 18

    def __init__(self, linear: LinearStep) -> None:
        self.linear = linear
        self.pool = GlobalAvgPoolStep()  # for maps too big to expand
        self.expanded: dict[tuple[int, int], Array] = {}
        self.buffers = _Buffers()
        self.name = f"AdaptiveAvgPool2d(1) + Flatten + {linear.name}"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        n, c, h, w = x.shape
        lin = self.linear
        if c * h * w * lin.wt.shape[1] > self.MAX_EXPANDED:
            pooled, _ = self.pool.run(x, owned)
            return lin.run(pooled.reshape(n, c), True)
        wt = self.expanded.get((h, w))
        if wt is None:
            rows = np.repeat(lin.wt, h * w, axis=0) * (1.0 / (h * w))
            wt = self.expanded[(h, w)] = rows.astype(lin.wt.dtype)
        out = self.buffers.get((x.shape, x.dtype), (n, wt.shape[1]), np.result_type(x, wt))
        np.matmul(x.reshape(n, c * h * w), wt, out=out)
        if lin.b is not None:
            out += lin.b
        _activate(out, lin.activation, lin.work)
        return out, True


class FlattenStep(Step):
    def __init__(self, start_dim: int, end_dim: int) -> None:
        self.start, self.end = start_dim, end_dim
        self.name = "Flatten"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        s, e = self.start % x.ndim, self.end % x.ndim
        # the size spelled out, not -1: an empty batch has no size to infer it from
        flat = math.prod(x.shape[s : e + 1])
        return x.reshape(*x.shape[:s], flat, *x.shape[e + 1 :]), owned


class ResidualStep(Step):
    """x + body(x): the body never owns x (it is needed for the sum)."""

    def __init__(self, body: list[Step]) -> None:
        self.body = body
        self.name = "Residual[" + ", ".join(s.name for s in body) + "]"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        y, y_owned = run_steps(self.body, x, owned=False)
        if y_owned:
            y += x
            return y, True
        return y + x, True


class ModuleStep(Step):
    """Fallback: run the layer itself under no_grad (correct, not accelerated)."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.name = f"{type(module).__name__} (as is)"

    def run(self, x: Array, owned: bool) -> tuple[Array, bool]:
        with no_grad():
            out = self.module(Tensor(x))
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{type(self.module).__name__} returned {type(out).__name__}; an inference plan "
                "passes one Tensor from layer to layer"
            )
        return np.asarray(out.data), False  # may alias the input or module state


def run_steps(steps: list[Step], x: Array, owned: bool) -> tuple[Array, bool]:
    for step in steps:
        x, owned = step.run(x, owned)
    return x, owned


_ACTIVATIONS: list[tuple[type, Callable[[Any], str]]] = [
    (ReLU, lambda m: "relu"),
    (GELU, lambda m: "gelu_tanh" if m.approximate == "tanh" else "gelu"),
    (Tanh, lambda m: "tanh"),
    (Sigmoid, lambda m: "sigmoid"),
]


def _activation_kind(module: Any) -> str | None:
    for cls, kind in _ACTIVATIONS:
        if isinstance(module, cls):
            return kind(module)
    return None


def _children(model: Any) -> list[Any]:
    """The layers to compile, nested Sequentials flattened (so fusions see across their
    borders), without those that are the identity in evaluation mode (so an activation
    after a folded BatchNorm still fuses into the convolution)."""
    if not isinstance(model, Sequential):
        return [model]
    layers = [m for child in model._modules.values() if child is not None for m in _children(child)]
    return [m for m in layers if not isinstance(m, Identity | Dropout | Dropout2d)]


def _poolable(layer: Any) -> TypeGuard[MaxPool2d]:
    """A max-pooling `MaxPoolStep` runs (no padding, dilation, ceil mode or indices)."""
    return (
        isinstance(layer, MaxPool2d)
        and pair(layer.padding) == (0, 0)
        and pair(layer.dilation) == (1, 1)
        and not layer.ceil_mode
        and not layer.return_indices
    )


def _compile(
    model: Any, tuner: ConvAutotuner, fallbacks: list[str], scratch: Scratch
) -> list[Step]:
    """Steps for the layers of `model` in order, fusing an activation into the layer before
    (the convolutions share `scratch` for their column matrices: they run one at a time)."""
    steps: list[Step] = []
    layers = _children(model)
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        act = _activation_kind(nxt) if nxt is not None else None
        step: Step | None = None
        consumed = 1
        if isinstance(layer, Linear):
            step, consumed = LinearStep(layer, act), 2 if act else 1
        elif isinstance(layer, Conv2d) and layer.padding_mode == "zeros":
            after = layers[i + 2] if i + 2 < len(layers) else None
            # ReLU then max-pooling is max-pooling then ReLU (ReLU is monotone, so it
            # commutes with max), and after the pool there are fewer values (a quarter for 2x2)
            pool = after if act == "relu" and _poolable(after) else None
            try:
                step = ConvStep(layer, tuner, None if pool else act, scratch)
                consumed = 2 if act else 1
            except NotImplementedError:
                step = None
            if step is not None and pool is not None:
                steps.append(step)
                step, consumed = MaxPoolStep(pool, relu=True), 3
        elif _activation_kind(layer) is not None:
            step = ActivationStep(str(_activation_kind(layer)))
        elif isinstance(layer, BatchNorm1d | BatchNorm2d) and layer.running_mean is not None:
            step = ChannelAffineStep(layer)
        elif isinstance(layer, LayerNorm):
            step = LayerNormStep(layer)
        elif _poolable(layer):
            step = MaxPoolStep(layer)
        elif isinstance(layer, AdaptiveAvgPool2d) and layer.output_size in (1, (1, 1)):
            step = GlobalAvgPoolStep()
            flat, linear = layers[i + 1 : i + 3] if i + 3 <= len(layers) else (None, None)
            if (
                isinstance(flat, Flatten)
                and (flat.start_dim, flat.end_dim) in ((1, -1), (1, 3), (-3, -1))
                and isinstance(linear, Linear)
            ):
                after = layers[i + 3] if i + 3 < len(layers) else None
                act = _activation_kind(after) if after is not None else None
                step = PooledLinearStep(LinearStep(linear, act))
                consumed = 4 if act else 3
        elif isinstance(layer, Flatten):
            step = FlattenStep(layer.start_dim, layer.end_dim)
        elif isinstance(layer, Residual):
            step = ResidualStep(_compile(layer.body, tuner, fallbacks, scratch))
        if step is None:
            step = ModuleStep(layer)
            fallbacks.append(type(layer).__name__)
        steps.append(step)
        i += consumed
    return steps


class InferencePlan:
    """A compiled model: call it like the model (evaluation mode, no autograd).

    Its steps share buffers between calls, so one plan serves one call at a
    time: guard it with a lock when threads share it (as `tinytorch serve` does).
    """

    def __init__(self, steps: list[Step], fallbacks: list[str], folded: list[str]) -> None:
        self.steps = steps
        self.fallbacks = fallbacks
        self.folded = folded

    def __call__(self, x: Tensor | Array) -> Tensor:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        out, _ = run_steps(self.steps, arr, owned=False)
        # buffers are reused by the next call, and a non-owned result may alias the input
        return Tensor(out.copy())

    def describe(self) -> str:
        return "\n".join(f"{i:2d}. {s.name}" for i, s in enumerate(self.steps))


def compile_inference(
    model: Module, *, fold_bn: bool = True, autotuner: ConvAutotuner | None = None
) -> InferencePlan:
    """Compile `model` (its eval-mode behaviour) into an `InferencePlan`.

    The model is not modified. Sequential models (nested Sequentials and
    tt-spatial's `Residual` included) get the accelerated steps; any other
    layer runs as itself.
    """
    folded: list[str] = []
    source: Module = model
    if fold_bn:
        source, folded = fold_batchnorm(model)
    else:
        source = copy.deepcopy(model).eval()
    fallbacks: list[str] = []
    steps = _compile(source, autotuner or default_autotuner, fallbacks, Scratch())
    return InferencePlan(steps, fallbacks, folded)
