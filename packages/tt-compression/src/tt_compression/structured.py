"""Structured channel pruning: remove whole neurons / filters so layers really shrink.

Zeroing single weights (unstructured pruning) saves storage but not time: a
dense matmul multiplies zeros as fast as anything else. Removing a whole
output channel of a layer makes its weight matrix smaller, and the next layer
loses the matching input channel too, so both matmuls shrink.

For each Linear or Conv2d of a (possibly nested) `Sequential`, except the
last one (its outputs are the model's outputs), the channels with the least
importance are removed, with their neighbours:

- Linear out-features (rows of W, entries of b) and the next Linear's
  in-features (columns);
- Conv2d out-channels, the following BatchNorm's weight, bias, running_mean
  and running_var, and the next Conv2d's in-channels, or, after a Flatten,
  the next Linear's in-features block of H*W columns per channel.

Importance is the L1 norm of a channel's weights (Li et al., 2017), or the
|gamma| of the BatchNorm that follows it (network slimming, Liu et al., 2017):
after BatchNorm the filter norm no longer says how large the channel's output is.
Between a layer and its consumer only channel-wise operations may sit
(elementwise activations, pooling, dropout, BatchNorm, Flatten); anything else
stops pruning that layer, because removing a channel would change what it
computes.

A residual block `x + body(x)` ties channels together: the layer that makes
`x`, the body's last layer (its output is added to `x` channel by channel)
and every layer that reads the sum must keep the same channels. By default
such a layer keeps its width. With `through_residuals=True` the whole tied
group is pruned at once: the channels kept are those with the largest summed
importance over every producer in the group (each producer's scores
normalised to mean 1), and the body's first layer and the consumer after
the block lose the same input channels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, TypeVar

import numpy as np
from tt_layers import Dropout, Flatten, Identity, Linear, Module, Parameter, Sequential
from tt_spatial import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout2d,
    MaxPool2d,
    Residual,
)
from tt_tensor import Tensor

M = TypeVar("M", bound=Module)
Criterion = Literal["auto", "l1", "bn"]

# Elementwise activations (tt-activations' classes, matched by name so this
# module does not need to depend on that package): applying them per channel
# commutes with removing channels.
ELEMENTWISE = frozenset(
    {
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "Sigmoid",
        "Tanh",
        "GELU",
        "SiLU",
        "ELU",
        "Softplus",
        "Hardtanh",
        "Mish",
    }
)
_CHANNELWISE = (Dropout, Dropout2d, Identity, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d)
_BATCHNORM = (BatchNorm1d, BatchNorm2d)


@dataclass(frozen=True)
class ChannelPruning:
    """What `prune_channels` removed from one layer."""

    name: str
    channels_before: int
    channels_after: int


def _is_chain(m: Any) -> TypeGuard[Sequential]:
    """A Sequential (or subclass such as ConvBNReLU) that runs its children in order."""
    return isinstance(m, Sequential) and type(m).forward is Sequential.forward


def _leaves(model: Module, prefix: str = "") -> list[tuple[str, Any]]:
    """The steps of nested Sequentials in execution order."""
    out: list[tuple[str, Any]] = []
    for name, child in model.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if _is_chain(child):
            out.extend(_leaves(child, full))
        else:
            out.append((full, child))
    return out


def _inner_chains(module: Any, prefix: str) -> list[tuple[str, Module]]:
    """Maximal Sequentials inside a non-Sequential module (e.g. a residual block's body)."""
    found: list[tuple[str, Module]] = []
    if not isinstance(module, Module):
        return found
    for name, child in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if _is_chain(child):
            found.append((full, child))
        else:
            found.extend(_inner_chains(child, full))
    return found


def _importance(layer: Linear | Conv2d, bn: Any, criterion: Criterion) -> np.ndarray[Any, Any]:
    """One score per output channel: |gamma| of the next BatchNorm, else the filter's L1 norm."""
    use_bn = criterion == "bn" or (criterion == "auto" and bn is not None)
    if use_bn and (bn is None or bn.weight is None):
        raise ValueError("criterion 'bn' needs an affine BatchNorm after the layer")
    w = bn.weight.data if use_bn else layer.weight.data
    score: np.ndarray[Any, Any] = np.abs(w.reshape(w.shape[0], -1).astype(np.float64)).sum(1)
    return score


def _take(t: Tensor, idx: np.ndarray[Any, Any], axis: int) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.ascontiguousarray(np.take(t.data, idx, axis=axis))
    return out


def _shrink_outputs(layer: Linear | Conv2d, idx: np.ndarray[Any, Any]) -> None:
    layer.weight = Parameter(_take(layer.weight, idx, 0))
    if layer.bias is not None:
        layer.bias = Parameter(_take(layer.bias, idx, 0))
    if isinstance(layer, Linear):
        layer.out_features = int(idx.size)
    else:
        layer.out_channels = int(idx.size)


def _shrink_batchnorm(bn: Any, idx: np.ndarray[Any, Any]) -> None:
    if bn.weight is not None:
        bn.weight = Parameter(_take(bn.weight, idx, 0))
        bn.bias = Parameter(_take(bn.bias, idx, 0))
    for name in ("running_mean", "running_var"):
        buf = getattr(bn, name, None)
        if buf is not None:
            setattr(bn, name, Tensor(_take(buf, idx, 0)))
    bn.num_features = int(idx.size)


def _shrink_inputs(layer: Linear | Conv2d, idx: np.ndarray[Any, Any], channels: int) -> None:
    if isinstance(layer, Conv2d):
        layer.weight = Parameter(_take(layer.weight, idx, 1))
        layer.in_channels = int(idx.size)
        return
    per_channel = layer.in_features // channels  # H*W after a Flatten, 1 otherwise
    cols = (idx[:, None] * per_channel + np.arange(per_channel)[None, :]).reshape(-1)
    layer.weight = Parameter(_take(layer.weight, cols, 1))
    layer.in_features = int(cols.size)


def _consumer(
    steps: list[tuple[str, Any]], start: int, channels: int
) -> tuple[list[Any], Linear | Conv2d | None]:
    """BatchNorms between steps[start] and the next Linear/Conv2d, and that layer.

    Returns (bns, None) when something in between would not commute with
    removing channels, or the next layer cannot take fewer input channels.
    """
    bns: list[Any] = []
    flattened = False
    for _, step in steps[start + 1 :]:
        if isinstance(step, Conv2d):
            ok = not flattened and step.groups == 1 and step.in_channels == channels
            return bns, (step if ok else None)
        if isinstance(step, Linear):
            ok = step.in_features % channels == 0 and (flattened or step.in_features == channels)
            return bns, (step if ok else None)
        if isinstance(step, _BATCHNORM):
            if step.num_features != channels or flattened:
                return bns, None
            bns.append(step)
        elif isinstance(step, Flatten):
            if step.start_dim != 1 or flattened:
                return bns, None
            flattened = True
        elif isinstance(step, _CHANNELWISE) or type(step).__name__ in ELEMENTWISE:
            continue
        else:
            return bns, None
    return bns, None


@dataclass
class _Group:
    """Channels tied by residual additions: who makes them, their BatchNorms, who reads them."""

    producers: list[tuple[str, Linear | Conv2d, list[Any]]]
    loose_bns: list[Any]
    consumers: list[Linear | Conv2d]


def _residual_group(steps: list[tuple[str, Any]], start: int, channels: int) -> _Group | None:
    """Follow steps[start]'s output through residual blocks to its real consumer.

    None when anything on the way is not channel-wise, a body does not start
    and end with a prunable layer of matching width, or no consumer is found.
    """
    name, layer = steps[start]
    group = _Group([(name, layer, [])], [], [])
    pos = start
    while True:
        bns, nxt, stop = _follow(steps, pos, channels)
        (group.producers[0][2] if pos == start else group.loose_bns).extend(bns)
        if nxt is not None:
            group.consumers.append(nxt)
            return group
        if stop is None:
            return None
        block_name, block = steps[stop]
        body = _leaves(block.body, f"{block_name}.body") if _is_chain(block.body) else []
        layers = [(j, s) for j, s in enumerate(body) if isinstance(s[1], Linear | Conv2d)]
        if not layers:
            return None
        (first_at, (_, first)), (last_at, (last_name, last)) = layers[0], layers[-1]
        if not all(_channelwise(s) for _, s in body[:first_at]):
            return None
        if isinstance(first, Conv2d) and (first.groups != 1 or first.in_channels != channels):
            return None
        if isinstance(first, Linear) and first.in_features != channels:
            return None
        if last.weight.shape[0] != channels or (isinstance(last, Conv2d) and last.groups != 1):
            return None
        tail_bns: list[Any] = []
        for _, s in body[last_at + 1 :]:
            if isinstance(s, _BATCHNORM) and s.num_features == channels:
                tail_bns.append(s)
            elif not _channelwise(s):
                return None
        group.consumers.append(first)
        group.producers.append((last_name, last, tail_bns))
        pos = stop


def _channelwise(step: Any) -> bool:
    return isinstance(step, _CHANNELWISE) or type(step).__name__ in ELEMENTWISE


def _follow(
    steps: list[tuple[str, Any]], start: int, channels: int
) -> tuple[list[Any], Linear | Conv2d | None, int | None]:
    """`_consumer`, but also reporting where a residual block stopped the search."""
    bns, nxt = _consumer(steps, start, channels)
    if nxt is not None:
        return bns, nxt, None
    for j in range(start + 1, len(steps)):
        step = steps[j][1]
        if isinstance(step, Residual):
            return bns, None, j
        if isinstance(step, _BATCHNORM) or _channelwise(step):
            continue
        break
    return bns, None, None


def _prune_group(
    name: str,
    group: _Group,
    channels: int,
    amount: float,
    criterion: Criterion,
    min_channels: int,
    report: list[ChannelPruning],
) -> None:
    keep = max(min_channels, channels - round(amount * channels))
    if keep >= channels:
        return
    score = np.zeros(channels)
    for _, layer, bns in group.producers:
        s = _importance(layer, bns[0] if bns else None, criterion)
        score += s / max(float(s.mean()), 1e-12)
    idx = np.sort(np.argsort(-score, kind="stable")[:keep])
    for layer_name, layer, bns in group.producers:
        _shrink_outputs(layer, idx)
        for bn in bns:
            _shrink_batchnorm(bn, idx)
        report.append(ChannelPruning(layer_name, channels, keep))
    for bn in group.loose_bns:
        _shrink_batchnorm(bn, idx)
    for consumer in group.consumers:
        _shrink_inputs(consumer, idx, channels)


def prune_channels(
    model: M,
    amount: float,
    *,
    criterion: Criterion = "auto",
    min_channels: int = 1,
    inplace: bool = False,
    through_residuals: bool = False,
) -> tuple[M, list[ChannelPruning]]:
    """Remove `amount` (a fraction) of the output channels of every prunable layer.

    Only layers inside `Sequential` chains are touched (the order of the layers
    must be known); chains inside other modules, such as a residual block's
    body, are pruned on their own. `through_residuals` also prunes the channels
    a residual addition ties together (see the module's docstring). Returns the
    smaller model and what was removed per layer.
    """
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount < 1:
        raise ValueError(f"amount must be a fraction in [0, 1), got {amount!r}")
    if criterion not in ("auto", "l1", "bn"):
        raise ValueError(f"criterion must be 'auto', 'l1' or 'bn', got {criterion!r}")
    if not isinstance(model, Module):
        raise TypeError(f"prune_channels expects a tt_layers.Module, got {type(model).__name__}")
    root = model if inplace else copy.deepcopy(model)
    report: list[ChannelPruning] = []
    chains = [("", root)] if _is_chain(root) else _inner_chains(root, "")
    for prefix, chain in chains:
        _prune_chain(chain, prefix, amount, criterion, min_channels, report, through_residuals)
    return root, report


def _prune_chain(
    chain: Module,
    prefix: str,
    amount: float,
    criterion: Criterion,
    min_channels: int,
    report: list[ChannelPruning],
    through_residuals: bool = False,
) -> None:
    """Prune inside one chain; its last layer keeps its outputs (they leave the chain)."""
    steps = _leaves(chain, prefix)
    for i, (name, layer) in enumerate(steps):
        if not isinstance(layer, Linear | Conv2d):
            for inner_name, inner in _inner_chains(layer, name):
                _prune_chain(
                    inner, inner_name, amount, criterion, min_channels, report, through_residuals
                )
            continue
        if isinstance(layer, Conv2d) and layer.groups != 1:
            continue
        channels = layer.weight.shape[0]
        bns, nxt = _consumer(steps, i, channels)
        if nxt is None:
            group = _residual_group(steps, i, channels) if through_residuals else None
            if group is not None:
                _prune_group(name, group, channels, amount, criterion, min_channels, report)
            continue
        keep = max(min_channels, channels - round(amount * channels))
        if keep >= channels:
            continue
        score = _importance(layer, bns[0] if bns else None, criterion)
        idx = np.sort(np.argsort(-score, kind="stable")[:keep])
        _shrink_outputs(layer, idx)
        for bn in bns:
            _shrink_batchnorm(bn, idx)
        _shrink_inputs(nxt, idx, channels)
        report.append(ChannelPruning(name, channels, keep))
