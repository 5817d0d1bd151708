"""Batch metrics and the running means the training loop keeps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor

Metric: TypeAlias = Callable[[Any, Any], float]


def _array(x: Any) -> npt.NDArray[Any]:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def is_class_indices(outputs: Any, targets: Any) -> bool:
    """True when `targets` are integer labels for `outputs` scores with a class dimension 1."""
    out, tgt = _array(outputs), _array(targets)
    return tgt.dtype.kind in "iu" and out.ndim == tgt.ndim + 1 and out.ndim >= 2


def accuracy(outputs: Any, targets: Any) -> float:
    """Fraction of samples whose highest score (over dim 1) is the target class."""
    out, tgt = _array(outputs), _array(targets)
    if not is_class_indices(out, tgt):
        raise ValueError(
            f"accuracy needs scores of shape (N, C, ...) and integer class indices of shape "
            f"(N, ...), got {out.shape} {out.dtype} and {tgt.shape} {tgt.dtype}"
        )
    return float(np.mean(out.argmax(axis=1) == tgt))


def binary_accuracy(outputs: Any, targets: Any, threshold: float = 0.5) -> float:
    """Fraction of samples with (output > threshold) == target, for one probability per sample.

    Use `functools.partial(binary_accuracy, threshold=0.0)` when the model outputs logits.
    """
    out, tgt = _array(outputs), _array(targets)
    if out.shape != tgt.shape:
        raise ValueError(f"binary_accuracy needs equal shapes, got {out.shape} and {tgt.shape}")
    return float(np.mean((out > threshold) == (tgt > 0.5)))


def batch_size(targets: Any) -> int:
    t = _array(targets)
    return int(t.shape[0]) if t.ndim else 1


class RunningMeans:
    """Sample-weighted means of the loss and the metrics over an epoch."""

    def __init__(self, metrics: Mapping[str, Metric]) -> None:
        self.metrics = dict(metrics)
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, name: str, value: float, n: int) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + value * n
        self.counts[name] = self.counts.get(name, 0) + n

    def update(self, loss: float, outputs: Any, targets: Any) -> None:
        n = batch_size(targets)
        self.add("loss", loss, n)
        for name, fn in self.metrics.items():
            self.add(name, float(fn(outputs, targets)), n)
        if "accuracy" not in self.metrics and is_class_indices(outputs, targets):
            self.add("accuracy", accuracy(outputs, targets), n)

    def mean(self, name: str) -> float:
        return self.totals[name] / self.counts[name]

    def result(self) -> dict[str, float]:
        return {name: self.mean(name) for name in self.totals}
