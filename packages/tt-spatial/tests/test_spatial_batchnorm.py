"""batch_norm / BatchNorm1d / BatchNorm2d: gradients, running statistics, modes, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tt_autograd import gradcheck, no_grad
from tt_spatial import BatchNorm1d, BatchNorm2d, batch_norm, conv2d
from tt_tensor import Tensor, load, save

RNG = np.random.default_rng(2)


def t64(*shape: int, grad: bool = True) -> Tensor:
    return Tensor(RNG.standard_normal(shape), requires_grad=grad)


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 3, 4)])
def test_batch_norm_training_gradcheck(shape: tuple[int, ...]) -> None:
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    assert gradcheck(lambda a, c, d: batch_norm(a, None, None, c, d, training=True), [x, w, b])
    assert gradcheck(lambda a: batch_norm(a, None, None, training=True), [x])


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3, 4)])
def test_batch_norm_eval_gradcheck(shape: tuple[int, ...]) -> None:
    c = shape[1]
    rm, rv = Tensor(RNG.standard_normal(c)), Tensor(RNG.random(c) + 0.5)
    x, w, b = t64(*shape), t64(c), t64(c)
    assert gradcheck(lambda a, p, q: batch_norm(a, rm, rv, p, q, training=False), [x, w, b])


def test_batch_norm_training_values_and_running_stats() -> None:
    x = t64(4, 3, 2, 2, grad=False)
    rm, rv = Tensor(np.zeros(3)), Tensor(np.ones(3))
    out = batch_norm(x, rm, rv, training=True, momentum=0.1, eps=1e-5)
    mean = x.data.mean(axis=(0, 2, 3))
    var = x.data.var(axis=(0, 2, 3))
    ref = (x.data - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(out.data, ref, atol=1e-12)
    np.testing.assert_allclose(rm.data, 0.1 * mean)
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * x.data.var(axis=(0, 2, 3), ddof=1))


def test_batch_norm_on_chwn_input() -> None:
    # conv2d returns (C, H, W, N) memory; statistics must not depend on the layout
    x, w = t64(3, 2, 5, 5), t64(4, 2, 3, 3)
    y = conv2d(x, w, padding=1)
    assert not y.data.flags.c_contiguous
    a = batch_norm(y, None, None, training=True).data
    b = batch_norm(Tensor(np.ascontiguousarray(y.data)), None, None, training=True).data
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert gradcheck(
        lambda p, q: batch_norm(conv2d(p, q, padding=1), None, None, training=True), [x, w]
    )


def test_batchnorm2d_module_state_train_eval() -> None:
    bn = BatchNorm2d(3)
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert bn.num_batches_tracked is not None and bn.num_batches_tracked.dtype == np.int64
    x = Tensor((RNG.standard_normal((8, 3, 4, 4)) * 2 + 5).astype(np.float32))
    for _ in range(3):
        y = bn(x)
    assert y.dtype == np.float32
    assert int(bn.num_batches_tracked.item()) == 3
    assert bn.running_mean is not None and bn.running_var is not None
    expected_mean = (1 - 0.9**3) * x.data.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean.data, expected_mean, rtol=1e-5)
    bn.eval()
    with no_grad():
        out = bn(x)
    scale = 1 / np.sqrt(bn.running_var.data + 1e-5)
    ref = (x.data - bn.running_mean.data[:, None, None]) * scale[:, None, None]
    np.testing.assert_allclose(out.data, ref, rtol=1e-5, atol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 3  # eval does not count


def test_batchnorm_cumulative_average_and_no_tracking() -> None:
    bn = BatchNorm1d(2, momentum=None)
    a, b = t64(5, 2, grad=False), t64(5, 2, grad=False)
    bn.double()
    bn(a)
    bn(b)
    assert bn.running_mean is not None
    np.testing.assert_allclose(bn.running_mean.data, (a.data.mean(0) + b.data.mean(0)) / 2)
    free = BatchNorm2d(2, affine=False, track_running_stats=False)
    assert list(free.state_dict()) == []
    free.eval()  # without running stats, eval still normalizes with batch statistics
    x = t64(3, 2, 2, 2, grad=False)
    free.double()
    out = free(x)
    np.testing.assert_allclose(out.data.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_batchnorm_errors() -> None:
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input of shape \(2, 3, 4\)"):
        BatchNorm2d(3)(Tensor(np.zeros((2, 3, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        BatchNorm1d(3)(Tensor(np.zeros((2, 3, 4, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"has 4 channels, expected 3"):
        BatchNorm2d(3)(Tensor(np.zeros((2, 4, 5, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(Tensor(np.zeros((1, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        batch_norm(Tensor(np.zeros((2, 3))), Tensor(np.zeros(2)), Tensor(np.ones(2)))


def test_batchnorm_state_dict_round_trips_through_safetensors(tmp_path: Path) -> None:
    bn = BatchNorm2d(3)
    bn(Tensor(RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)))
    path = tmp_path / "bn.safetensors"
    save(bn.state_dict(), path)
    fresh = BatchNorm2d(3)
    fresh.load_state_dict(load(path))  # num_batches_tracked stays a 0-d int64 tensor
    for name, t in bn.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name].data, t.data)
        assert fresh.state_dict()[name].shape == t.shape


@pytest.mark.parametrize("bias", [True, False])
def test_fold_into_gives_the_conv_that_computes_conv_then_eval_batchnorm(bias: bool) -> None:
    x = Tensor(RNG.standard_normal((2, 3, 5, 5)).astype(np.float32))
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32) if bias else None
    bn = BatchNorm2d(4)
    assert bn.running_mean is not None and bn.running_var is not None
    assert bn.weight is not None and bn.bias is not None
    bn.running_mean.data[...] = RNG.standard_normal(4)
    bn.running_var.data[...] = RNG.random(4) + 0.1
    bn.weight.data[...] = RNG.standard_normal(4)
    bn.bias.data[...] = RNG.standard_normal(4)
    bn.eval()
    with no_grad():
        want = bn(conv2d(x, Tensor(w), None if b is None else Tensor(b), padding=1)).data
        fw, fb = bn.fold_into(w, b)
        got = conv2d(x, Tensor(fw), Tensor(fb), padding=1).data
    assert fw.dtype == np.float32 and fb.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_fold_into_refuses_batch_statistics_and_wrong_channel_counts() -> None:
    w = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="running statistics"):
        BatchNorm1d(4, track_running_stats=False).fold_into(w, None)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(5\) into a layer with 4 output channels"):
        BatchNorm1d(5).fold_into(w, None)
