"""Batch transforms, checked against straightforward per-image reference loops."""

from __future__ import annotations

import numpy as np
import pytest
from tt_dataloader import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor
from tt_tensor import Tensor, manual_seed


def batch(n: int = 6, c: int = 3, h: int = 5, w: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def test_to_tensor_layouts() -> None:
    gray = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    out = ToTensor()(gray)
    assert out.shape == (2, 1, 4, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.data[:, 0], gray / 255.0, rtol=1e-6)
    hwc = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    out = ToTensor()(Tensor(hwc))
    assert out.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(out.data, hwc.transpose(0, 3, 1, 2) / 255.0, rtol=1e-6)
    assert ToTensor()(np.full((1, 1, 1), 255, np.uint8)).data.max() == 1.0
    f = batch()
    assert ToTensor()(f).data is f  # floats pass through
    with pytest.raises(TypeError, match="int64"):
        ToTensor()(np.zeros((1, 2, 2), dtype=np.int64))


def test_normalize_matches_formula_and_keeps_float32() -> None:
    x = batch()
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    out = Normalize(mean, std)(Tensor(x))
    ref = (x - np.array(mean)[None, :, None, None]) / np.array(std)[None, :, None, None]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref, rtol=1e-5, atol=1e-6)
    single = Normalize(0.5, 0.5)(x[0])  # one CHW image, scalar stats
    np.testing.assert_allclose(single.data, (x[0] - 0.5) / 0.5, rtol=1e-5, atol=1e-6)


def test_normalize_errors() -> None:
    with pytest.raises(ValueError, match="division by zero"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="2 values but the batch has 3 channels"):
        Normalize([0.0, 0.0], [1.0, 1.0])(batch())
    with pytest.raises(TypeError, match="ToTensor"):
        Normalize(0.0, 1.0)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="NCHW"):
        Normalize(0.0, 1.0)(np.zeros((2, 2), np.float32))


def reference_crop(x: np.ndarray, size: tuple[int, int], pad: int, seed: int) -> np.ndarray:
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, w = padded.shape
    rng = np.random.default_rng(seed)
    oy = rng.integers(0, h - size[0] + 1, size=n)
    ox = rng.integers(0, w - size[1] + 1, size=n)
    return np.stack(
        [padded[i, :, oy[i] : oy[i] + size[0], ox[i] : ox[i] + size[1]] for i in range(n)]
    )


def test_random_crop_matches_per_image_reference() -> None:
    x = batch(n=16, h=8, w=9)
    out = RandomCrop((8, 9), padding=2, generator=11)(x)
    assert out.shape == (16, 3, 8, 9) and out.data.flags.c_contiguous
    np.testing.assert_array_equal(out.data, reference_crop(x, (8, 9), 2, 11))
    # without padding, a smaller crop
    out = RandomCrop(4, generator=3)(x)
    np.testing.assert_array_equal(out.data, reference_crop(x, (4, 4), 0, 3))


def test_random_crop_offsets_vary_per_image_and_cover_the_range() -> None:
    x = np.ones((200, 1, 4, 4), dtype=np.float32)
    out = RandomCrop(4, padding=1, generator=0)(x).data
    # Each of the 3×3 offsets leaves a different border of padding zeros in view.
    patterns = {img.tobytes() for img in out[:, 0]}
    assert len(patterns) == 9


def test_random_crop_padding_modes_and_errors() -> None:
    x = batch(n=2, h=4, w=4)
    edge = RandomCrop(6, padding=1, padding_mode="edge", generator=0)(x).data
    np.testing.assert_array_equal(edge, np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge"))
    filled = RandomCrop(6, padding=(1, 1), fill=-1.0, generator=0)(x).data
    assert filled[0, 0, 0, 0] == -1.0
    asym = RandomCrop((5, 7), padding=(1, 0, 2, 1), generator=0)(x)  # left, top, right, bottom
    assert asym.shape == (2, 3, 5, 7)
    with pytest.raises(ValueError, match="larger than the padded"):
        RandomCrop(9, padding=1)(x)
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(4, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="positive"):
        RandomCrop(0)


def test_random_crop_global_generator_is_reproducible() -> None:
    x = batch(n=8)
    manual_seed(1)
    a = RandomCrop(5, padding=2)(x).data
    manual_seed(1)
    b = RandomCrop(5, padding=2)(x).data
    np.testing.assert_array_equal(a, b)


def test_horizontal_flip() -> None:
    x = batch(n=64)
    before = x.copy()
    out = RandomHorizontalFlip(0.5, generator=5)(x).data
    flip = np.random.default_rng(5).random(64) < 0.5
    np.testing.assert_array_equal(out[flip], x[flip][..., ::-1])
    np.testing.assert_array_equal(out[~flip], x[~flip])
    assert 10 < flip.sum() < 54
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x).data, x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x).data, x)
    np.testing.assert_array_equal(x, before)  # input untouched
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(1.5)


def test_compose_chains_in_order() -> None:
    raw = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    t = Compose([ToTensor(), RandomHorizontalFlip(1.0), Normalize(0.5, 0.5)])
    out = t(raw).data
    ref = (raw.transpose(0, 3, 1, 2)[..., ::-1] / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert "ToTensor" in repr(t)
    with pytest.raises(TypeError, match="callables"):
        Compose([1])  # type: ignore[list-item]
