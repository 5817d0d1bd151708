"""The ready-made blocks and reference models: shapes, names, and that they learn."""

from __future__ import annotations

import numpy as np
from tt_autograd import no_grad
from tt_spatial import CifarResNet, ConvBNReLU, Residual, SimpleCNN
from tt_tensor import Tensor, manual_seed


def test_conv_bn_relu_block_names_and_output() -> None:
    block = ConvBNReLU(3, 8)
    keys = list(block.state_dict())
    assert keys[:2] == ["0.weight", "1.weight"] and "1.running_var" in keys
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
    y = block(x)
    assert y.shape == (2, 8, 6, 6) and float(y.data.min()) >= 0.0


def test_residual_adds_the_identity() -> None:
    block = Residual(ConvBNReLU(4, 4))
    x = Tensor(np.ones((2, 4, 3, 3), dtype=np.float32))
    assert np.all(block(x).data >= 1.0)


def test_reference_models_shapes() -> None:
    manual_seed(0)
    assert SimpleCNN(width=4)(Tensor(np.zeros((2, 1, 28, 28), dtype=np.float32))).shape == (2, 10)
    net = CifarResNet((4, 8, 8, 16))
    assert net(Tensor(np.zeros((2, 3, 32, 32), dtype=np.float32))).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) > 0


def test_cifar_resnet_overfits_a_tiny_batch() -> None:
    manual_seed(0)
    rng = np.random.default_rng(0)
    net = CifarResNet((4, 8, 8, 16))
    x = Tensor(rng.standard_normal((16, 3, 16, 16)).astype(np.float32))
    onehot = Tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)])
    params = list(net.parameters())
    losses = []
    for _ in range(20):
        for p in params:
            p.grad = None
        loss = ((net(x) - onehot) ** 2).mean()  # tt-losses is not a dependency
        loss.backward()
        losses.append(loss.item())
        with no_grad():
            for p in params:
                assert p.grad is not None
                p.data -= 0.05 * p.grad.data
    assert losses[-1] < 0.5 * losses[0]
