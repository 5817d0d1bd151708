import numpy as np
import pytest
import tt_autograd
from tt_tensor import Tensor
from tt_transformers import LayerNorm, layer_norm

rng = np.random.default_rng(0)


def test_normalises_the_last_dims() -> None:
    x = Tensor((rng.standard_normal((4, 3, 8)) * 5 + 2).astype(np.float32))
    out = LayerNorm(8)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(out.data.var(-1), 1, atol=1e-3)
    both = layer_norm(x, (3, 8))
    d = x.data
    ref = (d - d.mean((1, 2), keepdims=True)) / np.sqrt(d.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(both.data, ref, atol=1e-5)


def test_affine_parameters() -> None:
    ln = LayerNorm((2, 3))
    assert ln.weight is not None and ln.bias is not None
    np.testing.assert_array_equal(ln.weight.data, 1)
    np.testing.assert_array_equal(ln.bias.data, 0)
    assert list(LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(LayerNorm(4, elementwise_affine=False).state_dict()) == []


@pytest.mark.parametrize("shape", [(5,), (2, 5)])
def test_gradcheck_input_weight_bias(shape: tuple[int, ...]) -> None:
    x = Tensor(rng.standard_normal((3, *shape)) * 2, dtype=np.float64, requires_grad=True)
    w = Tensor(rng.standard_normal(shape), dtype=np.float64, requires_grad=True)
    b = Tensor(rng.standard_normal(shape), dtype=np.float64, requires_grad=True)
    assert tt_autograd.gradcheck(lambda a, c, d: layer_norm(a, shape, c, d), [x, w, b])
    assert tt_autograd.gradcheck(lambda a: layer_norm(a, shape), [x])


def test_constant_rows_stay_finite() -> None:
    x = Tensor(np.ones((2, 6), np.float32), requires_grad=True)
    out = layer_norm(x, 6)
    out.sum().backward()
    assert np.isfinite(out.data).all()
    assert x.grad is not None and np.isfinite(x.grad.data).all()


def test_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"expected input with shape \[\*, 4\]"):
        layer_norm(Tensor(np.zeros((2, 3), np.float32)), 4)
    with pytest.raises(ValueError, match="weight must have shape"):
        layer_norm(Tensor(np.zeros((2, 3), np.float32)), 3, Tensor(np.ones(4, np.float32)))
    with pytest.raises(TypeError, match="floating point"):
        layer_norm(Tensor(np.zeros((2, 3), np.int64)), 3)
