import math
from typing import Any

import numpy as np
import pytest
import tt_autograd
from tt_attention import causal_mask, scaled_dot_product_attention
from tt_tensor import Tensor, manual_seed

rng = np.random.default_rng(0)


def reference(q: Any, k: Any, v: Any, allowed: Any = None, bias: Any = None) -> Any:
    """softmax(q k^T / sqrt(E) + bias) v in float64, masked rows -> 0."""
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        s = s + bias
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    with np.errstate(invalid="ignore"):
        m = np.max(s, axis=-1, keepdims=True)
        e = np.exp(s - np.where(np.isfinite(m), m, 0))
        p = e / np.maximum(e.sum(-1, keepdims=True), 1e-300)
    return p @ v


def rand(*shape: int, grad: bool = False) -> Tensor:
    return Tensor(rng.standard_normal(shape), dtype=np.float64, requires_grad=grad)


def test_no_mask_matches_reference_and_keeps_dtype() -> None:
    q, k, v = rand(2, 3, 5, 4), rand(2, 3, 6, 4), rand(2, 3, 6, 7)
    out = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 7) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data), atol=1e-12)
    out32 = scaled_dot_product_attention(q.float(), k.float(), v.float())
    assert out32.dtype == np.float32


def test_bool_mask_true_means_take_part() -> None:
    q, k, v = rand(2, 5, 4), rand(2, 6, 4), rand(2, 6, 3)
    allowed = rng.random((5, 6)) > 0.4
    allowed[:, 0] = True
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(allowed))
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, allowed), atol=1e-12)


def test_float_mask_is_added() -> None:
    q, k, v = rand(2, 5, 4), rand(2, 6, 4), rand(2, 6, 3)
    bias = rng.standard_normal((2, 1, 5, 6))
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(bias))
    assert out.shape == (2, 2, 5, 3)  # the mask's extra batch dim broadcasts
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, bias=bias), atol=1e-12)


def test_causal_is_the_lower_triangle() -> None:
    q, k, v = rand(3, 6, 4), rand(3, 6, 4), rand(3, 6, 2)
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    tri = np.tril(np.ones((6, 6), dtype=bool))
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, tri), atol=1e-12)
    np.testing.assert_array_equal(causal_mask(2, 3), [[True, False, False], [True, True, False]])
    # the first query sees only the first key: its output is exactly v[0]
    np.testing.assert_allclose(out.data[:, 0], v.data[:, 0], atol=1e-12)


def test_fully_masked_rows_give_zeros_and_zero_gradients() -> None:
    q, k, v = rand(1, 3, 4, grad=True), rand(1, 5, 4, grad=True), rand(1, 5, 2, grad=True)
    allowed = np.ones((3, 5), dtype=bool)
    allowed[1] = False
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(allowed))
    assert np.isfinite(out.data).all()
    np.testing.assert_array_equal(out.data[0, 1], 0)
    out.sum().backward()
    for t in (q, k, v):
        assert t.grad is not None and np.isfinite(t.grad.data).all()
    assert q.grad is not None
    np.testing.assert_array_equal(q.grad.data[0, 1], 0)
    minus_inf = np.where(allowed, 0.0, -np.inf)
    out2 = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(minus_inf))
    np.testing.assert_allclose(out2.data, out.data)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_gradcheck(mask: str) -> None:
    q, k, v = rand(2, 4, 3, grad=True), rand(2, 4, 3, grad=True), rand(2, 4, 2, grad=True)
    inputs = [q, k, v]
    if mask == "float":
        inputs.append(rand(4, 4, grad=True))
    allowed = Tensor(np.tril(np.ones((4, 4), dtype=bool)) | np.eye(4, 4, 1, dtype=bool))

    def fn(*ts: Tensor) -> Tensor:
        a, b, c = ts[:3]
        if mask == "float":
            return scaled_dot_product_attention(a, b, c, attn_mask=ts[3])
        if mask == "bool":
            return scaled_dot_product_attention(a, b, c, attn_mask=allowed)
        return scaled_dot_product_attention(a, b, c, is_causal=mask == "causal")

    assert tt_autograd.gradcheck(fn, inputs)


def test_gradcheck_broadcast_key_value_and_scale() -> None:
    q, k, v = rand(2, 3, 4, grad=True), rand(1, 5, 4, grad=True), rand(1, 5, 2, grad=True)
    assert tt_autograd.gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, scale=0.3), [q, k, v]
    )


def test_dropout_is_seeded_inverted_and_differentiable() -> None:
    q, k, v = rand(2, 6, 4, grad=True), rand(2, 6, 4, grad=True), rand(2, 6, 3, grad=True)

    def fn(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
        manual_seed(3)
        return scaled_dot_product_attention(a, b, c, dropout_p=0.4)

    np.testing.assert_array_equal(fn(q, k, v).data, fn(q, k, v).data)
    assert not np.allclose(fn(q, k, v).data, scaled_dot_product_attention(q, k, v).data)
    assert tt_autograd.gradcheck(fn, [q, k, v])
    # inverted dropout keeps the expectation: averaged over many masks, close to no dropout
    ones = Tensor(np.ones((1, 400, 1)))
    manual_seed(0)
    kk = Tensor(np.zeros((1, 50, 1)))
    out = scaled_dot_product_attention(ones, kk, Tensor(np.ones((1, 50, 1))), dropout_p=0.5)
    assert abs(float(out.data.mean()) - 1.0) < 0.05


def test_bad_arguments() -> None:
    q = rand(2, 3, 4)
    with pytest.raises(ValueError, match="share the embedding size"):
        scaled_dot_product_attention(q, rand(2, 3, 5), rand(2, 3, 5))
    with pytest.raises(ValueError, match="same sequence length"):
        scaled_dot_product_attention(q, rand(2, 3, 4), rand(2, 4, 4))
    with pytest.raises(TypeError, match="same dtype"):
        scaled_dot_product_attention(q, q.float(), q)
    with pytest.raises(ValueError, match="should not be set when is_causal"):
        scaled_dot_product_attention(
            q, q, q, attn_mask=Tensor(np.ones((3, 3), bool)), is_causal=True
        )
    with pytest.raises(ValueError, match=r"cannot be broadcast to the attention scores"):
        scaled_dot_product_attention(q, q, q, attn_mask=Tensor(np.ones((2, 2), bool)))
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    with pytest.raises(TypeError, match="bool or floating point"):
        scaled_dot_product_attention(q, q, q, attn_mask=Tensor(np.ones((3, 3), np.int64)))
    with pytest.raises(ValueError, match="at least 2-D"):
        scaled_dot_product_attention(rand(4), rand(4), rand(4))
