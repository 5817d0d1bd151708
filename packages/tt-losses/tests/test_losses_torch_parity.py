"""Loss values and gradients against PyTorch: random inputs, broadcasting weights,
ignore_index, label smoothing, probability targets and extreme logits."""

from typing import Any

import numpy as np
import pytest
import tt_losses as L
from tt_tensor import Tensor

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient parity skipped"
)
TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def check(
    ours: Any,
    theirs: Any,
    inputs: list[np.ndarray[Any, Any]],
    grads: list[bool],
    atol: float = 1e-5,
) -> None:
    """Run both, compare values, then compare gradients of a random projection."""
    a = [Tensor(x, requires_grad=g) for x, g in zip(inputs, grads, strict=True)]
    b = [torch.tensor(x, requires_grad=g) for x, g in zip(inputs, grads, strict=True)]
    ya, yb = ours(*a), theirs(*b)
    np.testing.assert_allclose(ya.data, yb.detach().numpy(), rtol=1e-5, atol=atol)
    proj = np.random.default_rng(5).standard_normal(ya.shape).astype(ya.dtype)
    (ya * Tensor(proj)).sum().backward()
    (yb * torch.tensor(proj)).sum().backward()
    for ta, tb, g in zip(a, b, grads, strict=True):
        if g:
            assert ta.grad is not None
            np.testing.assert_allclose(ta.grad.data, tb.grad.numpy(), rtol=1e-4, atol=atol)


def rand(*shape: int, seed: int = 0, scale: float = 2.0) -> np.ndarray[Any, Any]:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse(reduction: str) -> None:
    check(
        lambda a, b: L.mse_loss(a, b, reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        [rand(4, 5), rand(4, 5, seed=1)],
        [True, True],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_indices(reduction: str, smoothing: float, weighted: bool) -> None:
    rng = np.random.default_rng(1)
    t = rng.integers(0, 6, 16)
    t[[2, 9]] = -100
    w = rng.uniform(0.2, 2.0, 6).astype(np.float32) if weighted else None

    def ours(x: Any) -> Any:
        return L.cross_entropy(
            x,
            Tensor(t),
            None if w is None else Tensor(w),
            reduction=reduction,
            label_smoothing=smoothing,
        )

    def theirs(x: Any) -> Any:
        return TF.cross_entropy(
            x,
            torch.tensor(t),
            None if w is None else torch.tensor(w),
            reduction=reduction,
            label_smoothing=smoothing,
        )

    check(ours, theirs, [rand(16, 6)], [True])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial(reduction: str) -> None:
    t = np.random.default_rng(2).integers(0, 4, (2, 3, 5))
    t[1, 2, 3] = 1  # also the ignore_index below
    w = np.array([0.5, 1.0, 2.0, 1.5], dtype=np.float32)
    check(
        lambda x: L.cross_entropy(x, Tensor(t), Tensor(w), 1, reduction, 0.1),
        lambda x: TF.cross_entropy(
            x, torch.tensor(t), torch.tensor(w), None, 1, None, reduction, 0.1
        ),
        [rand(2, 4, 3, 5)],
        [True],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction: str) -> None:
    p = np.random.default_rng(3).random((5, 4)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = np.array([0.5, 1.0, 2.0, 1.5], dtype=np.float32)
    check(
        lambda x, q: L.cross_entropy(x, q, Tensor(w), reduction=reduction, label_smoothing=0.2),
        lambda x, q: TF.cross_entropy(
            x, q, torch.tensor(w), reduction=reduction, label_smoothing=0.2
        ),
        [rand(5, 4), p],
        [True, True],
    )


def test_cross_entropy_unbatched() -> None:
    check(
        lambda x: L.cross_entropy(x, Tensor(np.array(2)), label_smoothing=0.1),
        lambda x: TF.cross_entropy(x, torch.tensor(2), label_smoothing=0.1),
        [rand(5)],
        [True],
    )


@pytest.mark.parametrize("scale", [1e4, -1e4, 1e3])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_extreme_logits(scale: float, smoothing: float) -> None:
    rng = np.random.default_rng(4)
    x = rng.choice(np.array([-1.0, 0.0, 0.5, 1.0], dtype=np.float32), (8, 5)) * scale
    t = rng.integers(0, 5, 8)
    check(
        lambda x: L.cross_entropy(x, Tensor(t), label_smoothing=smoothing, reduction="none"),
        lambda x: TF.cross_entropy(x, torch.tensor(t), label_smoothing=smoothing, reduction="none"),
        [x],
        [True],
        atol=1e-3,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction: str) -> None:
    t = np.array([0, 3, 1, 1, 2, 3])
    w = np.array([1.0, 0.2, 3.0, 0.7], dtype=np.float32)
    check(
        lambda x: L.nll_loss(x, Tensor(t), Tensor(w), ignore_index=2, reduction=reduction),
        lambda x: TF.nll_loss(
            x, torch.tensor(t), torch.tensor(w), ignore_index=2, reduction=reduction
        ),
        [rand(6, 4)],
        [True],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction: str) -> None:
    rng = np.random.default_rng(6)
    p = rng.uniform(0.02, 0.98, (4, 3)).astype(np.float32)
    t = rng.random((4, 3)).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)  # broadcast over the batch
    check(
        lambda p, t: L.binary_cross_entropy(p, t, Tensor(w), reduction),
        lambda p, t: TF.binary_cross_entropy(p, t, torch.tensor(w), reduction=reduction),
        [p, t],
        [True, True],
    )


def test_bce_saturated_probabilities() -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    ours = L.binary_cross_entropy(Tensor(p), Tensor(t), reduction="none").data
    theirs = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none").numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction: str) -> None:
    rng = np.random.default_rng(7)
    x = rand(4, 3, scale=6.0)
    x[0, 0] = 0.0
    t = rng.random((4, 3)).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    pw = np.array([3.0, 1.0, 0.25], dtype=np.float32)
    check(
        lambda x, t: L.binary_cross_entropy_with_logits(x, t, Tensor(w), reduction, Tensor(pw)),
        lambda x, t: TF.binary_cross_entropy_with_logits(
            x, t, torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
        ),
        [x, t],
        [True, True],
    )


def test_bce_with_logits_extremes() -> None:
    x = np.array([-1e4, -1e4, 1e4, 1e4, 0.0, 80.0, -80.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.3, 0.7], dtype=np.float32)
    check(
        lambda x, t: L.binary_cross_entropy_with_logits(x, t, reduction="none"),
        lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction="none"),
        [x, t],
        [True, True],
        atol=1e-3,
    )


def test_modules_match() -> None:
    t = np.array([1, 0, 2])
    x = rand(3, 3)
    ours = L.CrossEntropyLoss(label_smoothing=0.05)(Tensor(x), Tensor(t))
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.05)(torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    for a, b in [
        (L.MSELoss(), torch.nn.MSELoss()),
        (L.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()),
        (L.NLLLoss(), torch.nn.NLLLoss()),
        (L.BCELoss(), torch.nn.BCELoss()),
        (L.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()),
    ]:
        assert repr(a) == repr(b)
