"""Magnitude pruning: the right weights go, and they stay gone through training."""

from __future__ import annotations

import numpy as np
import pytest
from tt_compression import Pruner, model_sparsity
from tt_layers import Flatten, Linear, Module, Sequential
from tt_losses import cross_entropy
from tt_optimizers import SGD, Adam
from tt_spatial import Conv2d
from tt_tensor import Tensor, manual_seed


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def _mlp() -> Sequential:
    manual_seed(0)
    return Sequential(Linear(10, 40), ReLU(), Linear(40, 30), ReLU(), Linear(30, 4))


def _blobs(n: int, seed: int) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(42).standard_normal((4, 10)) * 1.5
    y = rng.integers(0, 4, n)
    return Tensor((centers[y] + rng.standard_normal((n, 10))).astype(np.float32)), Tensor(y)


def _train(model: Module, opt: SGD | Adam, x: Tensor, y: Tensor, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        cross_entropy(model(x), y).backward()
        opt.step()


def _accuracy(model: Module, x: Tensor, y: Tensor) -> float:
    return float(np.mean(model(x).data.argmax(1) == y.data))


def test_layer_scope_prunes_each_layer_to_the_amount() -> None:
    model = _mlp()
    pruner = Pruner(model, 0.7, scope="layer")
    for name, s in pruner.layer_sparsity().items():
        n = dict(pruner.weights)[name].numel()
        assert s == pytest.approx(round(0.7 * n) / n)
    assert all(
        float(np.count_nonzero(p.data)) == p.numel()
        for n, p in model.named_parameters()
        if n.endswith("bias")
    )  # biases are never pruned


def test_layer_scope_removes_the_smallest_magnitudes() -> None:
    model = _mlp()
    before = {n: np.abs(w.data.copy()) for n, w in Pruner(model).weights}
    pruner = Pruner(model, 0.5)
    for name, w in pruner.weights:
        mask = pruner.masks[name]
        assert before[name][~mask].max() <= before[name][mask].min()
        assert np.all(w.data[~mask] == 0)


def test_global_scope_uses_one_threshold() -> None:
    model = _mlp()
    model[4].weight.data *= 10  # a loud layer: global pruning should spare it
    before = {n: np.abs(w.data.copy()) for n, w in Pruner(model).weights}
    pruner = Pruner(model, 0.8, scope="global")
    assert pruner.sparsity() == pytest.approx(0.8, abs=1e-3)
    pruned = np.concatenate([before[n][~m] for n, m in pruner.masks.items()])
    kept = np.concatenate([before[n][m] for n, m in pruner.masks.items()])
    assert pruned.max() <= kept.min()
    per_layer = pruner.layer_sparsity()
    # U(+-1/sqrt(fan_in)) init: layer 2 (fan_in 40) is smallest, layer 4 was made loud
    assert per_layer["4.weight"] < 0.2 < per_layer["0.weight"] < 0.9 < per_layer["2.weight"]


def test_masks_only_shrink_when_sparsity_is_raised() -> None:
    model = _mlp()
    pruner = Pruner(model, 0.5)
    first = {n: m.copy() for n, m in pruner.masks.items()}
    for _, w in pruner.weights:  # training could regrow magnitude anywhere...
        w.data += 0.5
    pruner.apply()
    pruner.prune(0.8)
    for name, mask in pruner.masks.items():
        assert not np.any(mask & ~first[name])  # ...but pruned weights never come back
    assert pruner.sparsity() == pytest.approx(0.8, abs=1e-3)


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda p: Adam(p, lr=1e-2),
    ],
    ids=["sgd-momentum", "adam"],
)
def test_pruned_weights_stay_zero_through_optimizer_steps(make_opt) -> None:  # type: ignore[no-untyped-def]
    model = _mlp()
    x, y = _blobs(128, 0)
    opt = make_opt(model.parameters())
    _train(model, opt, x, y, 3)  # momentum / Adam state from before pruning
    pruner = Pruner(model, 0.9, scope="global")
    pruner.attach(opt)
    pruner.attach(opt)  # idempotent
    _train(model, opt, x, y, 5)
    for name, w in pruner.weights:
        assert np.all(w.data[~pruner.masks[name]] == 0)
    assert pruner.sparsity() == pytest.approx(0.9, abs=1e-3)
    # the kept weights did train
    pruner.detach()
    _train(model, opt, x, y, 1)
    assert pruner.sparsity() < 0.5  # detached: the optimizer moves pruned weights again


def test_without_attach_an_optimizer_step_revives_pruned_weights() -> None:
    """The control for the test above: the mask really is what keeps them at zero."""
    model = _mlp()
    x, y = _blobs(64, 1)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    pruner = Pruner(model, 0.9)
    _train(model, opt, x, y, 1)
    assert pruner.sparsity() < 0.75  # from 0.9: every weight with a gradient moved


def test_mask_gradients() -> None:
    model = _mlp()
    pruner = Pruner(model, 0.5)
    x, y = _blobs(16, 2)
    cross_entropy(model(x), y).backward()
    pruner.mask_gradients()
    for name, w in pruner.weights:
        assert w.grad is not None and np.all(w.grad.data[~pruner.masks[name]] == 0)


def test_ninety_percent_sparse_mlp_recovers_with_fine_tuning() -> None:
    manual_seed(0)
    model = Sequential(Linear(10, 128), ReLU(), Linear(128, 128), ReLU(), Linear(128, 4))
    x, y = _blobs(512, 3)
    xt, yt = _blobs(512, 4)
    opt = Adam(model.parameters(), lr=1e-2)
    _train(model, opt, x, y, 60)
    dense = _accuracy(model, xt, yt)
    pruner = Pruner(model, 0.9, scope="global")
    pruner.attach(opt)
    _train(model, opt, x, y, 60)
    assert pruner.sparsity() == pytest.approx(0.9, abs=1e-3)
    assert _accuracy(model, xt, yt) >= dense - 0.03


def test_conv_weights_are_pruned_too_and_sparsity_counts_biases() -> None:
    manual_seed(1)
    model = Sequential(Conv2d(2, 4, 3), Flatten(), Linear(4 * 4 * 4, 3))
    pruner = Pruner(model, 0.5)
    assert [n for n, _ in pruner.weights] == ["0.weight", "2.weight"]
    total = sum(p.numel() for p in model.parameters())
    zeros = round(0.5 * 72) + round(0.5 * 192)
    assert model_sparsity(model) == pytest.approx(zeros / total)


def test_errors() -> None:
    model = _mlp()
    with pytest.raises(ValueError, match="fraction"):
        Pruner(model, 1.5)
    with pytest.raises(ValueError, match="fraction"):
        Pruner(model).prune(-0.1)
    with pytest.raises(ValueError, match="scope"):
        Pruner(model, 0.5, scope="everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        Pruner(Sequential(ReLU()))
    with pytest.raises(TypeError, match="Optimizer"):
        Pruner(model).attach(object())  # type: ignore[arg-type]
