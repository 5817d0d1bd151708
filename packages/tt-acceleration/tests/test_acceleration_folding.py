"""Folded BatchNorm gives the same outputs as the model it came from."""

from __future__ import annotations

import numpy as np
import pytest
from tt_acceleration import can_fold, fold_batchnorm, fold_conv_bn
from tt_autograd import no_grad
from tt_layers import Identity, Linear, Sequential
from tt_spatial import BatchNorm1d, BatchNorm2d, CifarResNet, Conv2d
from tt_tensor import Tensor, manual_seed, randn


def _trained_stats(model: Sequential, x: Tensor, steps: int = 3) -> None:
    """Give BatchNorm non-trivial running statistics and affine parameters."""
    model.train()
    for _ in range(steps):
        model(x)
    for m in model.modules():
        if isinstance(m, BatchNorm1d | BatchNorm2d) and m.weight is not None:
            assert m.bias is not None
            rng = np.random.default_rng(0)
            m.weight.data[...] = rng.uniform(0.5, 1.5, m.weight.shape)
            m.bias.data[...] = rng.uniform(-0.5, 0.5, m.bias.shape)
    model.eval()


def _outputs(model: Sequential, x: Tensor) -> np.ndarray:
    with no_grad():
        return np.asarray(model(x).data)


@pytest.mark.parametrize("bias", [True, False])
def test_conv_bn_fold(bias: bool) -> None:
    manual_seed(0)
    model = Sequential(Conv2d(3, 8, 3, stride=2, padding=1, groups=1, bias=bias), BatchNorm2d(8))
    x = randn(4, 3, 9, 9) * 2 + 1
    _trained_stats(model, x)
    folded, names = fold_batchnorm(model)
    assert names == ["1"]
    assert isinstance(folded[1], Identity) and isinstance(model[1], BatchNorm2d)
    np.testing.assert_allclose(_outputs(folded, x), _outputs(model, x), rtol=1e-5, atol=1e-5)
    assert list(folded.state_dict()) == ["0.weight", "0.bias"]
    assert list(folded._modules) == ["0", "1"]  # children keep their order


def test_grouped_conv_fold_and_single_pair() -> None:
    manual_seed(1)
    conv, bn = Conv2d(4, 6, 3, padding=1, groups=2), BatchNorm2d(6)
    model = Sequential(conv, bn)
    x = randn(2, 4, 6, 6)
    _trained_stats(model, x)
    fused = fold_conv_bn(conv, bn)
    with no_grad():
        np.testing.assert_allclose(fused(x).data, bn(conv(x)).data, rtol=1e-5, atol=1e-5)


def test_linear_bn_fold() -> None:
    manual_seed(2)
    model = Sequential(Linear(5, 7), BatchNorm1d(7), Linear(7, 2))
    x = randn(16, 5)
    _trained_stats(model, x)
    folded, names = fold_batchnorm(model)
    assert names == ["1"]
    np.testing.assert_allclose(_outputs(folded, x), _outputs(model, x), rtol=1e-5, atol=1e-5)


def test_resnet_folds_every_pair_and_keeps_the_original() -> None:
    manual_seed(3)
    model = CifarResNet(widths=(4, 8, 8, 8))
    x = randn(2, 3, 32, 32)
    _trained_stats(model, x, steps=2)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    folded, names = fold_batchnorm(model)
    assert len(names) == 8 and "3.body.0.1" in names
    assert not any(isinstance(m, BatchNorm2d) for m in folded.modules())
    np.testing.assert_allclose(_outputs(folded, x), _outputs(model, x), rtol=1e-4, atol=1e-5)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    assert not folded.training


def test_what_cannot_be_folded_is_left_alone() -> None:
    no_stats = BatchNorm2d(4, track_running_stats=False)
    assert not can_fold(Conv2d(2, 4, 1), no_stats)
    assert not can_fold(Conv2d(2, 4, 1), BatchNorm2d(5))
    assert not can_fold(Linear(2, 4), BatchNorm2d(4))
    model = Sequential(Conv2d(2, 4, 1), no_stats)
    _, names = fold_batchnorm(model)
    assert names == []
    with pytest.raises(ValueError, match="cannot fold"):
        fold_conv_bn(Conv2d(2, 4, 1), no_stats)
