"""Fake quantization, the straight-through estimator, prepare_qat / convert."""

from __future__ import annotations

import numpy as np
import pytest
from tt_autograd import grad
from tt_layers import Flatten, Linear, Module, Sequential
from tt_quantization import (
    QATConv2d,
    QATLinear,
    QConfig,
    QuantizedConv2d,
    QuantizedLinear,
    calculate_qparams,
    convert,
    fake_quantize,
    fake_quantize_array,
    prepare_qat,
)
from tt_spatial import Conv2d
from tt_tensor import Tensor, manual_seed


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def test_fake_quantize_forward_is_quantize_then_dequantize() -> None:
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32) * 2
    qp = calculate_qparams(-1.5, 3.0, 8, symmetric=False)
    np.testing.assert_array_equal(fake_quantize(Tensor(x), qp).data, fake_quantize_array(x, qp))


@pytest.mark.parametrize("symmetric", [False, True])
def test_ste_gradient_is_identity_inside_and_zero_outside(symmetric: bool) -> None:
    qp = calculate_qparams(-1.0, 2.0, 8, symmetric)
    lo = (qp.qmin - int(qp.zero_point)) * float(qp.scale)
    hi = (qp.qmax - int(qp.zero_point)) * float(qp.scale)
    x = Tensor(
        np.array([lo - 1.0, lo + 0.01, 0.0, 0.3337, hi - 0.01, hi + 1.0]), requires_grad=True
    )
    upstream = Tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    (g,) = grad((fake_quantize(x, qp) * upstream).sum(), x)
    assert g is not None
    np.testing.assert_array_equal(g.data, [0.0, 2.0, 3.0, 4.0, 5.0, 0.0])


def test_ste_gradient_matches_finite_differences_of_the_clamp() -> None:
    """gradcheck-like: STE backward == numerical derivative of clamp(x, lo, hi),
    the function fake quantization approximates, at points away from the kinks."""
    rng = np.random.default_rng(1)
    qp = calculate_qparams(-0.8, 1.2, 8, symmetric=False, axis=None)
    lo = (qp.qmin - int(qp.zero_point)) * float(qp.scale)
    hi = (qp.qmax - int(qp.zero_point)) * float(qp.scale)
    x0 = rng.uniform(-2.0, 2.0, size=(7, 5))
    x0 = x0[np.abs(x0 - lo) > 0.05]
    x0 = x0[np.abs(x0 - hi) > 0.05]
    proj = rng.standard_normal(x0.shape)
    x = Tensor(x0, requires_grad=True)
    (analytic,) = grad((fake_quantize(x, qp) * Tensor(proj)).sum(), x)
    assert analytic is not None
    eps = 1e-6

    def surrogate(v: np.ndarray) -> float:
        return float((np.clip(v, lo, hi) * proj).sum())

    numeric = np.zeros_like(x0)
    for i in range(x0.size):
        d = np.zeros_like(x0)
        d[i] = eps
        numeric[i] = (surrogate(x0 + d) - surrogate(x0 - d)) / (2 * eps)
    np.testing.assert_allclose(analytic.data, numeric, atol=1e-6)
    assert 0 < np.count_nonzero(analytic.data) < x0.size  # both regions were exercised


def test_per_channel_fake_quant_of_weights() -> None:
    w = np.random.default_rng(2).standard_normal((4, 6)) * np.array([[0.01], [0.1], [1], [10]])
    qp = calculate_qparams(w.min(1), w.max(1), 8, symmetric=True, axis=0)
    t = Tensor(w, requires_grad=True)
    out = fake_quantize(t, qp)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, w, atol=float(qp.scale.max()) / 2 + 1e-12)
    (g,) = grad(out.sum(), t)
    assert g is not None and np.all(g.data == 1.0)  # the weight range covers every weight


def _data(n: int, seed: int) -> tuple[Tensor, Tensor]:
    """Four Gaussian blobs in 10-D."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).standard_normal((4, 10)) * 2
    y = rng.integers(0, 4, n)
    x = centers[y] + rng.standard_normal((n, 10))
    return Tensor(x.astype(np.float32)), Tensor(y)


def _ce(logits: Tensor, y: Tensor) -> Tensor:
    z = logits - Tensor(logits.data.max(1, keepdims=True))
    logp = z - z.exp().sum(1, keepdim=True).log()
    onehot = Tensor(np.eye(logits.shape[1], dtype=np.float32)[y.data])
    return -(logp * onehot).sum(1).mean()


def test_prepare_train_convert_mlp() -> None:
    manual_seed(0)
    model = Sequential(Linear(10, 32), ReLU(), Linear(32, 4))
    qat = prepare_qat(model)
    assert isinstance(qat[0], QATLinear) and isinstance(qat[2], QATLinear)
    assert qat.training
    assert qat[0].weight is not model[0].weight  # a copy by default
    params = list(qat.parameters())
    assert len(params) == 4
    x, y = _data(256, seed=1)
    losses = []
    for _ in range(60):
        loss = _ce(qat(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            assert p.grad is not None
            p.data -= 0.1 * p.grad.data
        losses.append(float(loss.item()))
    assert losses[-1] < 0.5 * losses[0]
    qmodel = convert(qat)
    assert isinstance(qmodel[0], QuantizedLinear) and isinstance(qmodel[2], QuantizedLinear)
    xt, yt = _data(512, seed=2)
    acc = float(np.mean(qmodel(xt).data.argmax(1) == yt.data))
    assert acc > 0.8
    qat.eval()
    # the integer model computes what QAT simulated: same predictions nearly everywhere
    agree = np.mean(qat(xt).data.argmax(1) == qmodel(xt).data.argmax(1))
    assert agree >= 0.98


def test_qat_conv_backward_reaches_the_weights() -> None:
    manual_seed(3)
    model = Sequential(Conv2d(2, 4, 3, padding=1), ReLU(), Flatten(), Linear(4 * 5 * 5, 3))
    qat = prepare_qat(model, QConfig(per_channel=True))
    assert isinstance(qat[0], QATConv2d)
    x = Tensor(np.random.default_rng(0).standard_normal((6, 2, 5, 5)).astype(np.float32))
    qat(x).sum().backward()
    assert qat[0].weight.grad is not None and np.abs(qat[0].weight.grad.data).sum() > 0
    qmodel = convert(qat)
    assert isinstance(qmodel[0], QuantizedConv2d)
    assert qmodel(x).shape == (6, 3)


def test_qat_errors() -> None:
    model = Sequential(Linear(3, 2))
    qat = prepare_qat(model)
    with pytest.raises(RuntimeError, match="seen no training batch"):
        convert(qat)
    qat.eval()
    with pytest.raises(RuntimeError, match="no activation range"):
        qat(Tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match="no QAT layer"):
        convert(model)
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        prepare_qat(Sequential(ReLU()))
    with pytest.raises(ValueError, match="bit width"):
        prepare_qat(model, QConfig(weight_bits=12))
