"""Batch transforms: each call handles a whole NCHW batch with a few NumPy operations.

torchvision transforms one image at a time inside worker processes. TinyTorch
has no workers, so its transforms take the batch a `DataLoader` produces and
vectorize across it: a random crop of 128 images is one pad plus one gather,
not 128 slices. Attach them with ``DataLoader(..., transform=Compose([...]))``.

Every transform accepts a `Tensor` or a NumPy array and returns a `Tensor`.
Random transforms draw from their own ``generator`` (a NumPy generator or an
int seed) or, by default, from the global one that ``tt_tensor.manual_seed``
seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from tt_tensor import Tensor

from .dataset import GeneratorLike, as_generator

Array: TypeAlias = npt.NDArray[Any]
Transform: TypeAlias = Callable[[Any], Any]


def _array(batch: Tensor | Array) -> Array:
    if isinstance(batch, Tensor):
        return batch.data
    if isinstance(batch, np.ndarray):
        return batch
    raise TypeError(
        f"a batch transform takes a Tensor or a NumPy array, got {type(batch).__name__}"
    )


def _nchw(a: Array, name: str) -> Array:
    """View a CHW image as a batch of one; insist on 4 dimensions otherwise."""
    if a.ndim == 3:
        return a[None]
    if a.ndim != 4:
        raise ValueError(f"{name} expects an NCHW batch (or one CHW image), got shape {a.shape}")
    return a


class Compose:
    """Apply transforms one after the other: ``Compose([RandomCrop(32, 4), Normalize(m, s)])``."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose takes callables, got {type(t).__name__}")
        self.transforms = list(transforms)

    def __call__(self, batch: Any) -> Any:
        for t in self.transforms:
            batch = t(batch)
        return batch

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ToTensor:
    """uint8 images -> float32 in [0, 1], channels first; float batches pass through.

    Accepted uint8 layouts: ``N×H×W`` (gray, gets a channel axis), ``N×H×W×C``
    with C in {1, 3, 4} (the layout of ``CIFAR10.data``, moved to ``N×C×H×W``),
    or ``N×C×H×W`` (kept). Dividing by 255 happens after the gather, on the
    batch only, so datasets can stay compact uint8 in memory.
    """

    def __call__(self, batch: Tensor | Array) -> Tensor:
        a = _array(batch)
        if a.dtype == np.uint8:
            if a.ndim == 3:
                a = a[:, None]
            elif a.ndim == 4 and a.shape[-1] in (1, 3, 4):
                a = a.transpose(0, 3, 1, 2)
            elif a.ndim != 4:
                raise ValueError(f"ToTensor expects N×H×W or 4-d uint8 images, got shape {a.shape}")
            out = np.empty(a.shape, dtype=np.float32)
            np.multiply(a, np.float32(1.0 / 255.0), out=out, casting="unsafe")
            return Tensor(out)
        if a.dtype.kind == "f":
            return Tensor(a.astype(np.float32, copy=False))
        raise TypeError(f"ToTensor expects uint8 or floating images, got dtype {a.dtype}")

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` for every channel c of a float NCHW batch."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        m = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        s = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if m.ndim != 1 or s.ndim != 1:
            raise ValueError(f"mean and std must be numbers or flat sequences, got {mean}, {std}")
        if np.any(s == 0):
            raise ValueError(
                f"std evaluated to zero after conversion to float32 ({list(s)}), "
                "leading to division by zero"
            )
        self.mean = m
        self.std = s

    def __call__(self, batch: Tensor | Array) -> Tensor:
        a = _nchw(_array(batch), "Normalize")
        if a.dtype.kind != "f":
            raise TypeError(
                f"Normalize expects a floating batch, got {a.dtype}: convert with ToTensor() first"
            )
        c = a.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(
                    f"Normalize: {name} has {v.size} values but the batch has {c} "
                    f"channels (shape {a.shape})"
                )
        mean = self.mean.astype(a.dtype).reshape(1, -1, 1, 1)
        inv_std = (1.0 / self.std).astype(a.dtype).reshape(1, -1, 1, 1)
        out = (a - mean) * inv_std
        return Tensor(out if _array(batch).ndim == 4 else out[0])

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int | np.integer):
        pair = (int(value), int(value))
    else:
        vals = [int(v) for v in value]
        if len(vals) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value}")
        pair = (vals[0], vals[1])
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return pair


PaddingMode: TypeAlias = Literal["constant", "edge", "reflect", "symmetric"]


class RandomCrop:
    """Pad the batch once, then crop every image at its own random offset.

    `padding` follows torchvision: an int pads all four borders, ``(lr, tb)``
    pads left/right and top/bottom, ``(left, top, right, bottom)`` each one.
    The crops are gathered in one advanced-indexing step over a
    ``sliding_window_view`` of the padded batch; no loop over images.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        fill: float = 0.0,
        padding_mode: PaddingMode = "constant",
        generator: GeneratorLike = None,
    ) -> None:
        self.size = _pair(size, "size")
        if padding is None:
            pad = (0, 0, 0, 0)
        elif isinstance(padding, int | np.integer):
            pad = (int(padding),) * 4
        else:
            p = [int(v) for v in padding]
            if len(p) == 2:
                pad = (p[0], p[1], p[0], p[1])
            elif len(p) == 4:
                pad = (p[0], p[1], p[2], p[3])
            else:
                raise ValueError(f"padding must be an int or a sequence of 2 or 4, got {padding}")
        if min(pad) < 0:
            raise ValueError(f"padding must be non-negative, got {padding}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"unknown padding_mode {padding_mode!r}")
        self.padding = pad  # left, top, right, bottom
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = None if generator is None else as_generator(generator)

    def __call__(self, batch: Tensor | Array) -> Tensor:
        src = _array(batch)
        a = _nchw(src, "RandomCrop")
        left, top, right, bottom = self.padding
        if any(self.padding):
            widths = ((0, 0), (0, 0), (top, bottom), (left, right))
            if self.padding_mode == "constant":
                a = np.pad(a, widths, mode="constant", constant_values=self.fill)
            else:
                a = np.pad(a, widths, mode=self.padding_mode)
        n, _, h, w = a.shape
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(
                f"RandomCrop: crop size {self.size} is larger than the padded images ({h}, {w})"
            )
        rng = self.generator if self.generator is not None else as_generator(None)
        oy = rng.integers(0, h - th + 1, size=n)
        ox = rng.integers(0, w - tw + 1, size=n)
        windows = sliding_window_view(a, (th, tw), axis=(2, 3))  # N, C, H', W', th, tw
        # Advanced indices on axes 0, 2, 3 separated by a slice: NumPy puts the
        # broadcast index axis (N) first, then C, th, tw -- exactly NCHW.
        crops = windows[np.arange(n), :, oy, ox]
        crops = np.ascontiguousarray(crops)
        return Tensor(crops if src.ndim == 4 else crops[0])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability `p` (one coin per image)."""

    def __init__(self, p: float = 0.5, generator: GeneratorLike = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = None if generator is None else as_generator(generator)

    def __call__(self, batch: Tensor | Array) -> Tensor:
        src = _array(batch)
        a = _nchw(src, "RandomHorizontalFlip")
        rng = self.generator if self.generator is not None else as_generator(None)
        flip = rng.random(a.shape[0]) < self.p
        out = a.copy()
        out[flip] = a[flip, :, :, ::-1]
        return Tensor(out if src.ndim == 4 else out[0])

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
