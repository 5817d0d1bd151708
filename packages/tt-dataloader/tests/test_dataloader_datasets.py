"""MNIST and CIFAR10 on small generated fixture files in the official formats."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from tt_dataloader import (
    CIFAR10,
    MNIST,
    DataLoader,
    DatasetFormatError,
    default_root,
    locate,
    random_split,
)
from tt_dataloader.fixtures import CIFAR10_CLASSES, write_cifar10, write_mnist
from tt_dataloader.formats import write_cifar_batch, write_idx


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    write_mnist(tmp_path, train_size=50, test_size=20)
    return tmp_path


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    write_cifar10(tmp_path, per_batch=6, test_size=8)
    return tmp_path


def test_mnist_loads_fixture(mnist_root: Path) -> None:
    train = MNIST(mnist_root, train=True)
    test = MNIST(mnist_root, train=False)
    assert len(train) == 50 and len(test) == 20
    assert train.data.shape == (50, 28, 28) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and int(train.targets.data.max()) <= 9
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and isinstance(y, int)
    np.testing.assert_allclose(x.data[0], train.data.data[3] / 255.0, rtol=1e-6)
    xb, yb = train.get_batch(np.array([3, 0]))
    assert xb.shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(xb.data[0], x.data)
    np.testing.assert_array_equal(yb.data, train.targets.data[[3, 0]])
    X, Y = train.as_tensors()
    assert X.shape == (50, 1, 28, 28) and X.data.min() >= 0.0 and X.data.max() <= 1.0
    np.testing.assert_array_equal(Y.data, train.targets.data)
    assert len(MNIST.classes) == 10 and "MNIST" in repr(train)


def test_mnist_dataloader_fast_path_matches_items(mnist_root: Path) -> None:
    ds = MNIST(mnist_root)
    xb, yb = next(iter(DataLoader(ds, batch_size=8, shuffle=True, seed=0)))
    order = np.random.default_rng(0).permutation(len(ds))[:8]
    for k, i in enumerate(order):
        x, y = ds[int(i)]
        np.testing.assert_array_equal(xb.data[k], x.data)
        assert yb.data[k] == y
    sub, _ = random_split(ds, [40, 10], generator=1)
    assert sum(len(b[1]) for b in DataLoader(sub, batch_size=16)) == 40


def test_mnist_torchvision_layout_and_uncompressed(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(tmp_path, train_size=5, test_size=5)
    raw.parent.mkdir()
    shutil.move(tmp_path / "mnist", raw)
    for f in raw.glob("train-*.gz"):  # torchvision keeps the unpacked files too
        f.with_suffix("").write_bytes(gzip.decompress(f.read_bytes()))
        f.unlink()
    assert len(MNIST(tmp_path)) == 5
    assert MNIST.locate(tmp_path) == raw


def test_root_resolution(mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYTORCH_DATA", str(mnist_root))
    assert default_root() == mnist_root
    assert len(MNIST()) == 50
    assert locate("mnist") == mnist_root / "mnist"
    monkeypatch.delenv("TINYTORCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(mnist_root / "cache"))
    assert default_root() == mnist_root / "cache" / "tinytorch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(mnist_root / "home"))
    assert default_root() == mnist_root / "home" / ".cache" / "tinytorch"
    with pytest.raises(ValueError, match="unknown dataset"):
        locate("imagenet")


def test_missing_files_explain_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        MNIST(tmp_path)
    assert str(tmp_path / "mnist") in str(info.value)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        CIFAR10(tmp_path)
    assert locate("mnist", tmp_path) is None and locate("cifar10", tmp_path) is None


def test_mnist_bad_shapes_counts_and_labels(mnist_root: Path) -> None:
    folder = mnist_root / "mnist"
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((20, 28, 27), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"t10k-images.*28×28, found 28×27"):
        MNIST(mnist_root, train=False)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((19, 28, 28), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"t10k-labels.*20 labels for 19 images"):
        MNIST(mnist_root, train=False)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(50, 10, np.uint8))
    with pytest.raises(DatasetFormatError, match=r"train-labels.*label 10 is out of range"):
        MNIST(mnist_root, train=True)


def test_mnist_truncated_and_wrong_magic(mnist_root: Path) -> None:
    path = mnist_root / "mnist" / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-10]))
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        MNIST(mnist_root)
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + data[4:]))
    with pytest.raises(DatasetFormatError, match="wrong magic number"):
        MNIST(mnist_root)


def test_cifar10_loads_fixture(cifar_root: Path) -> None:
    train = CIFAR10(cifar_root, train=True)
    test = CIFAR10(cifar_root, train=False)
    assert len(train) == 30 and len(test) == 8
    assert train.data.shape == (30, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.data.flags.c_contiguous
    assert isinstance(train.targets, list) and all(0 <= t <= 9 for t in train.targets)
    assert train.classes == CIFAR10_CLASSES and train.class_to_idx["truck"] == 9
    x, y = train[5]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and y == train.targets[5]
    np.testing.assert_allclose(x.data, train.data[5].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.shape == (4, 3, 32, 32) and xb.data.flags.c_contiguous
    np.testing.assert_array_equal(xb.data[0], train[0][0].data)
    np.testing.assert_array_equal(yb.data, train.targets[:4])
    X, Y = test.as_tensors()
    assert X.shape == (8, 3, 32, 32) and Y.tolist() == test.targets


def test_cifar10_matches_channel_major_rows(tmp_path: Path) -> None:
    """The official rows are 1024 red, then 1024 green, then 1024 blue values."""
    write_cifar10(tmp_path, per_batch=1, test_size=1)
    folder = tmp_path / "cifar-10-batches-py"
    img = np.zeros((1, 3, 32, 32), np.uint8)
    img[0, 0, 0, 1] = 200  # red at row 0, column 1
    img[0, 2, 5, 0] = 100  # blue at row 5, column 0
    write_cifar_batch(folder / "test_batch", img, [2])
    test = CIFAR10(tmp_path, train=False)
    assert test.data[0, 0, 1, 0] == 200 and test.data[0, 5, 0, 2] == 100
    assert test.targets == [2]


def test_cifar10_damaged_batch_names_file(cifar_root: Path) -> None:
    path = cifar_root / "cifar-10-batches-py" / "data_batch_4"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetFormatError, match="data_batch_4"):
        CIFAR10(cifar_root, train=True)
    assert len(CIFAR10(cifar_root, train=False)) == 8  # other split unaffected
