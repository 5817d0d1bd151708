"""The milestone models, rebuilt from their saved weights (and a quick MNIST model if none).

Milestone 1986 saves a `Flatten, Linear, ReLU, ..., Linear` MLP and milestone
1998 a `tt_spatial.CifarResNet`, both as plain safetensors state dicts. The
layer widths are read off the weight shapes, so any width the milestones were
run with loads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from tt_activations import ReLU
from tt_autograd import no_grad
from tt_layers import Flatten, Linear, Module, ModuleLike, Sequential
from tt_losses import cross_entropy
from tt_optimizers import Adam
from tt_spatial import CifarResNet
from tt_tensor import Tensor, load_tensors, manual_seed

MNIST_WEIGHTS = os.path.join("runs", "1986_mlp_mnist", "mlp_mnist.safetensors")
CIFAR_WEIGHTS = os.path.join("runs", "1998_cnn_cifar10", "cnn_cifar10.safetensors")


def _fit_scalars(model: Module, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Give 0-d entries (BatchNorm's num_batches_tracked) back their shape: safetensors
    files written by tt_tensor.save_tensors store them as shape (1,)."""
    own = model.state_dict()
    out = dict(state)
    for key, value in state.items():
        target = own.get(key)
        if target is not None and target.ndim == 0 and tuple(value.shape) == (1,):
            out[key] = value.reshape(())
    return out


def build_mlp(hidden: Sequence[int], inputs: int = 28 * 28, classes: int = 10) -> Sequential:
    """Flatten, then Linear+ReLU per hidden width, then Linear: milestone 1986's layout."""
    layers: list[Module | ModuleLike] = [Flatten()]
    width = inputs
    for h in hidden:
        layers += [Linear(width, h), ReLU()]
        width = h
    layers.append(Linear(width, classes))
    return Sequential(*layers)


def mlp_from_state(state: Mapping[str, Tensor]) -> Sequential:
    """An MLP shaped like the weights in `state` (keys `1.weight`, `3.weight`, ...), loaded."""
    indices = sorted(
        int(m.group(1)) for k in state if (m := re.fullmatch(r"(\d+)\.weight", k)) is not None
    )
    if not indices:
        raise ValueError("not an MLP state dict: no '<index>.weight' keys")
    shapes = [tuple(state[f"{i}.weight"].shape) for i in indices]
    if any(len(s) != 2 for s in shapes):
        raise ValueError(f"not an MLP state dict: weight shapes {shapes}")
    hidden = [s[0] for s in shapes[:-1]]
    model = build_mlp(hidden, inputs=shapes[0][1], classes=shapes[-1][0])
    model.load_state_dict(_fit_scalars(model, state))
    return model.eval()


def cifar_resnet_from_state(state: Mapping[str, Tensor]) -> CifarResNet:
    """A `CifarResNet` with the widths and class count of the weights in `state`, loaded."""
    try:
        widths = tuple(int(state[f"{i}.0.weight"].shape[0]) for i in (0, 1, 4, 6))
        in_channels = int(state["0.0.weight"].shape[1])
        classes = int(state["11.weight"].shape[0])
    except KeyError as err:
        raise ValueError(f"not a CifarResNet state dict: missing {err}") from None
    model = CifarResNet(widths, num_classes=classes, in_channels=in_channels)
    model.load_state_dict(_fit_scalars(model, state))
    return model.eval()


def load_mnist_mlp(path: str | os.PathLike[str]) -> Sequential:
    return mlp_from_state(load_tensors(path))


def load_cifar_resnet(path: str | os.PathLike[str]) -> CifarResNet:
    return cifar_resnet_from_state(load_tensors(path))


def train_classifier(
    model: Module,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    *,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Module:
    """A plain Adam + cross-entropy loop (for the quick fallback models)."""
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need as many labels as inputs, got {x.shape[0]} and {y.shape[0]}")
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = Adam(model.parameters(), lr=lr)
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(x.shape[0])
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            idx = order[start : start + batch_size]
            loss = cross_entropy(model(Tensor(x[idx])), Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item()) * idx.size
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: training loss {total / x.shape[0]:.4f}")
    return model.eval()


def accuracy(model: Callable[[Tensor], Tensor], x: np.ndarray[Any, Any], y: Any) -> float:
    """Top-1 accuracy, 1,000 inputs at a time, without recording a graph."""
    correct = 0
    with no_grad():
        for start in range(0, x.shape[0], 1000):
            out = model(Tensor(x[start : start + 1000]))
            correct += int((out.data.argmax(axis=1) == np.asarray(y)[start : start + 1000]).sum())
    return float(correct / x.shape[0])
