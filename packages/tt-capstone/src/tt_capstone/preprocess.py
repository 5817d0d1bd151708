"""Turn a drawing into an MNIST digit: the same framing the 1998 data set used.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect
ratio, with anti-aliasing, hence grey levels) and then placed in a 28x28 field
so that their centre of mass sits at the centre. A network trained on MNIST
has only ever seen digits framed this way, so a drawing from a canvas (any
size, anywhere on the canvas, any stroke width) is framed the same way first:

1. scale grey levels to [0, 1] (ink bright, paper 0);
2. crop to the bounding box of the ink;
3. resize so the longer side is 20 pixels, averaging the source pixels each
   target pixel covers (area resampling: the anti-aliasing);
4. stretch the grey levels so the darkest ink is 1.0, like MNIST's strokes;
5. paste into 28x28 with the centre of mass at (14, 14), shifted back inside
   the field if a lopsided digit would otherwise lose ink.

All of it is array arithmetic: resizing is two small matrix products.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Image: TypeAlias = npt.NDArray[np.float32]

SIZE = 28  # the MNIST field
BOX = 20  # the box the digit is fitted into


class EmptyDrawingError(ValueError):
    """The drawing has no ink above the threshold: there is nothing to classify."""


def as_grayscale(pixels: Any, max_value: float = 255.0) -> npt.NDArray[np.float64]:
    """A 2-D array of finite values in [0, max_value], scaled to [0, 1]."""
    img = np.asarray(pixels, dtype=np.float64)
    if img.ndim != 2 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(
            f"a drawing must be a non-empty 2-D grayscale array, got shape {img.shape}"
        )
    if not np.all(np.isfinite(img)):
        raise ValueError("a drawing's pixels must be finite numbers")
    lo, hi = float(img.min()), float(img.max())
    if lo < 0 or hi > max_value:
        raise ValueError(f"pixel values must lie in [0, {max_value:g}], got [{lo:g}, {hi:g}]")
    return img / max_value


def bounding_box(img: npt.NDArray[Any], threshold: float = 0.1) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the pixels brighter than `threshold`."""
    ink = np.asarray(img) > threshold
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise EmptyDrawingError(
            f"the drawing is empty: no pixel is brighter than {threshold:g} (draw a digit first)"
        )
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def center_of_mass(img: npt.NDArray[Any]) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre, in pixel units where pixel i spans
    [i, i+1): a single bright pixel at (r, c) has its centre at (r + 0.5, c + 0.5)."""
    a = np.asarray(img, dtype=np.float64)
    total = float(a.sum())
    if total <= 0:
        raise EmptyDrawingError("the centre of mass of an empty image is undefined")
    rows = a.sum(axis=1) @ (np.arange(a.shape[0]) + 0.5)
    cols = a.sum(axis=0) @ (np.arange(a.shape[1]) + 0.5)
    return float(rows / total), float(cols / total)


def _area_weights(n_out: int, n_in: int) -> npt.NDArray[np.float64]:
    """(n_out, n_in) matrix: row i averages the source pixels target pixel i covers."""
    scale = n_in / n_out
    start = np.arange(n_out)[:, None] * scale
    src = np.arange(n_in)[None, :]
    overlap = np.minimum(start + scale, src + 1) - np.maximum(start, src)
    weights = np.clip(overlap, 0.0, None)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def resize_area(img: npt.NDArray[Any], height: int, width: int) -> npt.NDArray[np.float64]:
    """Resize by area averaging (each output pixel is the mean of what it covers)."""
    a = np.asarray(img, dtype=np.float64)
    if height < 1 or width < 1:
        raise ValueError(f"target size must be positive, got {height}x{width}")
    out: npt.NDArray[np.float64] = (
        _area_weights(height, a.shape[0]) @ a @ _area_weights(width, a.shape[1]).T
    )
    return out


def fit_box(img: npt.NDArray[Any], box: int = BOX) -> npt.NDArray[np.float64]:
    """Resize so the longer side is `box` pixels, keeping the aspect ratio."""
    h, w = img.shape
    scale = box / max(h, w)
    return resize_area(img, max(1, round(h * scale)), max(1, round(w * scale)))


def place_centered(digit: npt.NDArray[Any], size: int = SIZE) -> tuple[Image, tuple[int, int]]:
    """Paste `digit` into a `size` x `size` field with its centre of mass at the centre.

    Returns the field and the (top, left) offset used. The offset is clamped so
    that the whole digit stays inside the field.
    """
    h, w = digit.shape
    if h > size or w > size:
        raise ValueError(f"a {h}x{w} digit does not fit a {size}x{size} field")
    cy, cx = center_of_mass(digit)
    top = min(max(round(size / 2 - cy), 0), size - h)
    left = min(max(round(size / 2 - cx), 0), size - w)
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + h, left : left + w] = digit
    return field, (top, left)


def preprocess_digit(pixels: Any, *, max_value: float = 255.0, threshold: float = 0.1) -> Image:
    """A drawing (2-D grayscale, ink bright, values in [0, max_value]) -> a 28x28 MNIST digit
    in [0, 1] (float32), ready for a model trained on MNIST as (1, 1, 28, 28)."""
    img = as_grayscale(pixels, max_value)
    top, bottom, left, right = bounding_box(img, threshold)
    crop = img[top : bottom + 1, left : right + 1]
    small = fit_box(crop, BOX)
    peak = float(small.max())
    if peak <= 0:
        raise EmptyDrawingError("the drawing is empty after resizing")
    field, _ = place_centered(np.clip(small / peak, 0.0, 1.0))
    return field
