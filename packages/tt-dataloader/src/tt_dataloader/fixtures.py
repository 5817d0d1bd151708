"""Small generated stand-ins for MNIST and CIFAR-10, written in the official formats.

Tests and quick demos use them where the real data is absent: the files go
through exactly the same readers as the real ones. The images are not noise:
each class has its own pattern (a digit-like stroke figure for MNIST, a colour
and stripe pattern for CIFAR-10), shifted and noised per sample, so a small
model can learn them and "accuracy above chance" means something.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .formats import U8Array, write_cifar_batch, write_cifar_meta, write_idx

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip

# Seven-segment layout of the digits 0-9 (segments a..g), drawn as thick strokes.
_SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}  # fmt: skip
_SEGMENT_BOXES = {  # (row0, row1, col0, col1) on a 28×28 canvas
    "a": (4, 7, 8, 20), "b": (5, 14, 17, 20), "c": (14, 23, 17, 20), "d": (21, 24, 8, 20),
    "e": (14, 23, 8, 11), "f": (5, 14, 8, 11), "g": (12, 15, 8, 20),
}  # fmt: skip


def _digit_templates() -> npt.NDArray[np.float32]:
    templates = np.zeros((10, 28, 28), dtype=np.float32)
    for digit, segments in _SEGMENTS.items():
        for s in segments:
            r0, r1, c0, c1 = _SEGMENT_BOXES[s]
            templates[digit, r0:r1, c0:c1] = 1.0
    return templates


def synthetic_digits(n: int, seed: int = 0) -> tuple[U8Array, npt.NDArray[np.int64]]:
    """`n` digit-like 28×28 uint8 images (seven-segment digits, shifted ±3 px, noised)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    canvas = _digit_templates()[labels]
    shifts = rng.integers(-3, 4, size=(n, 2))
    rows = (np.arange(28)[None, :] - shifts[:, :1]) % 28  # n×28
    cols = (np.arange(28)[None, :] - shifts[:, 1:]) % 28
    moved = canvas[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    strength = rng.uniform(0.6, 1.0, size=(n, 1, 1)).astype(np.float32)
    noisy = moved * strength + rng.normal(0.0, 0.15, size=moved.shape).astype(np.float32)
    return (np.clip(noisy, 0.0, 1.0) * 255).astype(np.uint8), labels


def synthetic_cifar(n: int, seed: int = 0) -> tuple[U8Array, npt.NDArray[np.int64]]:
    """`n` 3×32×32 uint8 images whose class sets the mean colour and a stripe direction."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    palette = np.random.default_rng(1234).uniform(0.2, 0.8, size=(10, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    angle = labels[:, None, None].astype(np.float32) * (np.pi / 10)
    stripes = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 0.6)  # n×32×32
    img = palette[labels][:, :, None, None] + 0.15 * stripes[:, None]
    img = img + rng.normal(0.0, 0.05, size=img.shape)
    return (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8), labels


def write_mnist(
    root: str | os.PathLike[str], train_size: int = 200, test_size: int = 100, seed: int = 0
) -> Path:
    """Write ``root/mnist/{train,t10k}-*-ubyte.gz`` with synthetic digits; returns the folder."""
    folder = Path(root) / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, s in (("train", train_size, seed), ("t10k", test_size, seed + 1)):
        images, labels = synthetic_digits(n, s)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


def write_cifar10(
    root: str | os.PathLike[str], per_batch: int = 20, test_size: int = 20, seed: int = 0
) -> Path:
    """Write ``root/cifar-10-batches-py/`` (5 train batches, test, meta); returns the folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        images, labels = synthetic_cifar(per_batch, seed + i)
        write_cifar_batch(folder / f"data_batch_{i}", images, labels, f"training batch {i} of 5")
    images, labels = synthetic_cifar(test_size, seed)
    write_cifar_batch(folder / "test_batch", images, labels, "testing batch 1 of 1")
    write_cifar_meta(folder / "batches.meta", CIFAR10_CLASSES)
    return folder
