"""Values, dtypes and errors of tt-tensor, checked against NumPy."""

import numpy as np
import pytest
import tt_tensor as tt
from tt_tensor import Tensor


def test_float_lists_default_to_float32_and_ints_stay_ints() -> None:
    assert tt.tensor([1.0, 2.0]).dtype == np.float32
    assert tt.tensor([1, 2]).dtype == np.int64
    assert tt.tensor(np.arange(3, dtype=np.float64)).dtype == np.float64
    assert tt.tensor([True, False]).dtype == np.bool_
    assert tt.zeros(2, 3).shape == (2, 3)
    assert tt.ones((2, 3)).dtype == np.float32


def test_promotion_follows_pytorch() -> None:
    i = tt.tensor([1, 2, 3])
    f = tt.tensor([0.5, 0.5, 0.5])
    assert (i + f).dtype == np.float32
    assert (i * 2.5).dtype == np.float32
    assert (i * 2).dtype == np.int64
    assert (i / 2).dtype == np.float32
    assert (f * 2).dtype == np.float32
    assert (2**f).dtype == np.float32
    np.testing.assert_allclose((i / 2).data, [0.5, 1.0, 1.5])


def test_broadcasting_arithmetic_and_reflected_operators() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 1, 4)).astype(np.float32)
    b = rng.standard_normal((2, 4)).astype(np.float32)
    ta, tb = Tensor(a), Tensor(b)
    np.testing.assert_allclose((ta + tb).data, a + b)
    np.testing.assert_allclose((ta - tb).data, a - b)
    np.testing.assert_allclose((ta * tb).data, a * b)
    np.testing.assert_allclose((ta / (tb.abs() + 1)).data, a / (np.abs(b) + 1), rtol=1e-6)
    np.testing.assert_allclose((1 - ta).data, 1 - a)
    np.testing.assert_allclose((2 / (ta.abs() + 1)).data, 2 / (np.abs(a) + 1), rtol=1e-6)
    np.testing.assert_allclose((-ta).data, -a)
    np.testing.assert_allclose((ta**2).data, a**2, rtol=1e-6)


def test_elementwise_math() -> None:
    x = np.linspace(0.1, 3, 7, dtype=np.float32)
    t = Tensor(x)
    np.testing.assert_allclose(t.exp().data, np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(t.log().data, np.log(x), rtol=1e-6)
    np.testing.assert_allclose(t.sqrt().data, np.sqrt(x), rtol=1e-6)
    np.testing.assert_allclose(t.tanh().data, np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(Tensor(x - 1).relu().data, np.maximum(x - 1, 0))
    np.testing.assert_allclose(t.clamp(0.5, 2.0).data, np.clip(x, 0.5, 2.0))
    erf_ref = np.array([0.0, 0.5204998778, 0.8427007929, 0.9953222650], dtype=np.float64)
    got = Tensor(np.array([0.0, 0.5, 1.0, 2.0])).erf().data
    np.testing.assert_allclose(got, erf_ref, atol=2e-7)


def test_sigmoid_is_stable_for_extreme_inputs() -> None:
    out = Tensor(np.array([-1e4, 0.0, 1e4], dtype=np.float32)).sigmoid().data
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])


def test_comparisons_give_bool_tensors() -> None:
    t = tt.tensor([1.0, 2.0, 3.0])
    assert (t > 1.5).dtype == np.bool_
    np.testing.assert_array_equal((t == 2.0).data, [False, True, False])
    np.testing.assert_array_equal((t <= tt.tensor([1.0, 1.0, 4.0])).data, [True, False, True])


def test_batched_matmul_and_vector_rules() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((3, 5, 6)).astype(np.float32)
    v = rng.standard_normal(5).astype(np.float32)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b, rtol=1e-5)
    np.testing.assert_allclose((Tensor(a) @ Tensor(v)).data, a @ v, rtol=1e-5)
    np.testing.assert_allclose((Tensor(v) @ Tensor(b)).data, v @ b, rtol=1e-5)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        Tensor(a) @ Tensor(a)


