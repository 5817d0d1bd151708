"""Folding BatchNorm into the layer before it, the first step of every int8 flow.

In eval mode BatchNorm is a per-channel affine map, so a Conv2d (or Linear)
followed by it is one layer with scaled weights and a shifted bias (the
arithmetic is BatchNorm's own `fold_into`, from tt-spatial).

Folding matters more for quantization than for speed: unfolded, the conv's
int8 output grid is shared by all channels, and BatchNorm then multiplies each
channel's rounding error by 1/sqrt(var), which is large exactly for the quiet
channels that the shared grid resolves worst. Folded, the per-channel weight
scales absorb s and no rounding happens between the conv and the norm.
(PyTorch's quantization flow does the same with `fuse_modules`.)
"""

from __future__ import annotations

import itertools
from typing import TypeVar

from tt_layers import Identity, Linear, Module, Parameter, Sequential
from tt_spatial import BatchNorm1d, BatchNorm2d, Conv2d

from ._graph import clone_model

M = TypeVar("M", bound=Module)


def _chains(module: Module) -> list[Sequential]:
    """Every Sequential inside `module` whose forward runs its children in order."""
    return [
        m
        for _, m in module.named_modules()
        if isinstance(m, Sequential) and type(m).forward is Sequential.forward
    ]


def _fold(layer: Linear | Conv2d, bn: BatchNorm1d | BatchNorm2d) -> None:
    w, b = bn.fold_into(layer.weight.data, None if layer.bias is None else layer.bias.data)
    layer.weight, layer.bias = Parameter(w), Parameter(b)


def fold_batchnorm(model: M, *, inplace: bool = False) -> tuple[M, list[str]]:
    """Fold every BatchNorm that directly follows a Conv2d/Linear in a Sequential.

    The BatchNorm becomes an `Identity`; its running statistics are used, so the
    folded model computes what the original computes in eval mode. Returns the
    model and the names of the folded BatchNorms.
    """
    root = clone_model(model, inplace)
    folded: list[str] = []
    names = {id(m): n for n, m in root.named_modules()}
    for chain in _chains(root):
        children = list(chain.named_children())
        for (_, prev), (key, step) in itertools.pairwise(children):
            if isinstance(prev, Conv2d) and isinstance(step, BatchNorm2d):
                layer: Linear | Conv2d = prev
            elif isinstance(prev, Linear) and isinstance(step, BatchNorm1d):
                layer = prev
            else:
                continue
            if step.num_features != layer.weight.shape[0]:
                continue
            _fold(layer, step)
            setattr(chain, key, Identity())
            prefix = names[id(chain)]
            folded.append(f"{prefix}.{key}" if prefix else key)
    return root, folded
