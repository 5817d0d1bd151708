"""Every gradient rule against float64 central differences."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_autograd as ag
import tt_tensor as tt
from tt_tensor import Tensor


def leaf(*shape: int, seed: int = 0, positive: bool = False) -> Tensor:
    x = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.5
    return Tensor(x, dtype=np.float64, requires_grad=True)


CASES: dict[str, tuple[Callable[..., Tensor], list[Any]]] = {
    "add_broadcast": (lambda a, b: a + b, [leaf(3, 1, 4), leaf(2, 4, seed=1)]),
    "sub_broadcast": (lambda a, b: a - b, [leaf(3, 4), leaf(4, seed=1)]),
    "mul_broadcast": (lambda a, b: a * b, [leaf(2, 3, 1), leaf(1, 4, seed=1)]),
    "div": (lambda a, b: a / b, [leaf(3, 4), leaf(3, 4, seed=1, positive=True)]),
    "rdiv_scalar": (lambda a: 2.0 / a, [leaf(5, positive=True)]),
    "rsub_scalar": (lambda a: 1.0 - a, [leaf(5)]),
    "neg": (lambda a: -a, [leaf(5)]),
    "pow_scalar": (lambda a: a**3, [leaf(5)]),
    "pow_fraction": (lambda a: a**0.5, [leaf(5, positive=True)]),
    "pow_tensor": (lambda a, b: a**b, [leaf(4, positive=True), leaf(4, seed=1)]),
    "exp": (lambda a: a.exp(), [leaf(5)]),
    "log": (lambda a: a.log(), [leaf(5, positive=True)]),
    "sqrt": (lambda a: a.sqrt(), [leaf(5, positive=True)]),
    "abs": (lambda a: a.abs(), [leaf(5, positive=True)]),
    "tanh": (lambda a: a.tanh(), [leaf(5)]),
    "sigmoid": (lambda a: a.sigmoid(), [leaf(5)]),
    "relu": (lambda a: a.relu(), [leaf(7)]),
    "erf": (lambda a: a.erf(), [leaf(7)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [leaf(9)]),
    "maximum": (lambda a, b: a.maximum(b), [leaf(3, 4), leaf(4, seed=1)]),
    "minimum": (lambda a, b: a.minimum(b), [leaf(3, 4), leaf(3, 4, seed=1)]),
    "matmul_2d": (lambda a, b: a @ b, [leaf(3, 4), leaf(4, 2, seed=1)]),
    "matmul_batched_broadcast": (lambda a, b: a @ b, [leaf(2, 3, 4), leaf(4, 5, seed=1)]),
    "matmul_vec_right": (lambda a, b: a @ b, [leaf(2, 3, 4), leaf(4, seed=1)]),
    "matmul_vec_left": (lambda a, b: a @ b, [leaf(4), leaf(2, 4, 3, seed=1)]),
    "matmul_vec_vec": (lambda a, b: a @ b, [leaf(4), leaf(4, seed=1)]),
    "sum_all": (lambda a: a.sum(), [leaf(3, 4)]),
    "sum_dim": (lambda a: a.sum(1), [leaf(3, 4, 2)]),
    "sum_dims_keepdim": (lambda a: a.sum((0, 2), keepdim=True), [leaf(3, 4, 2)]),
    "mean_dim": (lambda a: a.mean(-1), [leaf(3, 4)]),
    "mean_all": (lambda a: a.mean(), [leaf(3, 4)]),
    "var_dim": (lambda a: a.var(0), [leaf(5, 3)]),
    "var_biased": (lambda a: a.var(1, unbiased=False, keepdim=True), [leaf(3, 5)]),
    "max_dim": (lambda a: a.max(1).values, [leaf(3, 5)]),
    "min_dim_keepdim": (lambda a: a.min(0, keepdim=True).values, [leaf(3, 5)]),
    "max_all": (lambda a: a.max(), [leaf(3, 5)]),
    "amax_dims": (lambda a: a.amax((0, 1)), [leaf(3, 5, 2)]),
    "reshape": (lambda a: a.reshape(4, 3) * tt.arange(12.0).reshape(4, 3), [leaf(3, 4)]),
    "transpose": (lambda a: a.transpose(0, 2), [leaf(2, 3, 4)]),
    "permute": (lambda a: a.permute(2, 0, 1), [leaf(2, 3, 4)]),
    "unsqueeze_squeeze": (lambda a: a.unsqueeze(1).squeeze(), [leaf(3, 4)]),
    "expand": (lambda a: a.expand(3, 2, 4), [leaf(2, 1)]),
    "getitem_slice": (lambda a: a[1:, ::2], [leaf(4, 5)]),
    "getitem_int_array_repeats": (lambda a: a[tt.tensor([0, 2, 0, 0])], [leaf(3, 4)]),
    "getitem_pairs": (lambda a: a[tt.tensor([0, 1, 1]), tt.tensor([2, 2, 0])], [leaf(3, 4)]),
    "getitem_mask": (lambda a: a[a.detach() > 0], [leaf(4, 5)]),
    "gather": (lambda a: a.gather(1, tt.tensor([[0, 0], [3, 1], [2, 2]])), [leaf(3, 4)]),
    "cat": (lambda a, b: tt.cat([a, b], 1), [leaf(2, 3), leaf(2, 4, seed=1)]),
    "stack": (lambda a, b: tt.stack([a, b], -1), [leaf(2, 3), leaf(2, 3, seed=1)]),
    "where": (lambda a, b: tt.where(a.detach() > 0, a, b), [leaf(3, 4), leaf(4, seed=1)]),
    "masked_fill": (lambda a: a.masked_fill(a.detach() < 0, 0.0), [leaf(3, 4)]),
    "split": (lambda a: a.split(2, 1)[1] * 3, [leaf(3, 5)]),
    "clone_to": (lambda a: a.clone().to(np.float64), [leaf(3)]),
    "composite_softmax": (
        lambda a: (
            (a - a.amax(1, keepdim=True).detach()).exp()
            / (a - a.amax(1, keepdim=True).detach()).exp().sum(1, keepdim=True)
        ),
        [leaf(3, 5)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name: str) -> None:
    fn, inputs = CASES[name]
    assert ag.gradcheck(fn, inputs)


def test_gradcheck_catches_a_wrong_rule() -> None:
    class BadSquare(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return Tensor(x.data**2)

        @staticmethod
        def backward(ctx: ag.FunctionCtx, g: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return Tensor(3 * x.data * g.data)  # wrong: should be 2x

    with pytest.raises(AssertionError, match="gradcheck failed"):
        ag.gradcheck(BadSquare.apply, [leaf(4)])
    assert not ag.gradcheck(BadSquare.apply, [leaf(4)], raise_exception=False)


def test_gradcheck_requires_float64() -> None:
    with pytest.raises(ValueError, match="float64"):
        ag.gradcheck(lambda a: a * 2, [tt.randn(3, requires_grad=True)])
