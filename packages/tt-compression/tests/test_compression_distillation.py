"""DistillationLoss: the formula, its gradient, and a student that really learns."""

from __future__ import annotations

import numpy as np
import pytest
from tt_compression import DistillationLoss, soft_kl_divergence
from tt_layers import Linear, Module, Sequential
from tt_losses import cross_entropy
from tt_optimizers import Adam
from tt_tensor import Tensor, manual_seed


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _reference(s: np.ndarray, t: np.ndarray, y: np.ndarray, temp: float, alpha: float) -> float:
    p, q = _softmax(t / temp), _softmax(s / temp)
    kl = (p * (np.log(p) - np.log(q))).sum(1).mean()
    ce = -np.log(_softmax(s)[np.arange(len(y)), y]).mean()
    return float(alpha * temp**2 * kl + (1 - alpha) * ce)


@pytest.mark.parametrize(("temp", "alpha"), [(1.0, 0.5), (4.0, 0.9), (2.0, 0.0), (3.0, 1.0)])
def test_value_matches_the_formula(temp: float, alpha: float) -> None:
    rng = np.random.default_rng(0)
    s, t = rng.standard_normal((6, 5)) * 3, rng.standard_normal((6, 5)) * 3
    y = rng.integers(0, 5, 6)
    loss = DistillationLoss(temp, alpha)(Tensor(s), Tensor(t), Tensor(y))
    assert float(loss.item()) == pytest.approx(_reference(s, t, y, temp, alpha), rel=1e-10)


def test_kl_is_zero_for_identical_logits_and_stable_for_extreme_ones() -> None:
    z = Tensor(np.array([[1000.0, -1000.0, 0.0], [3.0, 2.0, 1.0]]))
    assert float(soft_kl_divergence(z, z, 2.0).item()) == pytest.approx(0.0, abs=1e-12)
    far = soft_kl_divergence(z, Tensor(-z.data), 1.0)
    assert np.isfinite(far.item())


def test_gradient_matches_finite_differences_and_reaches_the_student_only() -> None:
    """gradcheck in float64 (central differences), written out: tt-autograd is not a
    declared dependency of this package, whose tests may import only what it declares."""
    rng = np.random.default_rng(1)
    s0, t0 = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    y = rng.integers(0, 6, 4)
    loss_fn = DistillationLoss(3.0, 0.7)
    s = Tensor(s0.copy(), requires_grad=True)
    t = Tensor(t0, requires_grad=True)
    loss_fn(s, t, Tensor(y)).backward()
    assert s.grad is not None and t.grad is None
    eps = 1e-6
    numeric = np.zeros_like(s0)
    for i in np.ndindex(s0.shape):
        d = np.zeros_like(s0)
        d[i] = eps
        plus = _reference(s0 + d, t0, y, 3.0, 0.7)
        minus = _reference(s0 - d, t0, y, 3.0, 0.7)
        numeric[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(s.grad.data, numeric, rtol=1e-5, atol=1e-8)


def test_errors() -> None:
    with pytest.raises(ValueError, match="temperature"):
        DistillationLoss(0.0)
    with pytest.raises(ValueError, match="alpha"):
        DistillationLoss(2.0, 1.5)
    with pytest.raises(ValueError, match="same shape"):
        soft_kl_divergence(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4))))


def _blobs(n: int, seed: int) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(7).standard_normal((6, 16)) * 1.2
    y = rng.integers(0, 6, n)
    return Tensor((centers[y] + rng.standard_normal((n, 16))).astype(np.float32)), Tensor(y)


def test_distillation_trains_a_smaller_student() -> None:
    manual_seed(0)
    x, y = _blobs(600, 1)
    xt, yt = _blobs(600, 2)
    teacher = Sequential(Linear(16, 128), ReLU(), Linear(128, 6))
    opt = Adam(teacher.parameters(), lr=1e-2)
    for _ in range(80):
        opt.zero_grad()
        cross_entropy(teacher(x), y).backward()
        opt.step()
    student = Sequential(Linear(16, 8), ReLU(), Linear(8, 6))
    n_t = sum(p.numel() for p in teacher.parameters())
    n_s = sum(p.numel() for p in student.parameters())
    assert n_s <= n_t / 4
    loss_fn = DistillationLoss(temperature=4.0, alpha=0.7)
    opt = Adam(student.parameters(), lr=2e-2)
    soft_targets = teacher(x).detach()
    losses = []
    for _ in range(120):
        opt.zero_grad()
        loss = loss_fn(student(x), soft_targets, y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < 0.5 * losses[0]
    acc_t = float(np.mean(teacher(xt).data.argmax(1) == yt.data))
    acc_s = float(np.mean(student(xt).data.argmax(1) == yt.data))
    assert acc_s > 0.6 and acc_s >= acc_t - 0.1
