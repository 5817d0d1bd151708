"""`Tensor`: an n-dimensional array with PyTorch's semantics over NumPy.

Every operation computes its value with one vectorized NumPy call and then
hands the result to `extension.record`, which is where autograd (module 05)
can attach a graph node. Without autograd the tensor is a thin, fast wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from . import extension
from .extension import record

Array: TypeAlias = npt.NDArray[Any]
Scalar: TypeAlias = int | float | bool
DType: TypeAlias = type[np.generic] | np.dtype[Any]
Index: TypeAlias = Any

float32 = np.float32
float64 = np.float64
float16 = np.float16
int64 = np.int64
int32 = np.int32
uint8 = np.uint8
bool_ = np.bool_
long = np.int64


def _as_array(data: Any, dtype: DType | None) -> Array:
    """Convert `data` following torch.tensor: Python floats become float32."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind == "O":
        raise TypeError(f"cannot build a Tensor from objects of type {type(data).__name__}")
    return arr


def _is_float(dt: np.dtype[Any]) -> bool:
    return dt.kind == "f"


def _operand(self: Tensor, other: Any) -> Tensor:
    """Turn `other` into a Tensor whose dtype follows PyTorch's promotion rules."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, bool | int | float) and not isinstance(other, np.generic):
        if isinstance(other, float) and not _is_float(self.data.dtype):
            return Tensor(np.asarray(other, dtype=np.float32))
        if _is_float(self.data.dtype) or isinstance(other, bool) == (self.data.dtype == np.bool_):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(np.asarray(other, dtype=np.int64))
    return Tensor(_as_array(other, None))


def _promote(a: Array, b: Array) -> tuple[Array, Array]:
    """PyTorch promotion: a float tensor wins over an integer one, keeping its width."""
    if a.dtype == b.dtype:
        return a, b
    fa, fb = _is_float(a.dtype), _is_float(b.dtype)
    if fa and not fb:
        return a, b.astype(a.dtype)
    if fb and not fa:
        return a.astype(b.dtype), b
    dt = np.result_type(a.dtype, b.dtype)
    return a.astype(dt, copy=False), b.astype(dt, copy=False)


def _dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"dimension out of range (expected to be in range of "
                f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})"
            )
        out.append(d % max(ndim, 1))
    return tuple(out)


def _index_key(key: Index) -> Index:
    """Replace Tensor indices by their arrays so NumPy can index with them."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


class MinMax(NamedTuple):
    """`values` and `indices` of a reduction along a dimension, as torch returns them."""

    values: Tensor
    indices: Tensor


class _Conversions:
    """dtype shortcuts; a base class so their names (int, float, bool) never shadow
    the builtins inside `Tensor`'s own body."""

    __slots__ = ()

    def float(self) -> Tensor:
        return cast("Tensor", self).to(np.float32)

    def double(self) -> Tensor:
        return cast("Tensor", self).to(np.float64)

    def long(self) -> Tensor:
        return cast("Tensor", self).to(np.int64)

    def int(self) -> Tensor:
        return cast("Tensor", self).to(np.int32)

    def bool(self) -> Tensor:
        return cast("Tensor", self).to(np.bool_)