def test_reductions_with_dim_and_keepdim() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    t = Tensor(x)
    np.testing.assert_allclose(t.sum().data, x.sum(), rtol=1e-5)
    np.testing.assert_allclose(t.sum(1).data, x.sum(1), rtol=1e-5)
    np.testing.assert_allclose(
        t.sum((0, 2), keepdim=True).data, x.sum((0, 2), keepdims=True), rtol=1e-5
    )
    np.testing.assert_allclose(t.mean(-1).data, x.mean(-1), rtol=1e-5)
    np.testing.assert_allclose(t.var(1).data, x.var(1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(t.var(1, unbiased=False).data, x.var(1), rtol=1e-5)
    np.testing.assert_allclose(t.std().data, x.std(ddof=1), rtol=1e-5)
    vals, idx = t.max(2)
    np.testing.assert_allclose(vals.data, x.max(2))
    np.testing.assert_array_equal(idx.data, x.argmax(2))
    assert idx.dtype == np.int64
    np.testing.assert_allclose(t.min(0, keepdim=True).values.data, x.min(0, keepdims=True))
    np.testing.assert_allclose(t.max().data, x.max())
    np.testing.assert_array_equal(t.argmax(1).data, x.argmax(1))
    assert tt.tensor([1, 2]).sum().dtype == np.int64
    with pytest.raises(RuntimeError, match="floating point"):
        tt.tensor([1, 2]).mean()
    with pytest.raises(IndexError, match="out of range"):
        t.sum(3)


def test_shape_operations() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = Tensor(x)
    assert t.reshape(6, 4).shape == (6, 4)
    assert t.view(-1).shape == (24,)
    np.testing.assert_array_equal(t.transpose(0, 2).data, x.transpose(2, 1, 0))
    np.testing.assert_array_equal(t.permute(1, 0, 2).data, x.transpose(1, 0, 2))
    np.testing.assert_array_equal(t.T.data, x.T)
    assert t.unsqueeze(1).shape == (2, 1, 3, 4)
    assert t.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert t.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert t.flatten().shape == (24,)
    assert t.flatten(1).shape == (2, 12)
    assert Tensor(np.ones((1, 3))).expand(4, -1).shape == (4, 3)
    assert Tensor(np.ones((2, 3))).repeat(2, 2).shape == (4, 6)
    np.testing.assert_array_equal(Tensor(x[0]).repeat(2, 1).data, np.tile(x[0], (2, 1)))
    with pytest.raises(RuntimeError, match="invalid for input of size 24"):
        t.reshape(5, 5)
    with pytest.raises(RuntimeError, match="cannot expand"):
        Tensor(np.ones((2, 3))).expand(4, 3)


def test_indexing_slices_integer_arrays_and_masks() -> None:
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    t = Tensor(x)
    np.testing.assert_array_equal(t[1:3, ::2].data, x[1:3, ::2])
    np.testing.assert_array_equal(t[tt.tensor([0, 0, 3])].data, x[[0, 0, 3]])
    np.testing.assert_array_equal(t[t > 10].data, x[x > 10])
    np.testing.assert_array_equal(t[..., -1].data, x[..., -1])
    np.testing.assert_array_equal(
        t.gather(1, tt.tensor([[0], [1], [2], [4]])).data,
        np.take_along_axis(x, np.array([[0], [1], [2], [4]]), 1),
    )
    with pytest.raises(IndexError, match=r"shape \(4, 5\)"):
        t[7]


def test_cat_stack_where() -> None:
    a, b = tt.ones(2, 3), tt.zeros(2, 3)
    assert tt.cat([a, b], 1).shape == (2, 6)
    assert tt.stack([a, b]).shape == (2, 2, 3)
    np.testing.assert_array_equal(tt.where(a > 0, a, b).data, np.ones((2, 3)))
    np.testing.assert_array_equal(tt.where(tt.tensor([True, False]), 1.0, 2.0).data, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="sizes of tensors must match"):
        tt.cat([a, tt.zeros(3, 2)], 0)
    with pytest.raises(RuntimeError, match="equal size"):
        tt.stack([a, tt.zeros(3, 2)])


def test_item_numpy_detach_and_repr() -> None:
    t = tt.tensor([[1.5]])
    assert t.item() == 1.5
    assert isinstance(t.numpy(), np.ndarray)
    assert t.detach().data is t.data
    assert "tensor(" in repr(t)
    with pytest.raises(ValueError, match="2 elements"):
        tt.tensor([1.0, 2.0]).item()


def test_manual_seed_makes_draws_repeatable() -> None:
    tt.manual_seed(7)
    a = tt.randn(3, 3).data.copy()
    tt.manual_seed(7)
    np.testing.assert_array_equal(a, tt.randn(3, 3).data)
    assert tt.rand(2).dtype == np.float32
    with pytest.raises(ValueError, match="non-negative"):
        tt.manual_seed(-1)


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        tt.tensor([1, 2], requires_grad=True)


def test_save_and_load_roundtrip_is_safetensors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = {"w": tt.randn(3, 4), "n": tt.tensor([1, 2, 3])}
    path = tmp_path / "state.safetensors"
    tt.save(state, path)
    loaded = tt.load(path)
    np.testing.assert_array_equal(loaded["w"].data, state["w"].data)
    assert loaded["n"].dtype == np.int64
    assert path.read_bytes()[8:9] == b"{"  # a JSON header, not a pickle
    assert not list(tmp_path.glob("*.tmp"))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="not a valid safetensors"):
        tt.load(bad)
    with pytest.raises(TypeError, match="never pickles"):
        tt.save([1, 2], tmp_path / "x")  # type: ignore[arg-type]
