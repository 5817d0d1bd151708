"""Every loss's gradient (input, and target where PyTorch gives one) against float64
central differences.

tt-losses does not depend on tt-autograd: in an isolated environment these
checks skip, visibly; the workspace environment (and CI) runs them.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_losses as L
from tt_tensor import Tensor

ag = pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient checks skipped"
)


def leaf(*shape: int, seed: int = 0, scale: float = 1.5) -> Tensor:
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return Tensor(x, dtype=np.float64, requires_grad=True)


def probs(*shape: int, seed: int = 0, grad: bool = True) -> Tensor:
    p = np.random.default_rng(seed).uniform(0.05, 0.95, shape)
    return Tensor(p, dtype=np.float64, requires_grad=grad)


T = Tensor(np.array([2, 0, 1, 2, 1]))
T_IGN = Tensor(np.array([2, -100, 1, 3, 1]))
W = Tensor(np.array([0.5, 2.0, 1.0, 1.5]))
T_SPATIAL = Tensor(np.random.default_rng(9).integers(0, 3, (2, 4, 2)))

CASES: dict[str, tuple[Callable[..., Tensor], list[Any]]] = {
    "mse": (L.mse_loss, [leaf(3, 4), leaf(3, 4, seed=1)]),
    "mse_sum": (lambda a, b: L.mse_loss(a, b, "sum"), [leaf(5), leaf(5, seed=1)]),
    "MSELoss_none": (L.MSELoss(reduction="none"), [leaf(2, 3), leaf(2, 3, seed=1)]),
    "ce": (lambda x: L.cross_entropy(x, T), [leaf(5, 3)]),
    "ce_sum": (lambda x: L.cross_entropy(x, T, reduction="sum"), [leaf(5, 3)]),
    "ce_none": (lambda x: L.cross_entropy(x, T, reduction="none"), [leaf(5, 3)]),
    "ce_weight_ignore": (lambda x: L.cross_entropy(x, T_IGN, W), [leaf(5, 4)]),
    "ce_smoothing": (
        lambda x: L.cross_entropy(x, T_IGN, W, label_smoothing=0.3),
        [leaf(5, 4)],
    ),
    "ce_smoothing_none": (
        lambda x: L.cross_entropy(x, T, reduction="none", label_smoothing=0.2),
        [leaf(5, 3)],
    ),
    "ce_spatial": (
        lambda x: L.cross_entropy(x, T_SPATIAL, label_smoothing=0.1),
        [leaf(2, 3, 4, 2)],
    ),
    "ce_unbatched": (lambda x: L.cross_entropy(x, Tensor(np.array(1))), [leaf(4)]),
    "ce_probabilities": (
        lambda x, p: L.cross_entropy(x, p, W, label_smoothing=0.1),
        [leaf(3, 4), probs(3, 4, seed=1)],
    ),
    "CrossEntropyLoss": (L.CrossEntropyLoss(weight=W, ignore_index=2), [leaf(5, 4), T]),
    "nll": (lambda x: L.nll_loss(x, T_IGN, W), [leaf(5, 4)]),
    "NLLLoss_sum": (lambda x: L.NLLLoss(reduction="sum")(x, T), [leaf(5, 3)]),
    "bce": (L.binary_cross_entropy, [probs(3, 4), probs(3, 4, seed=1)]),
    "BCELoss_weight": (
        lambda p: L.BCELoss(weight=Tensor(np.array([1.0, 2.0, 0.5])))(p, probs(2, 3, grad=False)),
        [probs(2, 3, seed=2)],
    ),
    "bce_logits": (L.binary_cross_entropy_with_logits, [leaf(3, 4, scale=4), probs(3, 4)]),
    "bce_logits_weights": (
        lambda x, t: L.binary_cross_entropy_with_logits(
            x, t, Tensor(np.array([1.0, 0.5, 2.0])), "sum", Tensor(np.array([3.0, 1.0, 0.2]))
        ),
        [leaf(4, 3, scale=4), probs(4, 3, seed=1)],
    ),
    "BCEWithLogitsLoss_none": (
        L.BCEWithLogitsLoss(reduction="none"),
        [leaf(6), probs(6, seed=1)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name: str) -> None:
    fn, inputs = CASES[name]
    assert ag.gradcheck(fn, inputs)


def test_bce_with_logits_gradient_at_zero_logit() -> None:
    """The stable form has no kink at 0: d/dx = sigmoid(x) - t = 0.5 - t exactly."""
    x = Tensor(np.zeros(3), requires_grad=True)
    t = Tensor(np.array([0.0, 1.0, 0.25]))
    L.binary_cross_entropy_with_logits(x, t, reduction="sum").backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, 0.5 - t.data)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_gradient_at_extreme_logits(scale: float) -> None:
    x = Tensor(np.array([[1.0, 0.0, -1.0]], dtype=np.float32) * scale, requires_grad=True)
    L.cross_entropy(x, Tensor(np.array([1]))).backward()
    assert x.grad is not None
    softmax = np.array([1.0, 0.0, 0.0]) if scale > 0 else np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(x.grad.data[0], softmax - np.array([0.0, 1.0, 0.0]), atol=1e-6)
