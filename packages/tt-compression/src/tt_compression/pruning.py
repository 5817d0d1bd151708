"""Unstructured magnitude pruning: zero the smallest weights and keep them zero.

The idea (Han et al., 2015): most weights of a trained network are tiny and
the network barely notices when they become exactly zero. A `Pruner` holds one
boolean mask per weight (True = kept). `prune(amount)` raises the sparsity to
`amount`, either within each layer ("layer" scope: every layer loses the same
fraction) or across the whole model ("global" scope: one magnitude threshold
for all layers, so layers with many redundant weights lose more).

Masks must survive training: an optimizer step moves every weight that has a
gradient, and momentum or Adam would move pruned weights even with a zero
gradient. `attach(optimizer)` therefore zeroes the masked gradients before
each step and re-applies the masks after it. Masks only ever shrink: a pruned
weight stays pruned when the sparsity is raised in stages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tt_layers import Linear, Module, Parameter
from tt_optimizers import Optimizer
from tt_spatial import Conv2d

Scope = Literal["layer", "global"]
BoolArray = npt.NDArray[np.bool_]


def _check_amount(amount: float) -> float:
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 1:
        raise ValueError(f"pruning amount must be a fraction in [0, 1], got {amount!r}")
    return float(amount)


def prunable_weights(
    model: Module, types: tuple[type, ...] = (Linear, Conv2d)
) -> list[tuple[str, Parameter]]:
    """(dotted name, weight) of every layer of `types` (biases are never pruned)."""
    out = []
    for name, m in model.named_modules():
        weight = getattr(m, "weight", None)
        if isinstance(m, types) and isinstance(weight, Parameter):
            out.append((f"{name}.weight" if name else "weight", weight))
    return out


class Pruner:
    """Magnitude pruning masks for a model's Linear and Conv2d weights.

    >>> pruner = Pruner(model, amount=0.9, scope="global")   # 90% of weights are 0
    >>> pruner.attach(optimizer)                             # ...and stay 0 while training
    """

    def __init__(
        self,
        model: Module,
        amount: float = 0.0,
        *,
        scope: Scope = "layer",
        types: tuple[type, ...] = (Linear, Conv2d),
    ) -> None:
        if scope not in ("layer", "global"):
            raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
        self.model = model
        self.scope: Scope = scope
        self.weights = prunable_weights(model, types)
        if not self.weights:
            raise ValueError(f"{type(model).__name__} has no Linear or Conv2d weight to prune")
        self.masks: dict[str, BoolArray] = {
            name: np.ones(w.shape, dtype=bool) for name, w in self.weights
        }
        self._attached: list[Optimizer] = []
        if amount > 0:
            self.prune(amount)

    # ------------------------------------------------------------------ masks
    def prune(self, amount: float) -> None:
        """Raise sparsity to `amount` by zeroing the smallest-magnitude weights."""
        amount = _check_amount(amount)
        # a pruned weight scores -1 so it is always among the first chosen again
        scores = {
            name: np.where(self.masks[name], np.abs(w.data), -1.0).reshape(-1)
            for name, w in self.weights
        }
        if self.scope == "layer":
            for name, score in scores.items():
                self.masks[name] = self._keep(score, amount).reshape(self.masks[name].shape)
        else:
            flat = np.concatenate(list(scores.values()))
            keep = self._keep(flat, amount)
            start = 0
            for name, score in scores.items():
                n = score.size
                self.masks[name] = keep[start : start + n].reshape(self.masks[name].shape)
                start += n
        self.apply()

    @staticmethod
    def _keep(score: npt.NDArray[Any], amount: float) -> BoolArray:
        """True for all but the round(amount * n) lowest scores (ties broken by position)."""
        k = round(amount * score.size)
        keep = np.ones(score.size, dtype=bool)
        if k > 0:
            keep[np.argpartition(score, k - 1, kind="introselect")[:k]] = False
        return keep

    def apply(self) -> None:
        """Zero every masked weight in place (call after anything that changed weights)."""
        for name, w in self.weights:
            w.data[~self.masks[name]] = 0

    def mask_gradients(self) -> None:
        """Zero the gradients of masked weights, so optimizer state never sees them."""
        for name, w in self.weights:
            if w.grad is not None:
                w.grad.data[~self.masks[name]] = 0

    # ------------------------------------------------------------------ training
    def attach(self, optimizer: Optimizer) -> None:
        """Wrap `optimizer.step`: mask gradients before it and re-apply masks after it."""
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"attach expects a tt_optimizers.Optimizer, got {type(optimizer)}")
        if any(o is optimizer for o in self._attached):
            return
        step: Callable[..., Any] = optimizer.step

        def pruned_step(closure: Callable[[], Any] | None = None) -> Any:
            self.mask_gradients()
            loss = step(closure)
            self.apply()
            return loss

        optimizer.step = pruned_step  # type: ignore[method-assign]
        self._attached.append(optimizer)

    def detach(self) -> None:
        """Give every attached optimizer its own `step` back."""
        for optimizer in self._attached:
            del optimizer.step
        self._attached.clear()

    # ------------------------------------------------------------------ reporting
    def layer_sparsity(self) -> dict[str, float]:
        """Fraction of exactly-zero weights per pruned weight tensor."""
        return {name: float(np.mean(w.data == 0)) for name, w in self.weights}

    def sparsity(self) -> float:
        """Fraction of exactly-zero weights over all pruned weight tensors."""
        zeros = sum(int(np.count_nonzero(w.data == 0)) for _, w in self.weights)
        return zeros / sum(w.data.size for _, w in self.weights)

    def __repr__(self) -> str:
        return (
            f"Pruner({len(self.weights)} weights, scope={self.scope!r}, "
            f"sparsity={self.sparsity():.3f})"
        )


def model_sparsity(model: Module | Iterable[tuple[str, Any]]) -> float:
    """Fraction of zeros among all parameters (weights and biases) of `model`."""
    params = model.named_parameters() if isinstance(model, Module) else model
    total = zeros = 0
    for _, p in params:
        total += p.data.size
        zeros += int(np.count_nonzero(p.data == 0))
    if total == 0:
        raise ValueError("model has no parameters")
    return zeros / total
