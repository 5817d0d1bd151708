"""Fold BatchNorm into the Conv2d or Linear before it, for inference.

In evaluation mode BatchNorm is a fixed per-channel affine map,
`y = (z - mean) / sqrt(var + eps) * gamma + beta`, and when `z = W x + b` comes
straight from a convolution or linear layer the two compose into one layer:

    scale = gamma / sqrt(var + eps)
    W' = W * scale (per output channel),  b' = (b - mean) * scale + beta

The folded model computes the same function (up to float32 rounding) with one
layer fewer: no normalisation pass, no extra activation buffer. The
arithmetic is done in float64 and rounded once to the layer's dtype.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, TypeVar

import numpy as np
from tt_layers import Identity, Linear, Module, Parameter, Sequential
from tt_spatial import BatchNorm1d, BatchNorm2d, Conv2d

L = TypeVar("L", Conv2d, Linear)
M = TypeVar("M", bound=Module)


def _bn_affine(bn: BatchNorm1d | BatchNorm2d) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(scale, shift) of an eval-mode BatchNorm as float64 arrays."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(
            f"{type(bn).__name__}({bn.num_features}) has no running statistics "
            "(track_running_stats=False): it normalises with batch statistics and cannot be folded"
        )
    mean = bn.running_mean.data.astype(np.float64)
    var = bn.running_var.data.astype(np.float64)
    gamma = np.ones_like(mean) if bn.weight is None else bn.weight.data.astype(np.float64)
    beta = np.zeros_like(mean) if bn.bias is None else bn.bias.data.astype(np.float64)
    scale = gamma / np.sqrt(var + bn.eps)
    return scale, beta - mean * scale


def can_fold(layer: Any, bn: Any) -> bool:
    """Whether `bn` directly after `layer` can be folded into it."""
    if isinstance(layer, Conv2d) and isinstance(bn, BatchNorm2d):
        return bn.running_mean is not None and bn.num_features == layer.out_channels
    if isinstance(layer, Linear) and isinstance(bn, BatchNorm1d):
        return bn.running_mean is not None and bn.num_features == layer.out_features
    return False


def _folded_params(
    weight: np.ndarray[Any, Any], bias: np.ndarray[Any, Any] | None, bn: BatchNorm1d | BatchNorm2d
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    scale, shift = _bn_affine(bn)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    w = weight.astype(np.float64) * scale.reshape(shape)
    b = shift if bias is None else bias.astype(np.float64) * scale + shift
    return w.astype(weight.dtype), b.astype(weight.dtype)


def _with_params(layer: L, w: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> L:
    """A deep copy of `layer` holding `w` and `b` (parameter order kept: weight, then bias)."""
    new = copy.deepcopy(layer)
    assert new.weight is not None
    new.weight.data = w
    if new.bias is None:
        new.register_parameter("bias", Parameter(b))
    else:
        new.bias.data = b
    return new.eval()


def fold_conv_bn(conv: Conv2d, bn: BatchNorm2d) -> Conv2d:
    """A new Conv2d equal to `bn(conv(x))` in eval mode (always with a bias)."""
    if not can_fold(conv, bn):
        raise ValueError(f"cannot fold {bn!r} into {conv!r}")
    w, b = _folded_params(conv.weight.data, None if conv.bias is None else conv.bias.data, bn)
    return _with_params(conv, w, b)


def fold_linear_bn(linear: Linear, bn: BatchNorm1d) -> Linear:
    """A new Linear equal to `bn(linear(x))` in eval mode, for (N, C) activations."""
    if not can_fold(linear, bn):
        raise ValueError(f"cannot fold {bn!r} into {linear!r}")
    bias = None if linear.bias is None else linear.bias.data
    w, b = _folded_params(linear.weight.data, bias, bn)
    return _with_params(linear, w, b)


def replace_child(parent: Module, name: str, child: Any) -> None:
    """Swap the child registered under `name`; it keeps its place among the children
    (the order a Sequential runs its steps in)."""
    if name not in parent._modules:
        raise KeyError(f"{type(parent).__name__} has no child {name!r}")
    setattr(parent, name, child)


def fold_batchnorm(model: M) -> tuple[M, list[str]]:
    """An eval-mode copy of `model` with every foldable BatchNorm folded away.

    Pairs are found inside every `Sequential` (at any depth): a Conv2d followed
    by a BatchNorm2d, or a Linear followed by a BatchNorm1d. The BatchNorm's
    slot becomes an `Identity`, so child names and indices stay as they were.
    Returns the new model and the dotted names of the folded BatchNorms; the
    original model is not modified.
    """
    folded_model = copy.deepcopy(model).eval()
    folded: list[str] = []
    for prefix, mod in list(folded_model.named_modules()):
        if not isinstance(mod, Sequential):
            continue
        names = [n for n, c in mod._modules.items() if c is not None]
        for first, second in itertools.pairwise(names):
            layer, bn = mod._modules[first], mod._modules[second]
            if not can_fold(layer, bn):
                continue
            if isinstance(layer, Conv2d) and isinstance(bn, BatchNorm2d):
                replace_child(mod, first, fold_conv_bn(layer, bn))
            elif isinstance(layer, Linear) and isinstance(bn, BatchNorm1d):
                replace_child(mod, first, fold_linear_bn(layer, bn))
            replace_child(mod, second, Identity())
            folded.append(f"{prefix}.{second}" if prefix else second)
    return folded_model, folded
