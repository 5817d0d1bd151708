"""Observers: watch the values a tensor takes during calibration, then pick qparams.

Post-training quantization needs the range of every activation, which only
shows up when real data flows through the model. An observer sits on one
tensor, sees every calibration batch, and turns what it saw into a scale and
zero point:

- `MinMaxObserver` keeps the running min and max (per tensor, or per channel
  along `axis` for weights). Exact coverage, but one outlier stretches the grid.
- `MovingAverageMinMaxObserver` averages batch ranges, which quantization-aware
  training uses because its ranges drift while the weights learn.
- `PercentileObserver` keeps a uniform random sample of the values seen and
  clips the range at a percentile, trading a few clipped outliers for a finer
  grid for everyone else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .qscheme import Array, QParams, calculate_qparams, check_bits


def _as_array(x: Any) -> Array:
    arr = np.asarray(getattr(x, "data", x))
    if arr.dtype.kind != "f":
        raise TypeError(f"observers watch floating point tensors, got {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"cannot observe an empty tensor of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"observed tensor of shape {arr.shape} holds inf or nan values")
    return arr


class Observer:
    """Base class: `observe(x)` during calibration, `calculate_qparams()` afterwards."""

    def __init__(self, bits: int = 8, symmetric: bool = False, axis: int | None = None) -> None:
        self.bits = check_bits(bits)
        self.symmetric = symmetric
        self.axis = axis
        self.batches = 0

    @property
    def calibrated(self) -> bool:
        return self.batches > 0

    def observe(self, x: Any) -> None:
        arr = _as_array(x)
        self._observe(arr)
        self.batches += 1

    def __call__(self, x: Any) -> Any:
        """Observe `x` and hand it back unchanged (so an observer can sit in a forward)."""
        self.observe(x)
        return x

    def _observe(self, arr: Array) -> None:
        raise NotImplementedError

    def _range(self) -> tuple[Array, Array]:
        raise NotImplementedError

    def calculate_qparams(self) -> QParams:
        if not self.calibrated:
            raise RuntimeError(
                f"{type(self).__name__} has seen no data: run calibration batches through the "
                "model before converting it"
            )
        lo, hi = self._range()
        return calculate_qparams(lo, hi, self.bits, self.symmetric, self.axis)

    def _reduce_axes(self, arr: Array) -> tuple[int, ...] | None:
        if self.axis is None:
            return None
        axis = self.axis % arr.ndim if arr.ndim else 0
        if arr.ndim == 0:
            raise ValueError("a per-channel observer needs a tensor with at least one dimension")
        return tuple(d for d in range(arr.ndim) if d != axis)

    def __repr__(self) -> str:
        kind = "symmetric" if self.symmetric else "asymmetric"
        where = "per-tensor" if self.axis is None else f"per-channel(axis={self.axis})"
        return f"{type(self).__name__}(bits={self.bits}, {kind}, {where}, batches={self.batches})"


class MinMaxObserver(Observer):
    """Running minimum and maximum over every observed batch."""

    def __init__(self, bits: int = 8, symmetric: bool = False, axis: int | None = None) -> None:
        super().__init__(bits, symmetric, axis)
        self.min_val: Array | None = None
        self.max_val: Array | None = None

    def _observe(self, arr: Array) -> None:
        axes = self._reduce_axes(arr)
        lo = np.asarray(arr.min(axis=axes), dtype=np.float64)
        hi = np.asarray(arr.max(axis=axes), dtype=np.float64)
        if self.min_val is None or self.max_val is None:
            self.min_val, self.max_val = lo, hi
            return
        if lo.shape != self.min_val.shape:
            raise ValueError(
                f"per-channel observer saw {lo.shape[0] if lo.ndim else 1} channels, "
                f"expected {self.min_val.shape[0] if self.min_val.ndim else 1}"
            )
        self.min_val = np.minimum(self.min_val, lo)
        self.max_val = np.maximum(self.max_val, hi)

    def _range(self) -> tuple[Array, Array]:
        assert self.min_val is not None and self.max_val is not None
        return self.min_val, self.max_val


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving average of each batch's min and max (for QAT)."""

    def __init__(
        self,
        bits: int = 8,
        symmetric: bool = False,
        axis: int | None = None,
        averaging_constant: float = 0.01,
    ) -> None:
        super().__init__(bits, symmetric, axis)
        if not 0.0 < averaging_constant <= 1.0:
            raise ValueError(f"averaging_constant must be in (0, 1], got {averaging_constant}")
        self.averaging_constant = averaging_constant

    def _observe(self, arr: Array) -> None:
        axes = self._reduce_axes(arr)
        lo = np.asarray(arr.min(axis=axes), dtype=np.float64)
        hi = np.asarray(arr.max(axis=axes), dtype=np.float64)
        if self.min_val is None or self.max_val is None:
            self.min_val, self.max_val = lo, hi
            return
        c = self.averaging_constant
        self.min_val = self.min_val + c * (lo - self.min_val)
        self.max_val = self.max_val + c * (hi - self.max_val)


class PercentileObserver(Observer):
    """Clip the range at a percentile of the observed values (per tensor).

    Keeps a uniform random sample of at most `max_samples` values over all
    batches (each value gets a random key; the smallest keys survive), so memory
    stays bounded however long calibration runs.
    """

    def __init__(
        self,
        percentile: float = 99.99,
        bits: int = 8,
        symmetric: bool = False,
        max_samples: int = 1 << 20,
        seed: int = 0,
    ) -> None:
        super().__init__(bits, symmetric, None)
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        if max_samples < 1:
            raise ValueError(f"max_samples must be positive, got {max_samples}")
        self.percentile = float(percentile)
        self.max_samples = int(max_samples)
        self._rng = np.random.default_rng(seed)
        self._values = np.empty(0, dtype=np.float32)
        self._keys = np.empty(0, dtype=np.float64)

    def _observe(self, arr: Array) -> None:
        values = np.concatenate([self._values, arr.reshape(-1).astype(np.float32)])
        keys = np.concatenate([self._keys, self._rng.random(arr.size)])
        if values.size > self.max_samples:
            keep = np.argpartition(keys, self.max_samples - 1)[: self.max_samples]
            values, keys = values[keep], keys[keep]
        self._values, self._keys = values, keys

    def _range(self) -> tuple[Array, Array]:
        v = self._values.astype(np.float64)
        if self.symmetric:
            hi = np.percentile(np.abs(v), self.percentile)
            return np.asarray(-hi), np.asarray(hi)
        lo = np.percentile(v, 100.0 - self.percentile)
        hi = np.percentile(v, self.percentile)
        return np.asarray(lo), np.asarray(hi)
