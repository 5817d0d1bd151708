"""Structured channel pruning: layers and their neighbours really shrink, outputs stay right."""

from __future__ import annotations

import numpy as np
import pytest
from tt_compression import compression_stats, prune_channels
from tt_layers import Dropout, Flatten, Linear, Module, Sequential
from tt_profiling import flops_of
from tt_spatial import BatchNorm2d, Conv2d, MaxPool2d
from tt_spatial.models import CifarResNet
from tt_tensor import Tensor, manual_seed


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def _x(shape: tuple[int, ...], seed: int = 0) -> Tensor:
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_mlp_dead_neurons_are_removed_and_outputs_do_not_change() -> None:
    manual_seed(0)
    model = Sequential(Linear(8, 20), ReLU(), Dropout(0.1), Linear(20, 12), ReLU(), Linear(12, 3))
    model.eval()
    dead1, dead2 = np.arange(0, 20, 2), np.arange(0, 12, 2)  # half the neurons output 0
    model[0].weight.data[dead1] = 0
    model[0].bias.data[dead1] = 0
    model[3].weight.data[dead2] = 0
    model[3].bias.data[dead2] = 0
    x = _x((16, 8))
    small, report = prune_channels(model, 0.5)
    assert [(r.name, r.channels_before, r.channels_after) for r in report] == [
        ("0", 20, 10),
        ("3", 12, 6),
    ]
    assert small[0].weight.shape == (10, 8) and small[0].out_features == 10
    assert small[3].weight.shape == (6, 10) and small[3].in_features == 10
    assert small[5].weight.shape == (3, 6) and small[5].in_features == 6
    assert small[5].out_features == 3  # the output layer keeps its outputs
    np.testing.assert_allclose(small(x).data, model(x).data, rtol=1e-5, atol=1e-6)
    assert model[0].weight.shape == (20, 8)  # the original is untouched


def _cnn() -> Sequential:
    manual_seed(1)
    return Sequential(
        Conv2d(3, 8, 3, padding=1),
        BatchNorm2d(8),
        ReLU(),
        MaxPool2d(2),
        Conv2d(8, 6, 3, padding=1),
        BatchNorm2d(6),
        ReLU(),
        Flatten(),
        Linear(6 * 4 * 4, 5),
    )


def test_conv_batchnorm_and_flatten_linear_shrink_together() -> None:
    model = _cnn()
    model.train()
    for s in range(3):
        model(_x((8, 3, 8, 8), s))  # non-trivial running statistics
    model.eval()
    # BatchNorm gamma = beta = 0 silences a channel completely: those must be the ones removed
    model[1].weight.data[[1, 4, 6, 7]] = 0
    model[1].bias.data[[1, 4, 6, 7]] = 0
    model[5].weight.data[[0, 2, 5]] = 0
    model[5].bias.data[[0, 2, 5]] = 0
    x = _x((4, 3, 8, 8), 9)
    small, report = prune_channels(model, 0.5)
    assert [(r.channels_before, r.channels_after) for r in report] == [(8, 4), (6, 3)]
    c1, bn1, c2, bn2, fc = small[0], small[1], small[4], small[5], small[8]
    assert c1.weight.shape == (4, 3, 3, 3) and c1.out_channels == 4 and c1.bias.shape == (4,)
    assert bn1.num_features == 4 and bn1.running_mean.shape == (4,)
    assert bn1.running_var.shape == (4,)
    assert c2.weight.shape == (3, 4, 3, 3) and c2.in_channels == 4
    assert bn2.weight.shape == (3,)
    assert fc.weight.shape == (5, 3 * 16) and fc.in_features == 48
    np.testing.assert_allclose(small(x).data, model(x).data, rtol=1e-4, atol=1e-5)


def test_pruned_model_needs_fewer_flops_and_parameters() -> None:
    model = _cnn()
    model.eval()
    x = _x((2, 3, 8, 8))
    small, _ = prune_channels(model, 0.5)
    assert flops_of(small, x) < 0.6 * flops_of(model, x)
    before = compression_stats(model, x, time_it=False)
    after = compression_stats(small, x, time_it=False)
    assert after.params < 0.6 * before.params and after.flops == flops_of(small, x)


