"""Walking a model and swapping layers in place (shared by PTQ, QAT and loading)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from tt_layers import Module
from tt_tensor import Tensor

M = TypeVar("M", bound=Module)


def clone_model(model: M, inplace: bool) -> M:
    if not isinstance(model, Module):
        raise TypeError(f"expected a tt_layers.Module, got {type(model).__name__}")
    return model if inplace else copy.deepcopy(model)


def find(model: Module, types: tuple[type, ...]) -> list[tuple[str, Any]]:
    """(dotted name, module) of every submodule of one of `types`, parents first."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, types)]


def replace(model: Module, name: str, new: Module) -> Module:
    """Put `new` where `name` was; returns the (possibly new) root."""
    if name == "":
        return new
    parent_name, _, leaf = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    setattr(parent, leaf, new)
    return model


def first_tensor(batch: Any) -> Tensor:
    """The model input of a calibration batch: a Tensor, an array, or (inputs, labels)."""
    if isinstance(batch, tuple | list):
        if not batch:
            raise ValueError("a calibration batch is an empty tuple")
        batch = batch[0]
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, np.ndarray):
        return Tensor(batch)
    raise TypeError(
        f"a calibration batch must be a Tensor, an ndarray or an (inputs, labels) pair, "
        f"got {type(batch).__name__}"
    )


def run_batches(model: Module, batches: Iterable[Any], forward: Callable[[Tensor], Any]) -> int:
    """Feed every batch's input to `forward`; the number of batches seen."""
    seen = 0
    for batch in batches:
        forward(first_tensor(batch))
        seen += 1
    return seen