class Tensor(_Conversions):
    """An n-dimensional array with PyTorch's semantics, backed by a NumPy array.

    `requires_grad`, `grad` and `grad_fn` are filled in by an autograd engine
    registered through `tt_tensor.extension`; `tt-tensor` itself only stores them.
    """

    __slots__ = ("__weakref__", "_retain", "data", "grad", "grad_fn", "requires_grad")
    __array_priority__ = 1000.0

    def __init__(
        self, data: Any, *, dtype: DType | None = None, requires_grad: bool = False
    ) -> None:
        # a numeric ndarray kept as it is (every operation's result) skips the conversions
        fast = dtype is None and type(data) is np.ndarray and data.dtype.kind != "O"
        self.data: Array = data if fast else _as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Any = None
        self._retain = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------- basic facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.data.shape
        return self.data.shape[dim]

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    def numel(self) -> int:
        return int(self.data.size)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of a Tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data)

    def __hash__(self) -> int:
        return id(self)

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"a Tensor with {self.data.size} elements cannot be converted to a Python scalar"
            )
        return self.data.reshape(()).item()

    def numpy(self) -> Array:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a Tensor that requires grad: use tensor.detach().numpy()"
            )
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    # ----------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad:
            if not _is_float(self.data.dtype):
                raise RuntimeError(
                    f"only floating point tensors can require gradients, got {self.data.dtype}"
                )
            extension.autograd_engine()  # discover an installed engine once
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors")
        self.requires_grad = requires_grad
        return self

    def backward(self, gradient: Tensor | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (needs tt-autograd)."""
        engine = extension.require_engine("Tensor.backward()")
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        engine.backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (a leaf always has it)."""
        self._retain = True
        if self.grad_fn is not None:  # only an engine records a grad_fn
            extension.require_engine("Tensor.retain_grad()").retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        return self._retain

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        return record("clone", Tensor(self.data.copy()), (self,))

    def contiguous(self) -> Tensor:
        return self

    # ----------------------------------------------------------- dtype
    def to(self, dtype: DType) -> Tensor:
        if np.dtype(dtype) == self.data.dtype:
            return self
        out = Tensor(self.data.astype(dtype))
        if _is_float(out.data.dtype):
            return record("to", out, (self,))
        return out

    def type(self, dtype: DType) -> Tensor:
        return self.to(dtype)

    # ----------------------------------------------------------- arithmetic
    def _binary(self, other: Any, op: str, fn: Any, reverse: bool = False) -> Tensor:
        o = _operand(self, other)
        a, b = (o, self) if reverse else (self, o)
        x, y = _promote(a.data, b.data)
        return record(op, Tensor(fn(x, y)), (a, b))

    def __add__(self, other: Any) -> Tensor:
        return self._binary(other, "add", np.add)

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(other, "add", np.add, reverse=True)

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(other, "sub", np.subtract)

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(other, "sub", np.subtract, reverse=True)

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul", np.multiply)

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul", np.multiply, reverse=True)

    def _div(self, other: Any, reverse: bool) -> Tensor:
        o = _operand(self, other)
        a, b = (o, self) if reverse else (self, o)
        x, y = _promote(a.data, b.data)
        if not _is_float(x.dtype):  # true division, as in PyTorch
            x, y = x.astype(np.float32), y.astype(np.float32)
        return record("div", Tensor(x / y), (a, b))

    def __truediv__(self, other: Any) -> Tensor:
        return self._div(other, False)

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._div(other, True)

    def __floordiv__(self, other: Any) -> Tensor:
        o = _operand(self, other)
        return Tensor(np.floor_divide(*_promote(self.data, o.data)))

    def __mod__(self, other: Any) -> Tensor:
        o = _operand(self, other)
        return Tensor(np.mod(*_promote(self.data, o.data)))

    def __neg__(self) -> Tensor:
        return record("neg", Tensor(-self.data), (self,))

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, int | float) and not isinstance(exponent, bool):
            base = self if _is_float(self.data.dtype) or isinstance(exponent, int) else self.float()
            if isinstance(exponent, int) and exponent < 0 and not _is_float(base.data.dtype):
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            out = Tensor(np.power(base.data, base.data.dtype.type(exponent)))
            return record("pow", out, (base,), exponent=exponent)
        return self._binary(exponent, "pow_tensor", np.power)

    def __rpow__(self, base: Any) -> Tensor:
        return self._binary(base, "pow_tensor", np.power, reverse=True)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other if isinstance(other, Tensor) else Tensor(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(Tensor(other), self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    # comparisons: never differentiable, return bool tensors
    def _compare(self, other: Any, fn: Any) -> Tensor:
        o = _operand(self, other)
        return Tensor(fn(*_promote(self.data, o.data)))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __and__(self, other: Any) -> Tensor:
        return Tensor(np.logical_and(self.data, _operand(self, other).data))

    def __or__(self, other: Any) -> Tensor:
        return Tensor(np.logical_or(self.data, _operand(self, other).data))

    def __invert__(self) -> Tensor:
        return Tensor(~self.data)

    def eq(self, other: Any) -> Tensor:
        return self._compare(other, np.equal)

    def logical_not(self) -> Tensor:
        return Tensor(np.logical_not(self.data))

    # ----------------------------------------------------------- elementwise math
    def _float_data(self) -> Array:
        return self.data if _is_float(self.data.dtype) else self.data.astype(np.float32)

    def exp(self) -> Tensor:
        return record("exp", Tensor(np.exp(self._float_data())), (self,))

    def log(self) -> Tensor:
        return record("log", Tensor(np.log(self._float_data())), (self,))

    def sqrt(self) -> Tensor:
        return record("sqrt", Tensor(np.sqrt(self._float_data())), (self,))

    def abs(self) -> Tensor:
        return record("abs", Tensor(np.abs(self.data)), (self,))

    def tanh(self) -> Tensor:
        return record("tanh", Tensor(np.tanh(self._float_data())), (self,))

    def sigmoid(self) -> Tensor:
        x = self._float_data()
        # exp(-|x|) never overflows; pick the stable branch per sign
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
        return record("sigmoid", Tensor(out), (self,))

    def relu(self) -> Tensor:
        return record("relu", Tensor(np.maximum(self.data, 0)), (self,))

    def erf(self) -> Tensor:
        return record("erf", Tensor(_erf(self._float_data())), (self,))

    def clamp(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        out = np.clip(self.data, min, max)
        return record(
            "clamp", Tensor(out.astype(self.data.dtype, copy=False)), (self,), min=min, max=max
        )

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return self._binary(other, "maximum", np.maximum)

    def minimum(self, other: Any) -> Tensor:
        return self._binary(other, "minimum", np.minimum)

    def sign(self) -> Tensor:
        return Tensor(np.sign(self.data))

    def masked_fill(self, mask: Tensor, value: Scalar) -> Tensor:
        """Where `mask` is True, `value`; elsewhere this tensor (broadcasting the mask)."""
        return where(mask, Tensor(np.asarray(value, dtype=self.data.dtype)), self)

    # ----------------------------------------------------------- reductions
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        axes = None if dim is None else _dims(dim, self.ndim)
        data = self.data.astype(np.int64) if self.data.dtype.kind == "b" else self.data
        out = data.sum(axis=axes, keepdims=keepdim)
        return record("sum", Tensor(np.asarray(out)), (self,), dim=axes, keepdim=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        if not _is_float(self.data.dtype):
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be floating point, "
                f"got {self.data.dtype}"
            )
        axes = _dims(dim, self.ndim)
        out = np.mean(self.data, axis=axes, keepdims=keepdim)
        return record(
            "mean",
            Tensor(np.asarray(out, dtype=self.data.dtype)),
            (self,),
            dim=axes,
            keepdim=keepdim,
        )

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        """Variance with Bessel's correction by default (correction=1), as in PyTorch."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        axes = _dims(dim, self.ndim)
        x = self._float_data()
        out = np.var(x, axis=axes, ddof=correction, keepdims=keepdim)
        return record(
            "var",
            Tensor(np.asarray(out, dtype=x.dtype)),
            (self,),
            dim=axes,
            keepdim=keepdim,
            correction=correction,
        )

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _extreme(self, dim: int | None, keepdim: bool, name: str) -> Any:
        pick, arg = (np.max, np.argmax) if name == "max" else (np.min, np.argmin)
        if self.data.size == 0:
            raise RuntimeError(f"{name}(): cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            return record(
                "amax", Tensor(np.asarray(pick(self.data))), (self,), dim=None, keepdim=False
            )
        (d,) = _dims(dim, self.ndim) or (0,)
        idx = np.expand_dims(arg(self.data, axis=d), d)
        vals = np.take_along_axis(self.data, idx, axis=d)
        if not keepdim:
            vals, idx = vals.squeeze(d), idx.squeeze(d)
        values = record("max_dim", Tensor(vals), (self,), dim=d, keepdim=keepdim, indices=idx)
        return MinMax(values, Tensor(idx.astype(np.int64)))

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Largest value; with `dim`, the (values, indices) pair like torch.max."""
        return self._extreme(dim, keepdim, "max")

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, "min")

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        axes = _dims(dim, self.ndim)
        out = np.asarray(np.max(self.data, axis=axes, keepdims=keepdim))
        return record("amax", Tensor(out), (self,), dim=axes, keepdim=keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        axes = _dims(dim, self.ndim)
        out = np.asarray(np.min(self.data, axis=axes, keepdims=keepdim))
        return record("amax", Tensor(out), (self,), dim=axes, keepdim=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return Tensor(np.asarray(np.argmax(self.data), dtype=np.int64))
        (d,) = _dims(dim, self.ndim) or (0,)
        return Tensor(np.argmax(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return Tensor(np.asarray(np.argmin(self.data), dtype=np.int64))
        (d,) = _dims(dim, self.ndim) or (0,)
        return Tensor(np.argmin(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def all(self) -> Tensor:
        return Tensor(np.asarray(np.all(self.data)))

    def any(self) -> Tensor:
        return Tensor(np.asarray(np.any(self.data)))

    # ----------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        try:
            out = self.data.reshape(target)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(target)}' is invalid for input of size {self.data.size}"
            ) from None
        return record("reshape", Tensor(out), (self,))

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dims((start_dim, end_dim), self.ndim) or (0, 0)
        shape = (*self.shape[:s], -1, *self.shape[e + 1 :])
        return self.reshape(shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        d0, d1 = _dims((dim0, dim1), self.ndim) or (0, 0)
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    def permute(self, *dims: Any) -> Tensor:
        order = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
        axes = _dims(order, self.ndim) or ()
        if sorted(axes) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {order} are not a permutation of {self.ndim} dims")
        return record("permute", Tensor(self.data.transpose(axes)), (self,), axes=axes)

    @property
    def T(self) -> Tensor:
        if self.data.ndim == 2:  # the common case (Linear's weight): skip validation
            return record("permute", Tensor(self.data.T), (self,), axes=(1, 0))
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        (d,) = _dims(dim, self.ndim) or (0,)
        if self.ndim == 0 or self.shape[d] != 1:
            return self
        return self.reshape(self.shape[:d] + self.shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        (d,) = _dims(dim, self.ndim + 1) or (0,)
        return self.reshape((*self.shape[:d], 1, *self.shape[d:]))

    def expand(self, *sizes: Any) -> Tensor:
        target = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        lead = len(target) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: cannot expand shape {self.shape} to {target}")
        full = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(target))
        try:
            out = np.broadcast_to(self.data, full)
        except ValueError:
            raise RuntimeError(f"expand: cannot expand shape {self.shape} to {target}") from None
        return record("expand", Tensor(out), (self,))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        reps = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        x = self.reshape(shape)
        expanded = [d for pair in zip(reps, shape, strict=True) for d in pair]
        inter = x.reshape(tuple(v for s in shape for v in (1, s))).expand(expanded)
        return inter.reshape(tuple(r * s for r, s in zip(reps, shape, strict=True)))

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        (d,) = _dims(dim, self.ndim) or (0,)
        n = self.shape[d]
        if isinstance(split_size, int):
            sizes = [min(split_size, n - i) for i in range(0, n, split_size)]
        else:
            sizes = list(split_size)
        out, start = [], 0
        for s in sizes:
            key = (slice(None),) * d + (slice(start, start + s),)
            out.append(self[key])
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        return self.split(-(-n // chunks), dim)

    # ----------------------------------------------------------- indexing
    def __getitem__(self, key: Index) -> Tensor:
        k = _index_key(key)
        try:
            out = self.data[k]
        except IndexError as err:
            raise IndexError(f"{err} (indexing a tensor of shape {self.shape})") from None
        return record("getitem", Tensor(np.asarray(out)), (self,), key=k)

    def __setitem__(self, key: Index, value: Any) -> None:
        if self.requires_grad and extension.autograd_engine() is not None:
            eng = extension.autograd_engine()
            if eng is not None and eng.grad_enabled:
                raise RuntimeError(
                    "in-place assignment to a tensor that requires grad: wrap it in no_grad() "
                    "or use where()/masked_fill()"
                )
        self.data[_index_key(key)] = value.data if isinstance(value, Tensor) else value

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """out[i][j] = self[i][index[i][j]] along `dim`, as torch.gather."""
        (d,) = _dims(dim, self.ndim) or (0,)
        grids = np.indices(index.shape, sparse=True)
        key = tuple(index.data if i == d else g for i, g in enumerate(grids))
        return self[key]

    # ----------------------------------------------------------- in place (no graph)
    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    def fill_(self, value: Scalar) -> Tensor:
        self.data[...] = value
        return self

    def copy_(self, src: Tensor) -> Tensor:
        if src.shape != self.shape and np.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise RuntimeError(f"copy_: cannot copy shape {src.shape} into {self.shape}")
        np.copyto(self.data, src.data, casting="unsafe")
        return self

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        o = other.data if isinstance(other, Tensor) else other
        if alpha == 1:
            self.data += o
        else:
            self.data += alpha * o
        return self

    def mul_(self, other: Any) -> Tensor:
        self.data *= other.data if isinstance(other, Tensor) else other
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        from .creation import generator

        self.data[...] = generator().uniform(a, b, self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        from .creation import generator

        self.data[...] = generator().normal(mean, std, self.shape)
        return self


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's (and PyTorch's) batching and 1-D rules."""
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a.shape))} and "
            f"{'x'.join(map(str, b.shape))})"
        )
    x, y = _promote(a.data, b.data)
    if x.ndim > 2 and y.ndim == 2:  # (..., n, k) @ (k, m): one big GEMM is faster
        out = (x.reshape(-1, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[-1])
    else:
        out = np.matmul(x, y)
    return record("matmul", Tensor(out), (a, b))


def where(condition: Tensor | Array, x: Any, y: Any) -> Tensor:
    """Elementwise `x` where `condition` holds, else `y` (broadcasting all three)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    tx = x if isinstance(x, Tensor) else None
    ty = y if isinstance(y, Tensor) else None
    if tx is None and ty is None:
        tx = Tensor(x)
    if tx is None:
        assert ty is not None
        tx = _operand(ty, x)
    if ty is None:
        ty = _operand(tx, y)
    xd, yd = _promote(tx.data, ty.data)
    return record("where", Tensor(np.where(cond, xd, yd)), (tx, ty), condition=cond)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    if len(tensors) == 0:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    (d,) = _dims(dim, tensors[0].ndim) or (0,)
    for t in tensors[1:]:
        if t.ndim != tensors[0].ndim or any(
            s != r for i, (s, r) in enumerate(zip(t.shape, tensors[0].shape, strict=True)) if i != d
        ):
            raise RuntimeError(
                f"cat(): sizes of tensors must match except in dimension {d}: "
                f"{tensors[0].shape} vs {t.shape}"
            )
    out = np.concatenate([t.data for t in tensors], axis=d)
    sizes = [t.shape[d] for t in tensors]
    return record("cat", Tensor(out), tuple(tensors), dim=d, sizes=sizes)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    if len(tensors) == 0:
        raise ValueError("stack(): expected a non-empty list of Tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {tensors[0].shape} "
                f"and {t.shape}"
            )
    return cat([t.unsqueeze(dim) for t in tensors], dim)


# erf: NumPy has none. We use the Numerical Recipes Chebyshev fit of erfc
# (fractional error < 1.2e-7 everywhere): plenty for float32 and smooth enough
# for float64 finite differences. Evaluated in place: GELU calls it on every
# MLP activation, so temporaries matter.
_ERF_COEFFS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def _erf(x: Array) -> Array:
    flat = x.reshape(-1)
    c = flat.dtype.type
    z = np.abs(flat)
    t = z * c(0.5)
    t += 1
    np.reciprocal(t, out=t)
    p = t * c(_ERF_COEFFS[9])
    for coeff in _ERF_COEFFS[8:0:-1]:
        p += c(coeff)
        p *= t
    p += c(_ERF_COEFFS[0])
    p -= np.square(z, out=z)
    np.exp(p, out=p)
    p *= t  # p is now erfc(|x|)
    np.subtract(1, p, out=p)
    result: Array = np.copysign(p, flat, out=p)
    return result.reshape(x.shape)
