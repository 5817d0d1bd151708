"""clip_grad_norm_ and clip_grad_value_ by hand."""

import math

import numpy as np
import pytest
from tt_tensor import Tensor
from tt_training import clip_grad_norm_, clip_grad_value_


def with_grad(*values: float) -> Tensor:
    p = Tensor(np.zeros(len(values), np.float32), requires_grad=True)
    p.grad = Tensor(np.array(values, np.float32))
    return p


def test_global_norm_is_over_all_gradients_together() -> None:
    a, b = with_grad(3.0), with_grad(0.0, 4.0)
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert isinstance(total, Tensor) and total.data.dtype == np.float32
    assert float(total.item()) == pytest.approx(5.0)
    assert a.grad is not None and b.grad is not None
    np.testing.assert_allclose(a.grad.data, [0.6], rtol=1e-5)  # direction kept, length 1
    np.testing.assert_allclose(b.grad.data, [0.0, 0.8], rtol=1e-5)


def test_small_gradients_are_left_alone() -> None:
    a = with_grad(0.3, -0.4)
    assert float(clip_grad_norm_(a, max_norm=1.0).item()) == pytest.approx(0.5)
    assert a.grad is not None
    np.testing.assert_array_equal(a.grad.data, np.array([0.3, -0.4], np.float32))


def test_other_norms_and_parameters_without_grad() -> None:
    a, b, none = with_grad(1.0, -2.0), with_grad(2.0), Tensor(np.zeros(2), requires_grad=True)
    assert float(clip_grad_norm_([a, b, none], 100.0, norm_type=1).item()) == pytest.approx(5.0)
    assert float(clip_grad_norm_([a, b], 100.0, norm_type=math.inf).item()) == 2.0
    total = clip_grad_norm_([a, b], 1.0, norm_type=math.inf)
    assert a.grad is not None
    np.testing.assert_allclose(a.grad.data, [0.5, -1.0], rtol=1e-5)
    assert float(total.item()) == 2.0
    assert float(clip_grad_norm_([none], 1.0).item()) == 0.0


def test_non_finite_norm() -> None:
    a = with_grad(np.inf, 1.0)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_([a], 1.0)  # as in PyTorch: scaled by 1/inf = 0, and no warning
    assert math.isinf(float(total.item()))
    assert a.grad is not None
    np.testing.assert_array_equal(a.grad.data, [np.nan, 0.0])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_([with_grad(1.0)], -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([with_grad(1.0)], 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_([with_grad(1.0)], -1.0)


def test_clip_grad_value() -> None:
    a = with_grad(-3.0, 0.5, 2.0)
    clip_grad_value_(a, 1.0)
    assert a.grad is not None
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])
