"""Parity with PyTorch: distillation loss and magnitude-pruning masks."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

from tt_compression import DistillationLoss, Pruner  # noqa: E402
from tt_layers import Linear, Sequential  # noqa: E402
from tt_tensor import Tensor, manual_seed  # noqa: E402


@pytest.mark.parametrize(("temp", "alpha"), [(4.0, 0.9), (1.0, 0.3)])
def test_distillation_loss_and_gradient_match_torch(temp: float, alpha: float) -> None:
    rng = np.random.default_rng(0)
    s, t = rng.standard_normal((8, 10)) * 3, rng.standard_normal((8, 10)) * 3
    y = rng.integers(0, 10, 8)
    ours_s = Tensor(s.copy(), requires_grad=True)
    ours = DistillationLoss(temp, alpha)(ours_s, Tensor(t), Tensor(y))
    ours.backward()

    F = torch.nn.functional
    ts = torch.tensor(s, requires_grad=True)
    soft = (
        F.kl_div(
            F.log_softmax(ts / temp, dim=1),
            F.softmax(torch.tensor(t) / temp, dim=1),
            reduction="batchmean",
        )
        * temp**2
    )
    ref = alpha * soft + (1 - alpha) * F.cross_entropy(ts, torch.tensor(y))
    ref.backward()
    assert float(ours.item()) == pytest.approx(float(ref.detach()), rel=1e-10)
    assert ours_s.grad is not None
    np.testing.assert_allclose(ours_s.grad.data, ts.grad.numpy(), rtol=1e-8, atol=1e-12)


def _pair() -> tuple[Sequential, torch.nn.Sequential]:
    manual_seed(0)
    ours = Sequential(Linear(20, 30), Linear(30, 5))
    theirs = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Linear(30, 5))
    with torch.no_grad():
        for a, b in zip(ours, theirs, strict=True):
            b.weight.copy_(torch.from_numpy(a.weight.data))  # type: ignore[union-attr]
    return ours, theirs


def test_layer_masks_match_torch_l1_unstructured() -> None:
    ours, theirs = _pair()
    pruner = Pruner(ours, 0.6, scope="layer")
    prune = importlib.import_module("torch.nn.utils.prune")
    for i, layer in enumerate(theirs):
        prune.l1_unstructured(layer, "weight", amount=0.6)
        np.testing.assert_array_equal(
            pruner.masks[f"{i}.weight"], layer.weight_mask.numpy().astype(bool)
        )


def test_global_masks_match_torch_global_unstructured() -> None:
    ours, theirs = _pair()
    pruner = Pruner(ours, 0.75, scope="global")
    prune = importlib.import_module("torch.nn.utils.prune")
    prune.global_unstructured(
        [(m, "weight") for m in theirs], pruning_method=prune.L1Unstructured, amount=0.75
    )
    for i, layer in enumerate(theirs):
        np.testing.assert_array_equal(
            pruner.masks[f"{i}.weight"], layer.weight_mask.numpy().astype(bool)
        )
