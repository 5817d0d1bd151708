"""Integer arithmetic of quantized layers: exact int8 x int8 -> int32 products.

An int8 accelerator multiplies 8-bit integers and sums the products in a 32-bit
accumulator. NumPy has no BLAS for integers: its integer matmul is a plain
loop, 25 to 110 times slower than float32 BLAS on the layer shapes of the
milestone models (measured by `tools/bench_quantization.py`). But a float
holds every integer up to 2**24 (float32) or 2**53 (float64) exactly, and a
product of integers summed in any order stays exact as long as every partial
sum stays under that limit. So we bound the partial sums first (max row sum
of |a| times max |b|, a pass over the inputs that costs far less than the
product) and let BLAS do the multiplication in float32 when the bound is
below 2**24, otherwise float64. The result is bit-for-bit the integer
product; `method="int"` computes it the slow way and the tests compare the two.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from .qscheme import Array

IntArray: TypeAlias = npt.NDArray[np.int32]
Method: TypeAlias = Literal["auto", "int", "float32", "float64"]

FLOAT32_EXACT = 2**24
FLOAT64_EXACT = 2**53
INT32_MAX = 2**31 - 1


def _abs_max(x: Array) -> int:
    """max |x| from two reductions, without materialising |x| (cheap on big weights)."""
    return max(abs(int(x.max())), abs(int(x.min())))


def accumulation_bound(a: Array, b: Array) -> int:
    """An upper bound on |every partial sum| of `a @ b` (integers).

    max over rows of sum_k |a_ik|, times max |b|: it bounds every product
    sum in any order. Only `a` (the activations, small) is made absolute;
    for `b` (the weights) two reductions suffice.
    """
    if a.size == 0 or b.size == 0:
        return 0
    wide = a.astype(np.int32) if a.dtype.itemsize < 4 else a.astype(np.int64)
    row_l1 = int(np.abs(wide).sum(axis=-1, dtype=np.int64).max())
    return row_l1 * _abs_max(b)


def choose_method(bound: int) -> Literal["float32", "float64"]:
    return "float32" if bound < FLOAT32_EXACT else "float64"


def exact_matmul(a: Array, b: Array, bound: int, method: Method = "auto") -> Array:
    """`a @ b` for integer-valued arrays of any dtype, exact given `bound` on the partial sums.

    The quantized layers call this with their int8 codes carried in float32
    (the values are the same integers; the carrier saves a conversion) and a
    bound they know from the weights and the quantization grid. The result
    holds the exact integer products, in the dtype of the method used.
    """
    if bound > INT32_MAX:
        raise OverflowError(
            f"sums may reach {bound}, beyond the int32 accumulator (shapes {a.shape} @ {b.shape})"
        )
    if method == "auto":
        method = choose_method(bound)
    if method == "int":
        exact: Array = np.matmul(a.astype(np.int32), b.astype(np.int32))
        return exact
    if method == "float32":
        if bound >= FLOAT32_EXACT:
            raise ValueError(f"float32 is exact only below 2**24, but sums may reach {bound}")
        dtype: Any = np.float32
    elif method == "float64":
        dtype = np.float64
    else:
        raise ValueError(f"unknown matmul method {method!r}: auto, int, float32 or float64")
    out: Array = np.matmul(a.astype(dtype, copy=False), b.astype(dtype, copy=False))
    return out


def integer_matmul(a: Array, b: Array, method: Method = "auto") -> IntArray:
    """`a @ b` of integer arrays, exactly, as int32 (the accumulator of int8 hardware).

    `method`: "int" (NumPy's integer loop, the reference), "float32"/"float64"
    (BLAS on int-valued floats; refused when the bound says it could round), or
    "auto" (the fastest exact one).
    """
    for name, arr in (("a", a), ("b", b)):
        if arr.dtype.kind not in "iu":
            raise TypeError(f"integer_matmul: {name} must be an integer array, got {arr.dtype}")
    try:
        out = exact_matmul(a, b, accumulation_bound(a, b), method)
    except (OverflowError, ValueError) as err:
        raise type(err)(f"integer_matmul: {err}") from None
    result: IntArray = out.astype(np.int32)
    return result


def requantize(
    acc: IntArray,
    multiplier: Array,
    zero_point: int,
    qmin: int,
    qmax: int,
    offset: Array | float = 0.0,
) -> npt.NDArray[np.int8]:
    """int32 accumulator -> int8 output: round(acc * multiplier + offset) + zero_point, clamped.

    `multiplier` = input_scale * weight_scale / output_scale (per output channel,
    broadcast against `acc`); `offset` = bias / output_scale. Hardware applies
    the multiplier as a fixed-point integer multiply and shift; float64 holds
    every int32 exactly, so the rounding here is the ideal one.
    """
    scaled = np.round(acc.astype(np.float64) * multiplier + offset) + zero_point
    return np.clip(scaled, qmin, qmax).astype(np.int8)
