"""Parity with PyTorch's quantization primitives (skipped when torch is absent)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

from tt_quantization import (  # noqa: E402
    MinMaxObserver,
    calculate_qparams,
    fake_quantize,
    quantize,
)
from tt_tensor import Tensor  # noqa: E402


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + 0.3).astype(np.float32)


def test_minmax_observer_qparams_match_torch_per_tensor_affine() -> None:
    x = _x((64, 32))
    ours = MinMaxObserver(8, symmetric=False)
    theirs = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8)
    for chunk in np.split(x, 4):
        ours.observe(chunk)
        theirs(torch.from_numpy(chunk))
    qp = ours.calculate_qparams()
    scale, zp = theirs.calculate_qparams()
    assert float(qp.scale) == pytest.approx(float(scale), rel=1e-6)
    assert int(qp.zero_point) == int(zp)


def test_symmetric_restricted_range_matches_torch_with_the_same_range() -> None:
    w = _x((16, 8), 1)
    ours = MinMaxObserver(8, symmetric=True, axis=0)
    ours.observe(w)
    theirs = torch.ao.quantization.PerChannelMinMaxObserver(
        ch_axis=0,
        dtype=torch.qint8,
        qscheme=torch.per_channel_symmetric,
        quant_min=-127,
        quant_max=127,
    )
    theirs(torch.from_numpy(w))
    scale, zp = theirs.calculate_qparams()
    qp = ours.calculate_qparams()
    np.testing.assert_allclose(qp.scale, scale.numpy(), rtol=1e-6)
    assert np.all(zp.numpy() == 0) and np.all(qp.zero_point == 0)


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_quantize_matches_torch_int_repr() -> None:
    x = _x((200, 50), 2)
    qp = calculate_qparams(x.min(), x.max(), 8, symmetric=False)
    ref = (
        torch.quantize_per_tensor(
            torch.from_numpy(x), float(qp.scale), int(qp.zero_point), torch.qint8
        )
        .int_repr()
        .numpy()
    )
    ours = quantize(x, qp)
    # torch multiplies by 1/scale, we divide: a tie can round the other way, never more
    diff = np.abs(ours.astype(np.int32) - ref.astype(np.int32))
    assert diff.max() <= 1 and np.mean(diff) < 1e-3

    w = _x((12, 40), 3)
    pc = calculate_qparams(w.min(1), w.max(1), 8, symmetric=True, axis=0)
    ref_pc = (
        torch.quantize_per_channel(
            torch.from_numpy(w),
            torch.from_numpy(pc.scale.astype(np.float64)),
            torch.from_numpy(pc.zero_point.astype(np.int64)),
            0,
            torch.qint8,
        )
        .int_repr()
        .numpy()
    )
    diff = np.abs(quantize(w, pc).astype(np.int32) - ref_pc.astype(np.int32))
    assert diff.max() <= 1 and np.mean(diff) < 1e-3


def test_fake_quantize_forward_and_ste_backward_match_torch() -> None:
    x = _x((300,), 4) * 2  # some values fall outside the grid
    qp = calculate_qparams(-2.0, 3.0, 8, symmetric=False)
    t = Tensor(x.astype(np.float64), requires_grad=True)
    out = fake_quantize(t, qp)
    upstream = np.random.default_rng(5).standard_normal(300)
    (out * Tensor(upstream)).sum().backward()

    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ref = torch.fake_quantize_per_tensor_affine(
        tx.float(), float(qp.scale), int(qp.zero_point), -128, 127
    )
    (ref.double() * torch.from_numpy(upstream)).sum().backward()
    close = np.isclose(out.data, ref.detach().numpy(), atol=float(qp.scale) * 1.01)
    assert close.all()
    same = np.isclose(out.data, ref.detach().numpy(), atol=1e-6)
    assert same.mean() > 0.999
    assert t.grad is not None
    # identity inside the grid, zero outside: the same mask, the same values
    np.testing.assert_array_equal(t.grad.data == 0, tx.grad.numpy() == 0)
    np.testing.assert_allclose(t.grad.data, tx.grad.numpy(), rtol=1e-6)
