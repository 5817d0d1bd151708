"""Update rules checked by hand, parameter groups, zero_grad, closures and errors."""

import math
from typing import Any

import numpy as np
import pytest
import tt_autograd
from tt_optimizers import SGD, Adam, AdamW, Optimizer
from tt_tensor import Tensor


def param(values: list[float], grad: list[float] | None = None) -> Tensor:
    p = Tensor(np.array(values, dtype=np.float32), requires_grad=True)
    if grad is not None:
        p.grad = Tensor(np.array(grad, dtype=np.float32))
    return p


def test_sgd_plain_step_by_hand() -> None:
    p = param([1.0, -2.0], [0.5, -1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -1.9], rtol=1e-6)
    assert p.data.dtype == np.float32


def test_sgd_momentum_buffer_starts_at_first_gradient() -> None:
    p = param([0.0], [1.0])
    opt = SGD([p], lr=1.0, momentum=0.9, dampening=0.5)
    opt.step()  # buf = g = 1 (no dampening on the first step)
    np.testing.assert_allclose(p.data, [-1.0])
    opt.step()  # buf = 0.9*1 + 0.5*1 = 1.4
    np.testing.assert_allclose(p.data, [-2.4], rtol=1e-6)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].data, [1.4], rtol=1e-6)


def test_sgd_nesterov_and_weight_decay_by_hand() -> None:
    p = param([2.0], [1.0])
    opt = SGD([p], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.25)
    opt.step()  # g = 1 + 0.25*2 = 1.5; buf = 1.5; g = 1.5 + 0.5*1.5 = 2.25
    np.testing.assert_allclose(p.data, [2.0 - 0.225], rtol=1e-6)


def test_sgd_maximize_climbs() -> None:
    p = param([1.0], [2.0])
    SGD([p], lr=0.5, maximize=True).step()
    np.testing.assert_allclose(p.data, [2.0])


def test_adam_first_steps_by_hand() -> None:
    p = param([1.0, 1.0], [0.1, -3.0])
    opt = Adam([p], lr=0.01)
    opt.step()
    # step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) = ±lr
    np.testing.assert_allclose(p.data, [0.99, 1.01], rtol=1e-6)
    p.grad = Tensor(np.array([0.2, 0.0], dtype=np.float32))
    opt.step()
    b1, b2 = 0.9, 0.999
    expected = []
    for g1, g2, start in ((0.1, 0.2, 0.99), (-3.0, 0.0, 1.01)):
        m = b1 * (1 - b1) * g1 + (1 - b1) * g2
        v = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2 * g2
        denom = math.sqrt(v) / math.sqrt(1 - b2**2) + 1e-8
        expected.append(start - 0.01 / (1 - b1**2) * m / denom)
    np.testing.assert_allclose(p.data, expected, rtol=1e-5)
    assert opt.state[p]["step"] == 2


def test_adam_eps_is_added_after_bias_correction() -> None:
    # with a tiny gradient, eps placement decides the step size
    p = param([0.0], [1e-6])
    Adam([p], lr=1.0, eps=1e-6).step()
    # denom = |g|/1 + eps = 2e-6 (bias corrections are 1 - β^1 for both moments)
    np.testing.assert_allclose(p.data, [-0.5], rtol=1e-5)


def test_amsgrad_keeps_the_largest_second_moment() -> None:
    p = param([0.0], [10.0])
    opt = Adam([p], lr=0.1, amsgrad=True)
    opt.step()
    p.grad = Tensor(np.array([0.0], dtype=np.float32))
    for _ in range(3):
        opt.step()
    st = opt.state[p]
    assert st["max_exp_avg_sq"].data[0] >= st["exp_avg_sq"].data[0]
    np.testing.assert_allclose(st["max_exp_avg_sq"].data, [(1 - 0.999) * 100], rtol=1e-5)


