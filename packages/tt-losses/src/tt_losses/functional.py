"""Loss functions with `torch.nn.functional`'s names, arguments and numbers.

All of them are compositions of tt-tensor operations, so tt-autograd
differentiates them without rules of their own. Numerically delicate steps are
written in the stable form: cross-entropy works on the logits minus their
(detached) row maximum, as lse - x[target], never building log-softmax;
BCE-with-logits uses log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)) with
m = max(-x, 0); BCE clamps its logarithms at -100 as PyTorch does.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "mse_loss",
    "nll_loss",
]

Array = npt.NDArray[Any]
_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- helpers
def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _shape(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{reduction!r} is not a valid value for reduction: use one of {_REDUCTIONS}"
        )


def _check_float(t: Tensor, what: str, name: str) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be a floating point tensor, got dtype {t.dtype}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _shift_by_max(x: Tensor, dim: int) -> Tensor:
    """x minus its (detached) max along `dim`: softmax and lse - x[t] are unchanged, and exp
    can no longer overflow. (tt-activations' log_softmax uses the same trick; module 04
    cannot import it.)
    """
    shift = np.max(x.data, axis=dim, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
    return x - Tensor(shift)


def _class_weight(weight: Any, n_classes: int, dtype: np.dtype[Any], name: str) -> Array | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if w.shape != (n_classes,):
        raise ValueError(
            f"{name}: weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {_shape(w.shape)}"
        )
    return w


# ---------------------------------------------------------------- regression
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2, reduced by `reduction`."""
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_float(input, "input", "mse_loss")
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(
                f"mse_loss: target of shape {_shape(target.shape)} cannot be broadcast to "
                f"input of shape {_shape(input.shape)}"
            ) from None
        warnings.warn(
            f"Using a target size {_shape(target.shape)} that is different to the input size "
            f"{_shape(input.shape)}. This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    diff = input - target
    return _reduce(diff * diff, reduction)


# ---------------------------------------------------------------- classification
def _check_index_target(input: Tensor, target: Tensor, ignore_index: int, name: str) -> None:
    """Integer class indices of shape (N, d1, ...) for input (N, C, d1, ...), each in [0, C)."""
    if target.dtype.kind not in "iu":
        hint = "; for class probabilities use cross_entropy" if name == "nll_loss" else ""
        raise TypeError(
            f"{name}: target must hold class indices as an integer tensor (int64), got dtype "
            f"{target.dtype}{hint}"
        )
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.shape != expected:
        raise ValueError(
            f"{name}: expected target of shape {_shape(expected)} for input of shape "
            f"{_shape(input.shape)}, got target of shape {_shape(target.shape)}"
        )
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    t = target.data
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(
            f"{name}: Target {int(t[bad].flat[0])} is out of bounds: class indices must lie in "
            f"[0, {n_classes}) (or equal ignore_index={ignore_index}) for input of shape "
            f"{_shape(input.shape)}"
        )


def _index_loss(
    input: Tensor,
    target: Tensor,
    weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    name: str,
    logits: bool,
) -> Tensor:
    """The loss for class-index targets, from logits (cross-entropy) or log-probabilities (NLL).

    For logits x with lse = logsumexp(x) over the classes, -log_softmax(x)[t] is
    lse - x[t], so the (N, C) log-softmax is never built. Each element is scaled
    by its class weight w[t] (0 where the target is ignore_index); `mean`
    divides by the total weight sum_n w[t_n], PyTorch's weighted mean. With
    label smoothing eps the target is (1 - eps) one-hot + eps/C uniform, which
    adds eps/C * sum_c w[c] * (lse - x[c]).
    """
    if input.ndim == 0:
        raise ValueError(f"{name}: expected an input of shape (C,), (N, C) or (N, C, d1, ...)")
    _check_index_target(input, target, ignore_index, name)
    unbatched = input.ndim == 1
    if unbatched:  # (C,) with a 0-d target: a batch of one
        input, target = input.unsqueeze(0), target.reshape(1)
    n_classes, dt = input.shape[1], input.dtype
    w = _class_weight(weight, n_classes, dt, name)
    t = target.data
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w_t = valid.astype(dt) if w is None else w[safe] * valid  # each element's weight
    scale = 1.0
    if reduction == "mean":
        total = float(w_t.sum())
        scale = 1.0 / total if total > 0 else math.nan  # all ignored: PyTorch's 0/0 = nan
    # z[n, t[n, ...], ...]: integer-array indexing along the class dim (dim 1)
    grids: list[Array] = list(np.indices(t.shape, sparse=True))
    key = (grids[0], safe, *grids[1:])
    if logits:  # lse(x) - x[t] = lse(z) - z[t] for z = x - max(x)
        z = _shift_by_max(input, 1)
        lse = z.exp().sum(1).log()
        per = lse - z[key]
    else:
        per = -input[key]
    per = per * Tensor((w_t * (scale * (1.0 - label_smoothing))).astype(dt, copy=False))
    if label_smoothing > 0 and logits:
        w_c = np.ones(n_classes, dt) if w is None else w
        z_w = (
            z.sum(1) if w is None else (z * Tensor(w_c.reshape((-1,) + (1,) * (z.ndim - 2)))).sum(1)
        )
        smooth = lse * float(w_c.sum()) - z_w
        per = per + smooth * Tensor((valid * (scale * label_smoothing / n_classes)).astype(dt))
    if reduction == "none":
        return per.reshape(()) if unbatched else per
    return per.sum()


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (N, C, ...) at class indices `target`.

    With `weight`, `mean` divides by the summed weights of the targets (not by N);
    targets equal to `ignore_index` contribute nothing to the sum or the divisor.
    """
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_float(input, "input", "nll_loss")
    return _index_loss(input, target, weight, ignore_index, reduction, 0.0, "nll_loss", False)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits `input` (N, C, d1, ...) and `target`.

    `target` is either class indices (integer, shape (N, d1, ...)) or class
    probabilities (float, the input's shape). `label_smoothing` = eps mixes the
    target with the uniform distribution: (1 - eps) * target + eps / C.
    """
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_float(input, "input", "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(
            "cross_entropy: expected an input of shape (C,), (N, C) or (N, C, d1, ...)"
        )
    class_dim = 0 if input.ndim == 1 else 1
    if target.dtype.kind != "f":
        return _index_loss(
            input, target, weight, ignore_index, reduction, label_smoothing, "cross_entropy", True
        )
    # class probabilities
    if target.shape != input.shape:
        expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        raise ValueError(
            f"cross_entropy: a float target holds class probabilities and must have the input's "
            f"shape {_shape(input.shape)}, got {_shape(target.shape)}; class indices need an "
            f"integer (int64) target of shape {_shape(expected)}"
        )
    if ignore_index >= 0:
        raise ValueError(
            "cross_entropy: ignore_index is not supported for class-probability targets"
        )
    n_classes = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    w = _class_weight(weight, n_classes, input.dtype, "cross_entropy")
    z = _shift_by_max(input, class_dim)
    logp = z - z.exp().sum(class_dim, keepdim=True).log()
    picked = logp * target
    if w is not None:
        picked = picked * Tensor(w.reshape((n_classes,) + (1,) * (input.ndim - class_dim - 1)))
    return _reduce(-picked.sum(class_dim), reduction)


# ---------------------------------------------------------------- binary
def _check_same_shape(input: Tensor, target: Tensor, name: str) -> None:
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: Using a target size {_shape(target.shape)} that is different to the input "
            f"size {_shape(input.shape)} is not supported. Please ensure they have the same size."
        )


