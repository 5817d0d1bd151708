"""dropout2d / Dropout2d: whole channels dropped, expectation kept, identity in eval."""

from __future__ import annotations

import numpy as np
import pytest
from tt_autograd import gradcheck
from tt_spatial import Dropout2d, dropout2d
from tt_tensor import Tensor, manual_seed


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest() -> None:
    manual_seed(0)
    x = Tensor(np.ones((64, 8, 3, 3), dtype=np.float32))
    y = dropout2d(x, p=0.25).data
    per_channel = y.reshape(64, 8, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # constant per channel
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.05
    assert y.dtype == np.float32


def test_dropout2d_gradient_is_the_mask() -> None:
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 2, 2)), requires_grad=True)
    manual_seed(3)
    y = dropout2d(x, p=0.5)
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data * x.data, y.data)

    def fn(a: Tensor) -> Tensor:
        manual_seed(3)  # the same mask on every evaluation
        return dropout2d(a, p=0.5)

    assert gradcheck(fn, [x])


def test_dropout2d_module_eval_and_errors() -> None:
    layer = Dropout2d(0.5)
    x = Tensor(np.ones((2, 3, 4, 4), dtype=np.float32))
    layer.eval()
    assert layer(x) is x
    assert dropout2d(x, p=1.0).data.sum() == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"got \(2, 3\)"):
        dropout2d(Tensor(np.ones((2, 3))), 0.5)
