"""The derivative of every operation `tt-tensor` records.

A rule receives the node and the gradient of the node's output and returns one
gradient per input (None where no gradient flows). Broadcasting in the forward
pass is undone by `unbroadcast`, which sums over the broadcast dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Array, Grads, Node, Rule

RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum `g` down to `shape`, reversing NumPy broadcasting."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out if out.shape == shape else out.reshape(shape)


def _reshaped(g: Array, shape: tuple[int, ...]) -> Array:
    """`g` itself when it already has `shape` (keeping it a fresh, stealable array)."""
    return g if g.shape == shape else g.reshape(shape)


def _x(node: Node, i: int = 0) -> Array:
    return node.inputs[i].data


def _cast(g: Array, like: Array) -> Array:
    return g if g.dtype == like.dtype else g.astype(like.dtype)


def _wants(node: Node, i: int) -> bool:
    return node.inputs[i].requires_grad


@rule("add")
def _add(node: Node, g: Array) -> Grads:
    a, b = node.inputs
    ga = unbroadcast(g, a.data.shape) if a.requires_grad else None
    gb = unbroadcast(g, b.data.shape) if b.requires_grad else None
    return ga, gb


@rule("sub")
def _sub(node: Node, g: Array) -> Grads:
    a, b = node.inputs
    ga = unbroadcast(g, a.data.shape) if a.requires_grad else None
    gb = unbroadcast(-g, b.data.shape) if b.requires_grad else None
    return ga, gb


@rule("mul")
def _mul(node: Node, g: Array) -> Grads:
    a, b = _x(node, 0), _x(node, 1)
    ga = unbroadcast(g * b, a.shape) if node.inputs[0].requires_grad else None
    gb = unbroadcast(g * a, b.shape) if node.inputs[1].requires_grad else None
    return ga, gb


@rule("div")
def _div(node: Node, g: Array) -> Grads:
    a, b = _x(node, 0), _x(node, 1)
    ga = unbroadcast(g / b, a.shape) if node.inputs[0].requires_grad else None
    gb = unbroadcast(-g * node.saved["out"] / b, b.shape) if node.inputs[1].requires_grad else None
    return ga, gb


@rule("neg")
def _neg(node: Node, g: Array) -> Grads:
    return (-g,)


@rule("pow")
def _pow(node: Node, g: Array) -> Grads:
    x, p = _x(node), node.saved["exponent"]
    if p == 0:
        return (np.zeros_like(x),)
    return (_cast(g * p * np.power(x, x.dtype.type(p - 1)), x),)


@rule("pow_tensor")
def _pow_tensor(node: Node, g: Array) -> Grads:
    a, b, out = _x(node, 0), _x(node, 1), node.saved["out"]
    ga = gb = None
    if node.inputs[0].requires_grad:
        ga = unbroadcast(g * b * np.power(a, b - 1), a.shape)
    if node.inputs[1].requires_grad:
        safe = np.where(a > 0, a, 1)
        gb = unbroadcast(g * out * np.log(safe), b.shape)
    return ga, gb


@rule("exp")
def _exp(node: Node, g: Array) -> Grads:
    return (g * node.saved["out"],)


@rule("log")
def _log(node: Node, g: Array) -> Grads:
    return (_cast(g / _x(node), g),)


@rule("sqrt")
def _sqrt(node: Node, g: Array) -> Grads:
    return (g / (2 * node.saved["out"]),)


@rule("abs")
def _abs(node: Node, g: Array) -> Grads:
    return (g * np.sign(_x(node)),)


@rule("tanh")
def _tanh(node: Node, g: Array) -> Grads:
    out = node.saved["out"]
    return (g * (1 - out * out),)


@rule("sigmoid")
def _sigmoid(node: Node, g: Array) -> Grads:
    out = node.saved["out"]
    return (g * out * (1 - out),)


@rule("relu")
def _relu(node: Node, g: Array) -> Grads:
    return (g * (_x(node) > 0),)


@rule("erf")
def _erf(node: Node, g: Array) -> Grads:
    x = _x(node)
    return (_cast(g * (2 / math.sqrt(math.pi)) * np.exp(-x * x), x),)


@rule("clamp")
def _clamp(node: Node, g: Array) -> Grads:
    x, lo, hi = _x(node), node.saved["min"], node.saved["max"]
    keep = np.ones(x.shape, dtype=bool)
    if lo is not None:
        keep &= x >= lo
    if hi is not None:
        keep &= x <= hi
    return (g * keep,)


@rule("maximum")
@rule("minimum")
def _pick(node: Node, g: Array) -> Grads:
    """maximum/minimum: the gradient goes to the chosen input; ties split it evenly."""
    a, b, out = _x(node, 0), _x(node, 1), node.saved["out"]
    wa = (a == out).astype(g.dtype)
    wb = (b == out).astype(g.dtype)
    both = wa * wb
    wa, wb = wa - 0.5 * both, wb - 0.5 * both
    return unbroadcast(g * wa, a.shape), unbroadcast(g * wb, b.shape)


@rule("matmul")
def _matmul(node: Node, g: Array) -> Grads:
    a, b = _x(node, 0), _x(node, 1)
    # BLAS needs unit strides: copy a broadcast gradient once, not once per product
    g = g if g.flags.c_contiguous else np.ascontiguousarray(g)
    if a.ndim > 2 and b.ndim == 2:  # batch folded into rows: two plain GEMMs
        a2d, g2d = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
        ga = (g2d @ b.T).reshape(a.shape) if _wants(node, 0) else None
        gb = a2d.T @ g2d if _wants(node, 1) else None
        return ga, gb
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a.ndim == 1 and b.ndim == 1:
        g2 = g.reshape(1, 1)
    else:
        g2 = np.expand_dims(g, -2) if a.ndim == 1 else g
        g2 = np.expand_dims(g2, -1) if b.ndim == 1 else g2
    ga = gb = None
    if node.inputs[0].requires_grad:
        ga = _reshaped(unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape), a.shape)
    if node.inputs[1].requires_grad:
        gb = _reshaped(unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape), b.shape)
    return ga, gb


def _expand_reduced(g: Array, node: Node) -> Array:
    """Bring a reduced gradient back to broadcastable shape (undo keepdim=False)."""
    dim, keep = node.saved["dim"], node.saved["keepdim"]
    if dim is not None and not keep:
        g = np.expand_dims(g, dim)
    return g


def _broadcast_view(g: Array, shape: tuple[int, ...]) -> Array:
    """`np.broadcast_to(g, shape)` for a `g` of the same rank, without its Python overhead.

    Reductions hand back a read-only view with zero strides along the reduced
    dimensions: rules never write into gradients, and leaf accumulation makes
    the one copy that is needed.
    """
    if g.ndim != len(shape) or not g.flags.c_contiguous:
        return np.broadcast_to(g, shape)
    strides = tuple(0 if n != m else st for n, m, st in zip(shape, g.shape, g.strides, strict=True))
    view: Array = np.ndarray(shape, g.dtype, g, 0, strides)
    view.flags.writeable = False
    return view


def _reduced_grad(g: Array, node: Node, x: Array) -> Array:
    """The gradient of a reduction, as a view shaped like its input `x`."""
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    if g.size == 1 or (g.size > 1 and not any(g.strides)):
        # one value everywhere (a full reduction such as loss.sum(), or the gradient
        # of one): a view with all strides 0 onto a single element
        one = g if g.size == 1 else g[(0,) * g.ndim]
        view: Array = np.ndarray(x.shape, g.dtype, one, 0, (0,) * x.ndim)
        if view.flags.writeable:  # (a view of the read-only seed of backward() already is not)
            view.flags.writeable = False
        return view
    return _broadcast_view(_expand_reduced(g, node), x.shape)


@rule("sum")
def _sum(node: Node, g: Array) -> Grads:
    return (_reduced_grad(g, node, _x(node)),)


@rule("mean")
def _mean(node: Node, g: Array) -> Grads:
    x = _x(node)
    n = x.size // max(node.saved["out"].size, 1) if x.size else 1
    return (_reduced_grad(g / n, node, x),)


@rule("var")
def _var(node: Node, g: Array) -> Grads:
    x, dim = _x(node), node.saved["dim"]
    n = x.size // max(node.saved["out"].size, 1)
    mean = x.mean(axis=dim, keepdims=True)
    scale = 2.0 / max(n - node.saved["correction"], 1)
    return ((_expand_reduced(g, node) * scale * (x - mean)).astype(x.dtype),)


@rule("amax")
def _amax(node: Node, g: Array) -> Grads:
    """Full or multi-dim max/min: ties share the gradient evenly (as torch.amax)."""
    x, dim = _x(node), node.saved["dim"]
    out = node.saved["out"]
    if dim is not None and not node.saved["keepdim"]:
        out = np.expand_dims(out, dim)
    hit = (x == out).astype(x.dtype)
    hit /= hit.sum(axis=dim, keepdims=True)
    return (hit * _expand_reduced(g, node),)


@rule("max_dim")
def _max_dim(node: Node, g: Array) -> Grads:
    """max/min along one dim: the gradient goes to the returned index."""
    x, d, idx = _x(node), node.saved["dim"], node.saved["indices"]
    if not node.saved["keepdim"]:
        idx, g = np.expand_dims(idx, d), np.expand_dims(g, d)
    out = np.zeros_like(x)
    np.put_along_axis(out, idx, g, axis=d)
    return (out,)


@rule("reshape")
def _reshape(node: Node, g: Array) -> Grads:
    return (g.reshape(_x(node).shape),)


@rule("clone")
def _clone(node: Node, g: Array) -> Grads:
    return (g,)


@rule("to")
def _to(node: Node, g: Array) -> Grads:
    return (g.astype(_x(node).dtype),)


@rule("permute")
def _permute(node: Node, g: Array) -> Grads:
    return (g.transpose(np.argsort(node.saved["axes"])),)


@rule("expand")
def _expand(node: Node, g: Array) -> Grads:
    return (unbroadcast(g, _x(node).shape),)


def _is_basic(key: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) selects each element at most once."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, int | slice | np.integer) for k in items)


@rule("getitem")
def _getitem(node: Node, g: Array) -> Grads:
    x, key = _x(node), node.saved["key"]
    if _is_basic(key):
        out = np.zeros_like(x)
        out[key] = g
        return (out,)
    # Advanced indexing may pick an element twice: scatter-add through bincount
    # over flat positions (vectorized, unlike np.add.at).
    items = key if isinstance(key, tuple) else (key,)
    if len(items) == x.ndim and all(
        isinstance(k, np.ndarray) and k.dtype.kind in "iu" for k in items
    ):  # one integer array per axis: flat positions without building arange(x.size)
        flat = np.ravel_multi_index(np.broadcast_arrays(*items), x.shape, mode="wrap")
    else:
        flat = np.arange(x.size).reshape(x.shape)[key]
    summed = np.bincount(flat.ravel(), weights=g.ravel(), minlength=x.size)
    return (summed.reshape(x.shape).astype(x.dtype, copy=False),)


@rule("where")
def _where(node: Node, g: Array) -> Grads:
    cond = node.saved["condition"]
    a, b = _x(node, 0), _x(node, 1)
    zero = np.zeros((), dtype=g.dtype)
    ga = unbroadcast(np.where(cond, g, zero), a.shape) if node.inputs[0].requires_grad else None
    gb = unbroadcast(np.where(cond, zero, g), b.shape) if node.inputs[1].requires_grad else None
    return ga, gb


@rule("cat")
def _cat(node: Node, g: Array) -> Grads:
    bounds = np.cumsum(node.saved["sizes"])[:-1]
    return tuple(np.split(g, bounds, axis=node.saved["dim"]))
