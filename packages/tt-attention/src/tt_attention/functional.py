"""`scaled_dot_product_attention`: softmax(Q K^T * scale + mask) V as one fused op.

Written as a single `Function` with a hand-derived backward rather than a
composition of matmul/softmax/dropout ops: the composition records about ten
graph nodes and keeps every intermediate alive, the fused op records one node
and keeps only the attention probabilities. With P = softmax(S) and dO the
gradient of the output:

    dV = P^T dO
    dP = dO V^T
    dS = P * (dP - rowsum(dP * P))          (the softmax Jacobian, row by row)
    dQ = dS K * scale,   dK = dS^T Q * scale

Masks follow PyTorch: a boolean mask says which positions *take part* (True =
attend), a float mask is added to the scores, `is_causal` lets query i see
keys 0..i. A row whose keys are all masked gives zeros (PyTorch can give NaN).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from tt_autograd import Function, unbroadcast
from tt_tensor import Tensor, generator

Array = npt.NDArray[Any]

_causal_cache: dict[tuple[int, int], Array] = {}


def causal_mask(target_len: int, source_len: int) -> Array:
    """Boolean (L, S) mask, True on and below the diagonal (top-left aligned, as PyTorch)."""
    key = (target_len, source_len)
    mask = _causal_cache.get(key)
    if mask is None:
        mask = np.tril(np.ones((target_len, source_len), dtype=bool))
        mask.flags.writeable = False
        if len(_causal_cache) < 64:
            _causal_cache[key] = mask
    return mask


_blocked_cache: dict[int, tuple[Array, Array]] = {}


def _blocked(allowed: Array) -> Array:
    """``~allowed``, remembered for the last masks seen (the causal mask recurs every call)."""
    hit = _blocked_cache.get(id(allowed))
    if hit is not None and hit[0] is allowed:
        return hit[1]
    blocked = ~allowed
    if not allowed.flags.writeable:  # cached masks are read-only, so safe to remember
        if len(_blocked_cache) >= 64:
            _blocked_cache.clear()
        _blocked_cache[id(allowed)] = (allowed, blocked)
    return blocked


def _masked_softmax(scores: Array, allowed: Array | None) -> Array:
    """Row softmax over the last axis, in place, where `allowed`; a row with nothing
    allowed becomes all zeros."""
    if allowed is not None:
        np.copyto(scores, -np.inf, where=_blocked(allowed))
    m = scores.max(axis=-1, keepdims=True)
    m[~np.isfinite(m)] = 0  # an all -inf row: keep exp() at exactly 0, no inf - inf
    scores -= m
    e = np.exp(scores, out=scores)
    denom = e.sum(axis=-1, keepdims=True)
    denom[denom == 0] = 1
    e /= denom
    return e


class SDPAFunction(Function):
    """The fused attention op; `scaled_dot_product_attention` prepares its arguments."""

    @staticmethod
    def forward(
        ctx: Any,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        bias: Tensor | None,
        allowed: Array | None,
        dropout_p: float,
        scale: float,
        weights_sink: list[Array] | None,
    ) -> Tensor:
        qd, kd, vd = q.data, k.data, v.data
        scores = np.matmul(qd, np.swapaxes(kd, -1, -2))
        scores *= scores.dtype.type(scale)
        full = np.broadcast_shapes(
            scores.shape, *(m.shape for m in (allowed, bias) if m is not None)
        )
        if full != scores.shape:  # a mask with more batch dims than q and k
            scores = np.broadcast_to(scores, full).copy()
        if bias is not None:
            scores += bias.data
        p = _masked_softmax(scores, allowed)
        keep: Array | None = None
        pd = p
        if dropout_p > 0.0:
            keep = generator().random(p.shape) >= dropout_p
            pd = p * keep * p.dtype.type(1.0 / (1.0 - dropout_p))
        out = np.matmul(pd, vd)
        ctx.save_for_backward(q, k, v)
        ctx.p, ctx.pd, ctx.keep = p, pd, keep
        ctx.dropout_p, ctx.scale = dropout_p, scale
        ctx.bias_shape = None if bias is None else bias.shape
        if weights_sink is not None:
            weights_sink.append(pd)
        return Tensor(out)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Any, ...]:
        q, k, v = ctx.saved_tensors
        g = grad_output.data
        p, pd, keep = ctx.p, ctx.pd, ctx.keep
        need_q, need_k, need_v, need_bias = ctx.needs_input_grad[:4]
        dv = unbroadcast(np.matmul(np.swapaxes(pd, -1, -2), g), v.shape) if need_v else None
        dq = dk = dbias = None
        if need_q or need_k or need_bias:
            dp = np.matmul(g, np.swapaxes(v.data, -1, -2))
            if keep is not None:
                dp *= keep
                dp *= dp.dtype.type(1.0 / (1.0 - ctx.dropout_p))
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            if need_bias:
                dbias = unbroadcast(ds, ctx.bias_shape)
            ds *= ds.dtype.type(ctx.scale)
            if need_q:
                dq = unbroadcast(np.matmul(ds, k.data), q.shape)
            if need_k:
                dk = unbroadcast(np.matmul(np.swapaxes(ds, -1, -2), q.data), k.shape)
        wrap = [None if a is None else Tensor(a) for a in (dq, dk, dv, dbias)]
        return (*wrap, None, None, None, None)


def _check_inputs(q: Tensor, k: Tensor, v: Tensor) -> None:
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor")
        if t.ndim < 2:
            raise ValueError(
                f"scaled_dot_product_attention: {name} must be at least 2-D (..., L, E), "
                f"got shape {tuple(t.shape)}"
            )
        if t.dtype.kind != "f":
            raise TypeError(
                f"scaled_dot_product_attention: {name} must be floating point, got {t.dtype}"
            )
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{q.dtype} key.dtype: {k.dtype} and value.dtype: {v.dtype} instead."
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"query and key must share the embedding size E: query {tuple(q.shape)}, "
            f"key {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"key and value must have the same sequence length S: key {tuple(k.shape)}, "
            f"value {tuple(v.shape)}"
        )


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    allowed: Array | None = None,
    bias: Tensor | None = None,
    dropout_p: float = 0.0,
    scale: float | None = None,
    need_weights: bool = False,
) -> tuple[Tensor, Array | None]:
    """The op behind both SDPA and MultiheadAttention, with masks already in canonical form:
    `allowed` a boolean array (True = attend) and `bias` a float Tensor, both broadcastable
    to (..., L, S). Also returns the (post-dropout) attention weights when asked."""
    _check_inputs(query, key, value)
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    shape = (*np.broadcast_shapes(query.shape[:-2], key.shape[:-2]), query.shape[-2], key.shape[-2])
    for name, m in (("attn_mask", allowed), ("attn_mask", None if bias is None else bias.data)):
        if m is not None:
            try:
                np.broadcast_shapes(m.shape, shape)
            except ValueError:
                raise ValueError(
                    f"{name} of shape {tuple(m.shape)} cannot be broadcast to the attention "
                    f"scores of shape {shape} (..., L, S)"
                ) from None
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    sink: list[Array] | None = [] if need_weights else None
    out = SDPAFunction.apply(query, key, value, bias, allowed, float(dropout_p), s, sink)
    return out, (sink[0] if sink else None)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """`torch.nn.functional.scaled_dot_product_attention` for (..., L, E) inputs.

    `attn_mask` broadcastable to (..., L, S): boolean (True = take part) or float
    (added to the scores). `is_causal` masks keys after each query; it cannot be
    combined with `attn_mask`. `dropout_p` applies whenever it is > 0 (pass 0.0 in
    evaluation), as in PyTorch.
    """
    allowed: Array | None = None
    bias: Tensor | None = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(
                "scaled_dot_product_attention: explicit attn_mask should not be set when "
                "is_causal=True"
            )
        allowed = causal_mask(query.shape[-2], key.shape[-2])
    elif attn_mask is not None:
        m = attn_mask if isinstance(attn_mask, Tensor) else Tensor(np.asarray(attn_mask))
        if m.dtype == np.bool_:
            allowed = m.data
        elif m.dtype.kind == "f":
            bias = m if m.dtype == query.dtype else m.to(query.dtype)
        else:
            raise TypeError(
                f"attn_mask must be a bool or floating point tensor, got dtype {m.dtype}"
            )
    out, _ = attention(query, key, value, allowed, bias, dropout_p, scale)
    return out
