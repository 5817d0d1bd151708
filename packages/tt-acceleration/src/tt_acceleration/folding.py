"""Fold BatchNorm into the Conv2d or Linear before it, for inference.

In evaluation mode BatchNorm is a fixed per-channel affine map,
`y = (z - mean) / sqrt(var + eps) * gamma + beta`, and when `z = W x + b` comes
straight from a convolution or linear layer the two compose into one layer:

    scale = gamma / sqrt(var + eps)
    W' = W * scale (per output channel),  b' = (b - mean) * scale + beta

The folded model computes the same function (up to float32 rounding) with one
layer fewer: no normalisation pass, no extra activation buffer. The
arithmetic is BatchNorm's own `fold_into` (tt-spatial), done in float64 and
rounded once to the layer's dtype; this module finds the pairs and swaps them.
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


def can_fold(layer: Any, bn: Any) -> bool:
    """Whether `bn` directly after `layer` can be folded into it."""
    if isinstance(layer, Conv2d) and isinstance(bn, BatchNorm2d):
        return bn.running_mean is not None and bn.num_features == layer.out_channels
    if isinstance(layer, Linear) and isinstance(bn, BatchNorm1d):
        return bn.running_mean is not None and bn.num_features == layer.out_features
    return False


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
    w, b = bn.fold_into(conv.weight.data, None if conv.bias is None else conv.bias.data)
    return _with_params(conv, w, b)


def fold_linear_bn(linear: Linear, bn: BatchNorm1d) -> Linear:
    """A new Linear equal to `bn(linear(x))` in eval mode, for (N, C) activations."""
    if not can_fold(linear, bn):
        raise ValueError(f"cannot fold {bn!r} into {linear!r}")
    w, b = bn.fold_into(linear.weight.data, None if linear.bias is None else linear.bias.data)
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
