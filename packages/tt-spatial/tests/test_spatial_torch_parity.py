"""Parity with PyTorch: values, gradients, running statistics, init and state_dict names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

import tt_spatial  # noqa: E402
from tt_autograd import no_grad  # noqa: E402
from tt_spatial import functional as F  # noqa: E402
from tt_tensor import Tensor, manual_seed  # noqa: E402

TF = torch.nn.functional
RNG = np.random.default_rng(5)


def both(shape: tuple[int, ...], dtype: Any = np.float64) -> tuple[Tensor, Any]:
    a = RNG.standard_normal(shape).astype(dtype)
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding": 1},
        {"stride": 2, "padding": 1},
        {"padding": "same", "dilation": 2},
        {"groups": 3, "padding": (1, 0)},
        {"stride": (1, 2), "padding": "valid"},
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_torch(kwargs: dict[str, Any], dtype: Any) -> None:
    g = kwargs.get("groups", 1)
    x, tx = both((3, 6, 9, 8), dtype)
    w, tw = both((9, 6 // g, 3, 3), dtype)
    b, tb = both((9,), dtype)
    y = F.conv2d(x, w, b, **kwargs)
    ty = TF.conv2d(tx, tw, tb, **kwargs)
    grad = RNG.standard_normal(ty.shape).astype(dtype)
    y.backward(Tensor(grad))
    ty.backward(torch.tensor(grad))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        assert ours.grad is not None
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["max", "avg", "avg_nopad"])
@pytest.mark.parametrize(
    "kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}]
)
def test_pooling_matches_torch(op: str, kwargs: dict[str, Any]) -> None:
    x, tx = both((2, 3, 9, 10))
    if op == "max":
        y, ty = F.max_pool2d(x, **kwargs), TF.max_pool2d(tx, **kwargs)
    else:
        cip = op == "avg"
        y = F.avg_pool2d(x, count_include_pad=cip, **kwargs)
        ty = TF.avg_pool2d(tx, count_include_pad=cip, **kwargs)
    grad = RNG.standard_normal(ty.shape)
    y.backward(Tensor(grad))
    ty.backward(torch.tensor(grad))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-12)
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), atol=1e-12)


def test_max_pool_after_relu_ties_match_torch() -> None:
    a = np.maximum(RNG.standard_normal((2, 2, 6, 6)), 0)  # many zero ties
    x, tx = Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    TF.max_pool2d(tx, 2, stride=1).sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("size", [(1, 1), (3, 4), (5, 3)])
def test_adaptive_avg_pool_matches_torch(size: tuple[int, int]) -> None:
    x, tx = both((2, 3, 7, 9))
    y, ty = F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(tx, size)
    grad = RNG.standard_normal(ty.shape)
    y.backward(Tensor(grad))
    ty.backward(torch.tensor(grad))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-12)
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_running_stats_and_grads_match_torch_over_steps(cls: str) -> None:
    ours = getattr(tt_spatial, cls)(4, momentum=0.2)
    theirs = getattr(torch.nn, cls)(4, momentum=0.2)
    shape = (6, 4) if cls == "BatchNorm1d" else (5, 4, 3, 3)
    for step in range(4):
        a = (RNG.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        x, tx = Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        grad = RNG.standard_normal(shape).astype(np.float32)
        y.backward(Tensor(grad))
        ty.backward(torch.tensor(grad))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        assert x.grad is not None
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, t in ours.state_dict().items():
        np.testing.assert_allclose(
            t.data, theirs.state_dict()[name].numpy(), rtol=1e-5, atol=1e-5, err_msg=name
        )
    for name in ("weight", "bias"):
        np.testing.assert_allclose(
            getattr(ours, name).grad.data, getattr(theirs, name).grad.numpy(), rtol=1e-4, atol=1e-4
        )
    ours.eval()
    theirs.eval()
    a = RNG.standard_normal(shape).astype(np.float32)
    with no_grad():
        out = ours(Tensor(a))
    np.testing.assert_allclose(
        out.data, theirs(torch.tensor(a)).detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_default_init_statistics_match_torch() -> None:
    manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = tt_spatial.Conv2d(32, 64, 3), torch.nn.Conv2d(32, 64, 3)
    for name in ("weight", "bias"):
        a = getattr(ours, name).data
        b = getattr(theirs, name).detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype
        assert abs(np.abs(a).max() - np.abs(b).max()) < 0.02 * np.abs(b).max()
        assert abs(a.std() - b.std()) < 0.25 * b.std()
        assert abs(a.mean()) < 4 * b.std() / np.sqrt(a.size)  # zero-mean within 4 sigma
    bn, tbn = tt_spatial.BatchNorm2d(8), torch.nn.BatchNorm2d(8)
    for name, t in bn.state_dict().items():
        np.testing.assert_array_equal(t.data, tbn.state_dict()[name].numpy())


def _torch_cifar_resnet(widths: tuple[int, int, int, int]) -> Any:
    nn = torch.nn

    def cbr(i: int, o: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()
        )

    class Residual(nn.Module):  # type: ignore[misc]
        def __init__(self, body: Any) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: Any) -> Any:
            return x + self.body(x)

    w0, w1, w2, w3 = widths
    return nn.Sequential(
        cbr(3, w0),
        cbr(w0, w1),
        nn.MaxPool2d(2),
        Residual(nn.Sequential(cbr(w1, w1), cbr(w1, w1))),
        cbr(w1, w2),
        nn.MaxPool2d(2),
        cbr(w2, w3),
        nn.MaxPool2d(2),
        Residual(nn.Sequential(cbr(w3, w3), cbr(w3, w3))),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(w3, 10),
    )


def test_cifar_resnet_state_dict_matches_torch_and_weights_transfer() -> None:
    widths = (4, 8, 8, 16)
    ours, theirs = tt_spatial.CifarResNet(widths), _torch_cifar_resnet(widths)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    assert all(tuple(sd[k].shape) == tuple(tsd[k].shape) for k in sd)
    ours.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    x = RNG.standard_normal((4, 3, 32, 32)).astype(np.float32)
    out = ours(Tensor(x))
    tout = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-4, atol=1e-4)
    ours.eval()
    theirs.eval()
    with no_grad():
        out = ours(Tensor(x))
    np.testing.assert_allclose(
        out.data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-4
    )
