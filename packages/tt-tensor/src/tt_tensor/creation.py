"""Creation functions and the global random generator (`manual_seed`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import DType, Tensor


class _RNG:
    __slots__ = ("gen",)

    def __init__(self) -> None:
        self.gen = np.random.default_rng()


_rng = _RNG()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random draw TinyTorch makes (initialisation, dropout, shuffling)."""
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _rng.gen = np.random.default_rng(int(seed))
    return _rng.gen


def generator() -> np.random.Generator:
    """The global NumPy generator behind `randn`, `rand`, init and dropout."""
    return _rng.gen


def get_rng_state() -> dict[str, Any]:
    """A JSON-friendly snapshot of the global generator (for checkpoints)."""
    return dict(_rng.gen.bit_generator.state)


def set_rng_state(state: dict[str, Any]) -> None:
    bit = np.random.PCG64()
    bit.state = state  # type: ignore[assignment]
    _rng.gen = np.random.Generator(bit)


def _shape(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], int | np.integer):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


def tensor(data: Any, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Build a tensor that owns a copy of `data` (floats default to float32)."""
    if isinstance(data, Tensor):
        data = data.data
    arr = np.array(data, copy=True) if isinstance(data, np.ndarray) else data
    return Tensor(arr, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray[Any, Any]) -> Tensor:
    """Share `array`'s memory, keeping its dtype."""
    return Tensor(array)


def zeros(*size: Any, dtype: DType = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size: Any, dtype: DType = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def empty(*size: Any, dtype: DType = np.float32) -> Tensor:
    return Tensor(np.empty(_shape(size), dtype=dtype))


def full(size: Any, fill_value: float, *, dtype: DType | None = None) -> Tensor:
    if dtype is None:
        dtype = np.float32 if isinstance(fill_value, float) else np.int64
    return Tensor(np.full(_shape((size,)), fill_value, dtype=dtype))


def zeros_like(t: Tensor, *, dtype: DType | None = None) -> Tensor:
    return Tensor(np.zeros(t.shape, dtype=dtype or t.dtype))


def ones_like(t: Tensor, *, dtype: DType | None = None) -> Tensor:
    return Tensor(np.ones(t.shape, dtype=dtype or t.dtype))


def randn(*size: Any, dtype: DType = np.float32, requires_grad: bool = False) -> Tensor:
    data = _rng.gen.standard_normal(_shape(size), dtype=np.float64).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*size: Any, dtype: DType = np.float32, requires_grad: bool = False) -> Tensor:
    data = _rng.gen.random(_shape(size)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def randint(low: int, high: int, size: tuple[int, ...]) -> Tensor:
    return Tensor(_rng.gen.integers(low, high, size=size, dtype=np.int64))


def randperm(n: int) -> Tensor:
    return Tensor(_rng.gen.permutation(n).astype(np.int64))


def arange(
    start: float, end: float | None = None, step: float = 1, *, dtype: DType | None = None
) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = np.int64 if is_int else np.float32
    return Tensor(np.arange(start, end, step, dtype=dtype))


def linspace(start: float, end: float, steps: int, *, dtype: DType = np.float32) -> Tensor:
    return Tensor(np.linspace(start, end, steps, dtype=dtype))


def eye(n: int, m: int | None = None, *, dtype: DType = np.float32) -> Tensor:
    return Tensor(np.eye(n, m, dtype=dtype))
