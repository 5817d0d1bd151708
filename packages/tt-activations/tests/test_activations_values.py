"""Forward values against NumPy, stability at extreme logits, errors, and the module API.

These need only tt-tensor: they run in the isolated environment too.
"""

import math
import warnings
from typing import Any

import numpy as np
import pytest
import tt_activations as A
import tt_activations.functional as F
from tt_tensor import Tensor

erf = np.vectorize(math.erf)


def rand(*shape: int, seed: int = 0, scale: float = 2.0) -> np.ndarray[Any, Any]:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def np_softmax(x: np.ndarray[Any, Any], dim: int) -> np.ndarray[Any, Any]:
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    out: np.ndarray[Any, Any] = e / e.sum(axis=dim, keepdims=True)
    return out


def test_relu_sigmoid_tanh_values() -> None:
    x = rand(4, 5)
    np.testing.assert_array_equal(A.relu(Tensor(x)).data, np.maximum(x, 0))
    np.testing.assert_allclose(A.sigmoid(Tensor(x)).data, 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(A.tanh(Tensor(x)).data, np.tanh(x), rtol=1e-6)
    for fn in (A.relu, A.sigmoid, A.tanh):
        assert fn(Tensor(x)).dtype == np.float32


def test_sigmoid_extremes_do_not_overflow() -> None:
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    out = A.sigmoid(Tensor(x)).data
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_exact_matches_erf_formula(dtype: Any) -> None:
    x = np.linspace(-6, 6, 101).astype(dtype)
    expected = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    out = A.gelu(Tensor(x)).data
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_gelu_tanh_approximation() -> None:
    x = np.linspace(-6, 6, 101)
    expected = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(A.gelu(Tensor(x), approximate="tanh").data, expected, atol=1e-12)
    # the approximation stays within 1e-3 of the exact GELU
    exact = A.gelu(Tensor(x)).data
    assert np.abs(exact - expected).max() < 1e-3


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_values(dim: int) -> None:
    x = rand(3, 4, 5)
    sm = A.softmax(Tensor(x), dim).data
    np.testing.assert_allclose(sm, np_softmax(x, dim), rtol=1e-5)
    np.testing.assert_allclose(sm.sum(axis=dim), 1.0, rtol=1e-6)
    lsm = A.log_softmax(Tensor(x), dim).data
    np.testing.assert_allclose(lsm, np.log(np_softmax(x, dim)), atol=1e-5)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_stable_for_huge_logits(scale: float) -> None:
    x = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, -2.0]], dtype=np.float32) * scale
    sm = A.softmax(Tensor(x), 1).data
    lsm = A.log_softmax(Tensor(x), 1).data
    assert np.isfinite(sm).all() and np.isfinite(lsm).all()
    np.testing.assert_allclose(sm.sum(1), 1.0, rtol=1e-6)
    # exact answers: the shifted logits are 0 or multiples of |scale|
    z = x - x.max(1, keepdims=True)
    lse = np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(lsm, z - lse, rtol=1e-6)


def test_softmax_fully_masked_row_and_inf() -> None:
    x = np.array([[0.0, -np.inf, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(
        A.softmax(Tensor(x), 1).data, np_softmax(np.array([[0, -80, 1.0]]), 1), atol=1e-7
    )


def test_softmax_dtype_argument_and_int_error() -> None:
    x = rand(2, 3)
    assert A.softmax(Tensor(x), 1, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        A.softmax(Tensor(np.array([[1, 2]])), 1)


def test_softmax_implicit_dim_warns_like_pytorch() -> None:
    x = rand(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = A.softmax(Tensor(x))
    np.testing.assert_allclose(out.data, np_softmax(x, 1), rtol=1e-6)
    with pytest.warns(UserWarning):
        out = A.Softmax()(Tensor(x[0]))  # 1-D: dim 0
    np.testing.assert_allclose(out.data, np_softmax(x[0], 0), rtol=1e-6)


def test_softmax_dim_out_of_range() -> None:
    with pytest.raises(IndexError, match=r"dim 2 is out of range .*\(2, 3\)"):
        A.softmax(Tensor(rand(2, 3)), 2)


def test_gelu_bad_approximate() -> None:
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        A.gelu(Tensor(rand(3)), approximate="fast")
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        A.GELU("erf")


def test_modules_match_functions() -> None:
    x = Tensor(rand(3, 4))
    pairs = [
        (A.ReLU(), F.relu(x)),
        (A.Sigmoid(), F.sigmoid(x)),
        (A.Tanh(), F.tanh(x)),
        (A.GELU(), F.gelu(x)),
        (A.GELU("tanh"), F.gelu(x, "tanh")),
        (A.Softmax(dim=0), F.softmax(x, 0)),
        (A.LogSoftmax(dim=1), F.log_softmax(x, 1)),
    ]
    for module, expected in pairs:
        np.testing.assert_array_equal(module(x).data, expected.data)


def test_module_repr_like_pytorch() -> None:
    assert repr(A.ReLU()) == "ReLU()"
    assert repr(A.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(A.Sigmoid()) == "Sigmoid()"
    assert repr(A.Tanh()) == "Tanh()"
    assert repr(A.GELU()) == "GELU(approximate='none')"
    assert repr(A.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(A.LogSoftmax(dim=-1)) == "LogSoftmax(dim=-1)"


def test_module_like_interface() -> None:
    m = A.ReLU()

    def mode() -> bool:
        return m.training

    assert mode()
    assert m.eval() is m and not mode()
    assert m.train() is m and mode()
    assert list(m.parameters()) == []
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")  # type: ignore[arg-type]


def test_forward_hooks_and_removable_handles() -> None:
    m = A.Tanh()
    seen: list[tuple[Any, ...]] = []

    def pre(module: Any, args: tuple[Any, ...]) -> Any:
        seen.append(("pre", module))
        return (args[0] * 2,)

    def post(module: Any, args: tuple[Any, ...], out: Any) -> Any:
        seen.append(("post", args[0].data.copy()))
        return out + 1

    x = Tensor(np.array([0.1, 0.2], dtype=np.float32))
    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    out = m(x)
    np.testing.assert_allclose(out.data, np.tanh(2 * x.data) + 1, rtol=1e-6)
    assert seen[0] == ("pre", m)
    np.testing.assert_allclose(seen[1][1], 2 * x.data)
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    np.testing.assert_allclose(m(x).data, np.tanh(x.data), rtol=1e-6)
    with m.register_forward_hook(lambda mod, a, o: o * 0):
        assert not m(x).data.any()
    np.testing.assert_allclose(m(x).data, np.tanh(x.data), rtol=1e-6)


def test_no_warnings_on_extremes() -> None:
    x = Tensor(np.array([[-1e4, 1e4, 0.0]], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (A.relu, A.sigmoid, A.tanh, A.gelu):
            assert np.isfinite(fn(x).data).all()
        assert np.isfinite(A.gelu(x, "tanh").data).all()
        assert np.isfinite(A.log_softmax(x, 1).data).all()
