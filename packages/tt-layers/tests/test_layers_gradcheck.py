"""Gradients of the layers (inputs and parameters) against float64 central differences.

tt-layers does not depend on tt-autograd: in an isolated environment these
checks skip, visibly; the workspace environment (and CI) runs them.
"""

from typing import Any

import numpy as np
import pytest
import tt_layers as L
import tt_tensor as tt
from tt_layers import functional as F
from tt_tensor import Tensor

ag = pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient checks skipped"
)


def leaf(*shape: int, seed: int = 0) -> Tensor:
    x = np.random.default_rng(seed).standard_normal(shape)
    return Tensor(x, dtype=np.float64, requires_grad=True)


def test_functional_linear() -> None:
    assert ag.gradcheck(F.linear, [leaf(3, 4), leaf(2, 4, seed=1), leaf(2, seed=2)])


def test_functional_linear_batch_dims() -> None:
    assert ag.gradcheck(F.linear, [leaf(2, 3, 4), leaf(5, 4, seed=1), leaf(5, seed=2)])
    assert ag.gradcheck(lambda x, w: F.linear(x, w), [leaf(4), leaf(3, 4, seed=1)])


@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_input_and_parameters(bias: bool) -> None:
    lin = L.Linear(4, 3, bias=bias).double()
    params: list[Any] = list(lin.parameters())
    assert ag.gradcheck(lambda x, *ps: lin(x), [leaf(2, 5, 4), *params])


def test_sequential_mlp() -> None:
    class Square:
        def forward(self, x: Tensor) -> Tensor:
            return x * x

        def __call__(self, x: Tensor) -> Tensor:
            return self.forward(x)

    model = L.Sequential(L.Linear(3, 4), Square(), L.Flatten(0), L.Unflatten(0, (2, 4)))
    model.double()
    assert ag.gradcheck(lambda x, *ps: model(x), [leaf(2, 3), *model.parameters()])


def test_dropout_with_fixed_mask() -> None:
    def fn(x: Tensor) -> Tensor:
        tt.manual_seed(0)  # the same mask at every evaluation
        return F.dropout(x, 0.4, training=True)

    assert ag.gradcheck(fn, [leaf(4, 5)])


def test_linear_backward_accumulates_into_parameters() -> None:
    lin = L.Linear(3, 2)
    x = tt.randn(5, 3)
    lin(x).sum().backward()
    assert lin.weight.grad is not None and lin.bias is not None and lin.bias.grad is not None
    np.testing.assert_allclose(lin.weight.grad.data, np.tile(x.data.sum(0), (2, 1)), rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.data, [5.0, 5.0])
    lin.zero_grad()
    assert lin.weight.grad is None
