"""tt_layers.init: PyTorch's formulas, checked through the statistics of large draws."""

import math

import numpy as np
import pytest
import tt_tensor as tt
from tt_layers import init
from tt_tensor import Tensor


def empty(*shape: int) -> Tensor:
    return Tensor(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize(
    ("name", "param", "gain"),
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", math.sqrt(5), math.sqrt(2 / 6)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(name: str, param: float | None, gain: float) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(gain)


def test_calculate_gain_errors() -> None:
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")  # type: ignore[arg-type]


def test_fans_for_linear_and_conv_shapes() -> None:
    assert init._calculate_fan_in_and_fan_out(empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(got shape \(5,\)\)"):
        init.xavier_uniform_(empty(5))


def test_uniform_normal_constant() -> None:
    tt.manual_seed(0)
    t = init.uniform_(empty(100, 100), -2.0, 3.0)
    assert t.data.min() >= -2 and t.data.max() <= 3 and abs(t.data.mean() - 0.5) < 0.05
    n = init.normal_(empty(100, 100), 1.0, 2.0)
    assert abs(n.data.mean() - 1) < 0.06 and abs(n.data.std() - 2) < 0.06
    assert (init.zeros_(empty(2, 2)).data == 0).all()
    assert (init.ones_(empty(2, 2)).data == 1).all()
    assert (init.constant_(empty(2), 0.25).data == 0.25).all()
    assert t.dtype == np.float32


def test_trunc_normal_bounds() -> None:
    t = init.trunc_normal_(empty(200, 50), std=1.0, a=-1.0, b=0.5)
    assert t.data.min() >= -1.0 and t.data.max() <= 0.5
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(empty(2, 2), a=1.0, b=0.0)


def test_kaiming_uniform_default_linear_bound() -> None:
    tt.manual_seed(1)
    w = init.kaiming_uniform_(empty(300, 100), a=math.sqrt(5))
    bound = 1 / math.sqrt(100)  # gain sqrt(2/6) * sqrt(3 / 100)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_statistics(mode: str) -> None:
    tt.manual_seed(2)
    fan = 50 if mode == "fan_in" else 400
    std = math.sqrt(2) / math.sqrt(fan)
    u = init.kaiming_uniform_(empty(400, 50), mode=mode, nonlinearity="relu")
    assert abs(u.data.std() / std - 1) < 0.03
    assert np.abs(u.data).max() <= math.sqrt(3) * std
    n = init.kaiming_normal_(empty(400, 50), mode=mode, nonlinearity="relu")
    assert abs(n.data.std() / std - 1) < 0.03


def test_xavier_statistics() -> None:
    tt.manual_seed(3)
    std = 2.0 * math.sqrt(2 / (300 + 100))
    u = init.xavier_uniform_(empty(300, 100), gain=2.0)
    assert abs(u.data.std() / std - 1) < 0.03 and np.abs(u.data).max() <= math.sqrt(3) * std
    n = init.xavier_normal_(empty(300, 100), gain=2.0)
    assert abs(n.data.std() / std - 1) < 0.03


def test_init_errors_and_generators() -> None:
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(empty(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(empty(0, 3))
    a = init.normal_(empty(3, 3), generator=np.random.default_rng(5))
    b = init.normal_(empty(3, 3), generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a.data, b.data)


def test_init_works_on_parameters_that_require_grad() -> None:
    from tt_layers import Parameter

    p = Parameter(np.zeros((3, 3), dtype=np.float32))
    init.xavier_uniform_(p)
    assert p.data.any() and p.requires_grad and p.grad_fn is None