def test_adamw_decay_is_decoupled() -> None:
    p = param([2.0], [0.0])
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    # zero gradient: Adam's part is 0/(0+eps) = 0, only the decay acts
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.5)], rtol=1e-6)
    q = param([2.0], [0.0])
    Adam([q], lr=0.1, weight_decay=0.5).step()
    # L2 decay goes through the moments: a full normalised step of -lr
    np.testing.assert_allclose(q.data, [1.9], rtol=1e-5)


def test_float64_parameters_stay_float64() -> None:
    p = Tensor(np.array([1.0, 2.0]), dtype=np.float64, requires_grad=True)
    p.grad = Tensor(np.array([0.5, 0.5]), dtype=np.float64)
    opt = Adam([p])
    opt.step()
    assert p.data.dtype == np.float64
    assert opt.state[p]["exp_avg"].data.dtype == np.float64


def test_update_is_in_place_and_records_no_graph() -> None:
    p = param([1.0, 2.0], [1.0, 1.0])
    before = p.data
    SGD([p], lr=0.1, momentum=0.9).step()
    assert p.data is before
    assert p.is_leaf and p.grad_fn is None


def test_params_without_grad_are_skipped() -> None:
    a, b = param([1.0], [1.0]), param([5.0])
    opt = Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_allclose(b.data, [5.0])
    assert b not in opt.state


def test_zero_grad_to_none_and_in_place() -> None:
    p = param([1.0], [3.0])
    opt = SGD([p], lr=0.1)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and g is not None and g.data[0] == 0
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_evaluated_with_grad_enabled() -> None:
    p = param([3.0])
    opt = SGD([p], lr=0.25)

    def closure() -> Tensor:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tt_autograd.no_grad():
        loss = opt.step(closure)
    assert float(loss.item()) == pytest.approx(9.0)
    np.testing.assert_allclose(p.data, [1.5])  # 3 - 0.25 * 6


def test_param_groups_have_their_own_hyperparameters() -> None:
    a, b = param([1.0], [1.0]), param([1.0], [1.0])
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["momentum"] == 0.9
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    c = param([0.0], [1.0])
    opt.add_param_group({"params": [c], "lr": 1.0})
    opt.step()
    np.testing.assert_allclose(c.data, [-1.0])


def test_generator_of_parameters_or_one_group_dict_is_accepted() -> None:
    ps = [param([1.0]), param([2.0])]
    opt = Adam(p for p in ps)
    assert opt.param_groups[0]["params"] == ps
    one = SGD({"params": ps, "lr": 0.5})
    assert len(one.param_groups) == 1 and one.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda ps: SGD(ps, lr=-0.1), "-0.1"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "Nesterov"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
        (lambda ps: Adam(ps, lr=-1e-3), "learning rate"),
        (lambda ps: Adam(ps, lr=float("nan")), "nan"),
        (lambda ps: Adam(ps, eps=-1e-8), "epsilon"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), "index 0: 1.0"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), "index 1: -0.1"),
        (lambda ps: Adam(ps, betas=(0.9,)), "pair"),
        (lambda ps: AdamW(ps, weight_decay=-0.01), "-0.01"),
        (lambda ps: SGD([{"params": ps, "lr": -2.0}], lr=0.1), "-2.0"),
        (lambda ps: SGD([], lr=0.1), "empty"),
        (lambda ps: SGD(ps + ps, lr=0.1), "more than one"),
    ],
)
def test_invalid_hyperparameters_raise_value_error(make: Any, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        make([param([1.0])])


def test_wrong_param_types_raise_type_error() -> None:
    p = param([1.0])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        SGD([p, np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="int64"):
        SGD([Tensor(np.array([1, 2]))], lr=0.1)


def test_non_leaf_tensors_cannot_be_optimized() -> None:
    p = param([1.0])
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([p * 2], lr=0.1)


def test_base_class_requires_an_update_rule() -> None:
    p = param([1.0], [1.0])
    with pytest.raises(NotImplementedError):
        Optimizer([p], {"lr": 0.1}).step()
