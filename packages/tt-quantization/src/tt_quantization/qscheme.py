"""The affine map between float32 and small integers: q = clamp(round(x / scale) + zero_point).

Every quantized number in this package is `scale * (q - zero_point)`. A scheme
is *symmetric* when zero_point is 0 (the integer grid is centred on 0.0, which
suits weights), *asymmetric* when the grid is shifted to cover [min, max]
exactly (which suits ReLU outputs that are never negative). Either way 0.0 is
exactly representable, so zero padding and ReLU zeros cost no error.

Parameters are *per tensor* (one scale) or *per channel* (one scale per slice
along `axis`, e.g. per output row of a weight matrix: a row of tiny weights no
longer shares its grid with a row of huge ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Array: TypeAlias = npt.NDArray[Any]
FloatArray: TypeAlias = npt.NDArray[np.float32]
IntArray: TypeAlias = npt.NDArray[np.int32]

MIN_BITS = 2
MAX_BITS = 8  # every quantized value is stored in an int8

# Smallest scale, as PyTorch's observers use: an all-zero tensor is exact with any
# positive scale, and a scale this small never makes int32 arithmetic overflow.
_MIN_SCALE = float(np.finfo(np.float32).eps)


def check_bits(bits: object) -> int:
    """`bits` as an int in [2, 8], else a ValueError naming the value."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise TypeError(f"bit width must be an int, got {type(bits).__name__} {bits!r}")
    if not MIN_BITS <= int(bits) <= MAX_BITS:
        raise ValueError(
            f"bit width must be between {MIN_BITS} and {MAX_BITS} (values are stored as int8), "
            f"got {bits}"
        )
    return int(bits)


def qrange(bits: int, symmetric: bool) -> tuple[int, int]:
    """The integer interval [qmin, qmax] for a signed `bits`-bit code.

    Symmetric schemes drop the most negative code (8 bits: [-127, 127]) so the
    grid is the same on both sides of zero and -w quantizes to -q.
    """
    b = check_bits(bits)
    top = 2 ** (b - 1) - 1
    return (-top if symmetric else -top - 1), top


@dataclass(frozen=True)
class QParams:
    """Scale(s) and zero point(s) of one quantized tensor.

    `scale` is float32 and `zero_point` int32, both 0-d (per tensor) or 1-d with
    one entry per slice along `axis` (per channel).
    """

    scale: FloatArray
    zero_point: IntArray
    bits: int
    symmetric: bool
    axis: int | None = None

    def __post_init__(self) -> None:
        check_bits(self.bits)
        if self.scale.shape != self.zero_point.shape:
            raise ValueError(
                f"scale shape {self.scale.shape} and zero_point shape "
                f"{self.zero_point.shape} differ"
            )
        if (self.axis is None) != (self.scale.ndim == 0):
            raise ValueError(
                f"per-tensor parameters are 0-d and per-channel ones 1-d with an axis; got "
                f"scale shape {self.scale.shape} with axis={self.axis}"
            )
        if not np.all(self.scale > 0):
            raise ValueError(f"scales must be positive, got min {float(np.min(self.scale))}")

    @property
    def qmin(self) -> int:
        return qrange(self.bits, self.symmetric)[0]

    @property
    def qmax(self) -> int:
        return qrange(self.bits, self.symmetric)[1]

    def broadcast(self, ndim: int) -> tuple[Array, Array]:
        """scale and zero_point shaped to broadcast against an `ndim`-d tensor."""
        if self.axis is None:
            return self.scale, self.zero_point
        axis = self.axis % ndim
        shape = [1] * ndim
        shape[axis] = -1
        return self.scale.reshape(shape), self.zero_point.reshape(shape)


def calculate_qparams(
    min_val: Array | float,
    max_val: Array | float,
    bits: int = 8,
    symmetric: bool = False,
    axis: int | None = None,
) -> QParams:
    """The scale and zero point that map [min_val, max_val] onto the integer grid.

    The range is first widened to contain 0.0, so that zero stays exact.
    """
    qmin, qmax = qrange(bits, symmetric)
    lo = np.minimum(np.asarray(min_val, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(max_val, dtype=np.float64), 0.0)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("cannot quantize a range that is not finite (inf or nan seen)")
    if (axis is None) != (lo.ndim == 0):
        raise ValueError(
            f"per-tensor ranges are scalars and per-channel ranges 1-d with an axis; "
            f"got a range of shape {lo.shape} with axis={axis}"
        )
    if symmetric:
        scale = np.maximum(np.maximum(-lo, hi) / qmax, _MIN_SCALE)
        zero_point = np.zeros_like(scale, dtype=np.int32)
    else:
        scale = np.maximum((hi - lo) / (qmax - qmin), _MIN_SCALE)
        zp = np.clip(qmin - np.round(lo / scale), qmin, qmax)
        zero_point = zp.astype(np.int32)
    return QParams(
        np.asarray(scale, dtype=np.float32),
        np.asarray(zero_point, dtype=np.int32),
        bits,
        symmetric,
        axis,
    )


def quantize(x: Array, qparams: QParams) -> npt.NDArray[np.int8]:
    """Round `x` onto the integer grid of `qparams` and store it as int8."""
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise TypeError(f"quantize expects a floating point array, got {arr.dtype}")
    if qparams.axis is not None:
        axis = qparams.axis % max(arr.ndim, 1)
        if arr.ndim == 0 or arr.shape[axis] != qparams.scale.shape[0]:
            raise ValueError(
                f"per-channel parameters for {qparams.scale.shape[0]} channels along axis "
                f"{qparams.axis} do not fit a tensor of shape {arr.shape}"
            )
    if np.isnan(arr).any():
        raise ValueError(f"cannot quantize nan values (tensor of shape {arr.shape})")
    scale, zp = qparams.broadcast(arr.ndim)
    q = np.round(arr.astype(np.float32) / scale) + zp
    return np.clip(q, qparams.qmin, qparams.qmax).astype(np.int8)


def dequantize(q: Array, qparams: QParams) -> FloatArray:
    """float32 values `scale * (q - zero_point)` of an integer tensor."""
    arr = np.asarray(q)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"dequantize expects an integer array, got {arr.dtype}")
    scale, zp = qparams.broadcast(arr.ndim)
    return ((arr.astype(np.int32) - zp) * scale).astype(np.float32)


def fake_quantize_array(x: Array, qparams: QParams) -> FloatArray:
    """quantize then dequantize: the float value the integer model will see."""
    return dequantize(quantize(x, qparams), qparams)