def test_residual_blocks_keep_their_width_and_prune_inside() -> None:
    manual_seed(2)
    model = CifarResNet(widths=(4, 8, 8, 8), num_classes=3)
    model.eval()
    small, report = prune_channels(model, 0.5)
    names = [r.name for r in report]
    # inside a residual body the first block's outputs feed only the second block
    assert "3.body.0.0" in names and "3.body.1.0" not in names
    # a layer feeding a residual addition keeps its channels
    assert "1.0" not in names
    x = _x((2, 3, 32, 32))
    assert small(x).shape == (2, 3)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_criterion_and_argument_errors() -> None:
    model = _cnn()
    with pytest.raises(ValueError, match="fraction"):
        prune_channels(model, 1.0)
    with pytest.raises(ValueError, match="criterion"):
        prune_channels(model, 0.5, criterion="random")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Module"):
        prune_channels(object(), 0.5)  # type: ignore[type-var]
    mlp = Sequential(Linear(4, 6), ReLU(), Linear(6, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        prune_channels(mlp, 0.5, criterion="bn")
    same, report = prune_channels(mlp, 0.0)
    assert report == [] and same[0].out_features == 6


def test_unknown_layer_in_between_stops_pruning() -> None:
    class Scale(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * 2

    class Mix(Module):  # not channel-wise: mixes features, so channels cannot be removed
        def forward(self, x: Tensor) -> Tensor:
            return x - x.mean(1, keepdim=True)

    model = Sequential(Linear(4, 6), Mix(), Linear(6, 6), Scale(), Linear(6, 2))
    _, report = prune_channels(model, 0.5)
    assert report == []


def test_through_residuals_prunes_tied_channels_and_dead_ones_change_nothing() -> None:
    manual_seed(4)
    model = CifarResNet(widths=(4, 8, 8, 8), num_classes=3)
    model.eval()
    # silence half the channels of every BatchNorm (residual streams included):
    # pruning exactly those (smallest |gamma|) cannot change the output
    for bn in (m for m in model.modules() if isinstance(m, BatchNorm2d)):
        dead = np.arange(0, bn.num_features, 2)
        bn.weight.data[dead] = 0
        bn.bias.data[dead] = 0
    x = _x((2, 3, 32, 32))
    want = model(x).data
    small, report = prune_channels(model, 0.5, through_residuals=True)
    pruned = {r.name: (r.channels_before, r.channels_after) for r in report}
    for name in ("1.0", "3.body.1.0", "6.0", "8.body.1.0"):
        assert pruned[name] == (8, 4)
    assert small[3].body[0][0].in_channels == 4 and small[4][0].in_channels == 4
    assert small[8].body[0][0].in_channels == 4 and small[11].in_features == 4
    assert small[1][1].num_features == 4 and small[3].body[1][1].num_features == 4
    np.testing.assert_allclose(small(x).data, want, rtol=1e-4, atol=1e-5)
    # without the option those layers keep their width
    _, plain = prune_channels(model, 0.5)
    assert "1.0" not in {r.name for r in plain}


def test_through_residuals_follows_only_channelwise_blocks() -> None:
    from tt_spatial import Residual

    class Mix(Module):  # mixes channels: the tie cannot be followed through it
        def forward(self, x: Tensor) -> Tensor:
            return x - x.mean(1, keepdim=True)

    def model(tail: Module) -> Sequential:
        manual_seed(5)
        net = Sequential(
            Conv2d(3, 6, 3, padding=1),
            ReLU(),
            Residual(Sequential(Conv2d(6, 6, 3, padding=1), tail)),
            Flatten(),
            Linear(6 * 4 * 4, 2),
        )
        return net.eval()

    x = _x((2, 3, 4, 4))
    plain = model(ReLU())
    small, report = prune_channels(plain, 0.5, through_residuals=True)
    assert {r.name for r in report} == {"0", "2.body.0"}  # one conv is the body's first and last
    assert small(x).shape == (2, 2) and small[4].in_features == 3 * 16
    _, report = prune_channels(model(Mix()), 0.5, through_residuals=True)
    assert report == []