def _log_clamped(x: Tensor) -> Tensor:
    """log(x) clamped at -100 (PyTorch's BCE), without ever evaluating log(0)."""
    tiny = float(np.finfo(x.dtype).smallest_subnormal)
    return x.clamp(min=tiny).log().clamp(min=-100.0)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-w * (t log(p) + (1 - t) log(1 - p)) for probabilities p = `input` in [0, 1].

    Each log is clamped at -100, so p = 0 or 1 gives a finite loss (100 at worst).
    Prefer binary_cross_entropy_with_logits: it never needs that clamp.
    """
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_float(input, "input", "binary_cross_entropy")
    _check_float(target, "target", "binary_cross_entropy")
    _check_same_shape(input, target, "binary_cross_entropy")
    p = input.data
    if not bool(np.all((p >= 0) & (p <= 1))):
        raise ValueError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (they are "
            f"probabilities; found min {np.nanmin(p) if p.size else 0:.4g}, max "
            f"{np.nanmax(p) if p.size else 0:.4g}, or NaN): apply sigmoid first, or use "
            "binary_cross_entropy_with_logits"
        )
    log_p = _log_clamped(input)
    log_q = _log_clamped(1.0 - input)
    loss = -(log_q + target * (log_p - log_q))
    if weight is not None:
        loss = loss * _as_tensor(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of sigmoid(`input`) and `target`, computed from the logits without overflow.

    loss = (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x), where
    softplus(-x) = log(1 + exp(-x)) is evaluated as m + log(exp(-m) + exp(-x - m))
    with the constant m = max(-x, 0): no exp overflows, and since m is a constant
    the gradient is exact, -sigmoid(-x), even at x = 0.
    """
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_float(input, "input", "binary_cross_entropy_with_logits")
    _check_float(target, "target", "binary_cross_entropy_with_logits")
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    m = np.maximum(-input.data, 0)
    softplus_neg = (Tensor(np.exp(-m)) + (-input - Tensor(m)).exp()).log() + Tensor(m)
    if pos_weight is not None:
        softplus_neg = softplus_neg * ((_as_tensor(pos_weight) - 1.0) * target + 1.0)
    loss = (1.0 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * _as_tensor(weight)
    return _reduce(loss, reduction)
