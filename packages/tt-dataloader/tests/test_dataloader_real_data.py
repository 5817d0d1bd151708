"""The real MNIST and CIFAR-10 files, when a local copy is present (skipped otherwise).

Looked for in $TINYTORCH_DATA, then in ../shared/data beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from tt_dataloader import CIFAR10, MNIST, DataLoader, Normalize, RandomCrop, locate

REPO = Path(__file__).resolve().parents[3]


def data_root(name: str) -> Path:
    candidates = [Path(os.environ["TINYTORCH_DATA"])] if os.environ.get("TINYTORCH_DATA") else []
    candidates.append(REPO.parent / "shared" / "data")
    for root in candidates:
        if locate(name, root) is not None:
            return root
    pytest.skip(
        f"real {name} data not found in {', '.join(map(str, candidates))}: "
        "set TINYTORCH_DATA to a folder holding it to run this test"
    )


@pytest.fixture(scope="module")
def mnist() -> tuple[MNIST, MNIST]:
    root = data_root("mnist")
    return MNIST(root, train=True), MNIST(root, train=False)


@pytest.fixture(scope="module")
def cifar() -> tuple[CIFAR10, CIFAR10]:
    root = data_root("cifar10")
    return CIFAR10(root, train=True), CIFAR10(root, train=False)


def test_mnist_real_files(mnist: tuple[MNIST, MNIST]) -> None:
    train, test = mnist
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    counts = np.bincount(train.targets.data, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert train.targets.data[:5].tolist() == [5, 0, 4, 1, 9]  # the official order
    assert test.targets.data[:3].tolist() == [7, 2, 1]
    x, _ = train.get_batch(np.arange(60000))
    assert abs(float(x.data.mean()) - 0.1307) < 1e-3 and abs(float(x.data.std()) - 0.3081) < 1e-3


def test_mnist_real_loader_epoch(mnist: tuple[MNIST, MNIST]) -> None:
    train, _ = mnist
    loader = DataLoader(train, batch_size=256, shuffle=True, seed=0, drop_last=True)
    assert len(loader) == 234
    n = 0
    for xb, yb in loader:
        assert xb.shape == (256, 1, 28, 28) and yb.shape == (256,)
        n += 1
    assert n == 234


def test_cifar10_real_files(cifar: tuple[CIFAR10, CIFAR10]) -> None:
    train, test = cifar
    assert train.data.shape == (50000, 32, 32, 3) and test.data.shape == (10000, 32, 32, 3)
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"
    assert np.bincount(train.targets, minlength=10).tolist() == [5000] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [1000] * 10
    # The well-known per-channel means (the local copy was re-encoded: loose tolerance).
    mean = train.data.reshape(-1, 3).mean(axis=0) / 255.0
    np.testing.assert_allclose(mean, [0.4914, 0.4822, 0.4465], atol=0.01)


def test_cifar10_real_augmented_batch(cifar: tuple[CIFAR10, CIFAR10]) -> None:
    train, _ = cifar
    aug = RandomCrop(32, padding=4, generator=0)
    norm = Normalize([0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261])
    loader = DataLoader(
        train, batch_size=128, shuffle=True, seed=0, transform=lambda b: norm(aug(b))
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (128, 3, 32, 32) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert abs(float(xb.data.mean())) < 0.5
