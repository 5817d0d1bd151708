"""Every activation's gradient against float64 central differences.

tt-activations does not depend on tt-autograd, so in an environment holding
only this package (and tt-tensor) these checks skip, visibly; the workspace
environment, which CI also runs, has tt-autograd and runs them.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_activations as A
from tt_tensor import Tensor

ag = pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient checks skipped"
)


def leaf(*shape: int, seed: int = 0, scale: float = 1.5) -> Tensor:
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return Tensor(x, dtype=np.float64, requires_grad=True)


def away_from_zero(*shape: int, seed: int = 0) -> Tensor:
    """ReLU has a kink at 0: keep finite differences off it."""
    x = np.random.default_rng(seed).standard_normal(shape)
    x = np.where(np.abs(x) < 0.1, 0.5, x)
    return Tensor(x, dtype=np.float64, requires_grad=True)


CASES: dict[str, tuple[Callable[[Tensor], Tensor], Tensor]] = {
    "relu": (A.relu, away_from_zero(3, 4)),
    "ReLU": (A.ReLU(), away_from_zero(2, 3, seed=1)),
    "sigmoid": (A.sigmoid, leaf(3, 4)),
    "Sigmoid": (A.Sigmoid(), leaf(5)),
    "tanh": (A.tanh, leaf(3, 4)),
    "Tanh": (A.Tanh(), leaf(5)),
    "gelu": (A.gelu, leaf(3, 4)),
    "gelu_tanh": (lambda x: A.gelu(x, approximate="tanh"), leaf(3, 4)),
    "GELU": (A.GELU(), leaf(2, 5, seed=2)),
    "softmax_last": (lambda x: A.softmax(x, -1), leaf(3, 4)),
    "softmax_dim0": (lambda x: A.softmax(x, 0), leaf(3, 4, 2)),
    "Softmax": (A.Softmax(dim=1), leaf(2, 3, 2)),
    "log_softmax": (lambda x: A.log_softmax(x, 1), leaf(3, 4)),
    "LogSoftmax": (A.LogSoftmax(dim=-1), leaf(2, 5)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name: str) -> None:
    fn, x = CASES[name]
    assert ag.gradcheck(fn, [x])


@pytest.mark.parametrize("fn", [lambda x: A.softmax(x, 1), lambda x: A.log_softmax(x, 1)])
def test_gradcheck_large_logits(fn: Callable[[Tensor], Tensor]) -> None:
    """Logits near 1e3: a naive exp overflows; the shifted form keeps exact gradients."""
    x = leaf(2, 4, seed=3)
    x.data += 1000.0
    assert ag.gradcheck(fn, [x])


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_gradients_finite_at_extreme_logits(scale: float) -> None:
    x = Tensor(np.array([[1.0, 0.0, -1.0]], dtype=np.float32) * scale, requires_grad=True)
    (A.log_softmax(x, 1)[0, 1] + A.softmax(x, 1)[0, 0]).backward()
    g: Any = x.grad
    assert g is not None and np.isfinite(g.data).all()
    # d log_softmax_1 / dx = onehot_1 - softmax = [-1, 1, 0] here (softmax is one-hot at 0 or 2)
    sm = np.array([1.0, 0.0, 0.0]) if scale > 0 else np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(g.data[0], np.array([0.0, 1.0, 0.0]) - sm, atol=1e-6)


def test_relu_gradient_at_zero_is_zero() -> None:
    x = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    A.relu(x).sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, 0.0)
