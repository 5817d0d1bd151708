"""Folding BatchNorm into the preceding layer before quantization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tt_layers import Identity, Linear, Module, Sequential
from tt_quantization import (
    fold_batchnorm,
    load_quantized,
    prepare_qat,
    quantize_model,
    save_quantized,
)
from tt_spatial import BatchNorm1d, BatchNorm2d, Conv2d
from tt_spatial.models import CifarResNet
from tt_tensor import Tensor, manual_seed


def _x(shape: tuple[int, ...], seed: int = 0) -> Tensor:
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _warm(model: Module, shape: tuple[int, ...]) -> None:
    """Train-mode passes so BatchNorm's running statistics are not the defaults."""
    model.train()
    for s in range(3):
        model(_x(shape, s) * (1 + s))
    model.eval()


def test_folding_preserves_eval_outputs() -> None:
    manual_seed(0)
    model = Sequential(Conv2d(3, 6, 3, bias=False), BatchNorm2d(6), Conv2d(6, 4, 1), BatchNorm2d(4))
    _warm(model, (4, 3, 7, 7))
    folded, names = fold_batchnorm(model)
    assert names == ["1", "3"]
    assert isinstance(folded[1], Identity) and isinstance(folded[3], Identity)
    assert folded[0].bias is not None  # a bias appears where BatchNorm's shift went
    assert isinstance(model[1], BatchNorm2d)  # the original is untouched
    x = _x((2, 3, 7, 7), 5)
    np.testing.assert_allclose(folded(x).data, model(x).data, rtol=1e-4, atol=1e-5)


def test_linear_batchnorm1d_and_nested_blocks() -> None:
    manual_seed(1)
    mlp = Sequential(Linear(5, 8), BatchNorm1d(8), Linear(8, 2))
    _warm(mlp, (16, 5))
    folded, names = fold_batchnorm(mlp)
    assert names == ["1"]
    x = _x((3, 5))
    np.testing.assert_allclose(folded(x).data, mlp(x).data, rtol=1e-4, atol=1e-5)
    net = CifarResNet(widths=(4, 8, 8, 8), num_classes=3)
    _warm(net, (4, 3, 32, 32))
    folded_net, names = fold_batchnorm(net)
    assert len(names) == 8 and "3.body.0.1" in names
    x = _x((2, 3, 32, 32), 7)
    np.testing.assert_allclose(folded_net(x).data, net(x).data, rtol=1e-3, atol=1e-4)


def test_untracked_batchnorm_cannot_be_folded() -> None:
    model = Sequential(Conv2d(1, 2, 1), BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(ValueError, match="running statistics"):
        fold_batchnorm(model)


def test_folded_quantized_resnet_round_trips_through_a_file(tmp_path: Path) -> None:
    manual_seed(2)
    net = CifarResNet(widths=(4, 8, 8, 8), num_classes=3)
    _warm(net, (4, 3, 32, 32))
    calib = [_x((8, 3, 32, 32), s) for s in range(2)]
    qnet = quantize_model(net, calib)
    x = _x((16, 3, 32, 32), 9)
    agree = np.mean(qnet(x).data.argmax(1) == net(x).data.argmax(1))
    assert agree >= 0.8
    save_quantized(qnet, tmp_path / "q.safetensors")
    fresh = CifarResNet(widths=(4, 8, 8, 8), num_classes=3)
    loaded = load_quantized(fresh, tmp_path / "q.safetensors")
    np.testing.assert_array_equal(loaded(x).data, qnet(x).data)


def test_prepare_qat_folds_too() -> None:
    manual_seed(3)
    model = Sequential(Conv2d(2, 3, 3), BatchNorm2d(3))
    _warm(model, (2, 2, 5, 5))
    qat = prepare_qat(model)
    assert isinstance(qat[1], Identity)
    unfolded = prepare_qat(model, fold_bn=False)
    assert isinstance(unfolded[1], BatchNorm2d)
