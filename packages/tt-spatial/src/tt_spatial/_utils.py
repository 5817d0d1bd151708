"""Argument checking and window arithmetic shared by convolution and pooling."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor

Array: TypeAlias = npt.NDArray[Any]
IntPair: TypeAlias = int | tuple[int, int]
Pads: TypeAlias = tuple[int, int, int, int]  # (top, bottom, left, right)


def pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """`3` -> `(3, 3)`; `(2, 3)` stays; anything else is a clear error."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        out = (int(value), int(value))
    elif (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
    ):
        out = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(out) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return out


def check_4d(x: Tensor, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{op}: expected a 4-D input of shape (N, C, H, W), got shape {tuple(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")


def out_size(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int = 1) -> int:
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def is_chwn(a: Array) -> bool:
    """True when a logically NCHW array is stored channels-first, batch-last: (C, H, W, N).

    Convolutions return their output in this layout (see conv.py): it is what
    their matmul produces, and NumPy's elementwise ops and reductions keep it.
    """
    return a.ndim == 4 and bool(a.transpose(1, 2, 3, 0).flags.c_contiguous)


def to_chwn(x: Array) -> Array:
    """The (C, H, W, N) view of a logically NCHW array, copied only if not stored so."""
    return np.ascontiguousarray(x.transpose(1, 2, 3, 0))


def from_chwn(a: Array) -> Array:
    """The logical NCHW view of a (C, H, W, N) array (no copy)."""
    return a.transpose(3, 0, 1, 2)


def spatial(x: Array) -> tuple[Array, bool]:
    """`x` (N, C, H, W) as an (A, H, W, B) array with the spatial axes in the middle.

    CHWN memory gives (C, H, W, N); anything else is viewed as (N*C, H, W, 1)
    (a copy only for exotic strides). Pooling works on this form either way.
    Returns the array and whether it is the CHWN form.
    """
    if is_chwn(x) and not x.flags.c_contiguous:
        return x.transpose(1, 2, 3, 0), True
    n, c, h, w = x.shape
    return x.reshape(n * c, h, w, 1), False


def unspatial(a: Array, chwn: bool, n: int, c: int) -> Array:
    """Inverse of `spatial` for an (A, h, w, B) result: back to logical (N, C, h, w)."""
    if chwn:
        return a.transpose(3, 0, 1, 2)
    return a.reshape(n, c, a.shape[1], a.shape[2])


def pad_hw(a: Array, pads: Pads, value: float = 0.0) -> Array:
    """Pad axes 1 and 2 (the spatial axes of an (A, H, W, B) array); one allocation, one copy."""
    top, bottom, left, right = pads
    if pads == (0, 0, 0, 0):
        return a
    c, h, w, n = a.shape
    out = np.empty((c, h + top + bottom, w + left + right, n), dtype=a.dtype)
    if value == 0.0:
        # zero only the border: the interior is overwritten just below
        out[:, :top] = 0
        out[:, top + h :] = 0
        out[:, top : top + h, :left] = 0
        out[:, top : top + h, left + w :] = 0
    else:
        out.fill(value)
    out[:, top : top + h, left : left + w] = a
    return out


def window_slices(offset: int, dilation: int, stride: int, count: int) -> slice:
    """The input positions that kernel offset `offset` touches for `count` outputs."""
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)
