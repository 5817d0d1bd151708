"""Several ways to compute the same convolution, and a tuner that picks the fastest per shape.

Which formulation wins depends on the shape: im2col builds one big matrix and
makes a single BLAS call (great for many channels, costly in memory for big
images); einsum contracts the sliding-window view directly (no copy of the
windows, but einsum's own path); shift-and-accumulate does one small matmul per
kernel offset (kh*kw BLAS calls over contiguous slices, little extra memory,
good for few, wide kernels). tt-spatial's own conv2d (a channel-major im2col)
competes as well, so tuning never loses to the plain layer. Rather than
guessing, `ConvAutotuner` times each candidate once per shape on this machine
and caches the winner, as cuDNN's benchmark mode does. All are for inference:
NumPy arrays in and out, no autograd graph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from tt_autograd import no_grad
from tt_profiling import conv_output_size, time_callable
from tt_spatial import conv2d as spatial_conv2d
from tt_tensor import Tensor

Array: TypeAlias = npt.NDArray[Any]
Pair: TypeAlias = int | tuple[int, int]
ConvFn: TypeAlias = Callable[
    [Array, Array, Array | None, tuple[int, int], tuple[int, int], tuple[int, int], int], Array
]


def pair(value: Pair) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about a convolution call that decides its cost (the cache key)."""

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    dtype: str

    @property
    def out_hw(self) -> tuple[int, int]:
        (kh, kw), (h, w) = self.w_shape[2:], self.x_shape[2:]
        oh = conv_output_size(h, kh, self.stride[0], self.padding[0], self.dilation[0])
        ow = conv_output_size(w, kw, self.stride[1], self.padding[1], self.dilation[1])
        return oh, ow


def _check(x: Array, w: Array, groups: int) -> None:
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"conv2d expects input (N, C, H, W) and weight (Cout, Cin/groups, kh, kw), "
            f"got {x.shape} and {w.shape}"
        )
    cin, cout = x.shape[1], w.shape[0]
    if groups < 1 or cin % groups or cout % groups or w.shape[1] * groups != cin:
        raise ValueError(
            f"conv2d: input has {cin} channels, weight {w.shape} with groups={groups} "
            f"expects {w.shape[1] * groups}"
        )


def _windows(
    x: Array,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> Array:
    """A strided view (N, C, Ho, Wo, kh, kw) of the padded input; nothing is copied."""
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    if x.shape[2] < span[0] or x.shape[3] < span[1]:
        raise ValueError(f"conv2d: kernel span {span} is larger than the padded input {x.shape}")
    view = sliding_window_view(x, span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d_im2col(
    x: Array,
    w: Array,
    b: Array | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Array:
    """Copy the windows into a (G, N*Ho*Wo, Cg*kh*kw) matrix, then one batched matmul."""
    _check(x, w, groups)
    n = x.shape[0]
    cout, cg, kh, kw = w.shape
    win = _windows(x, (kh, kw), stride, padding, dilation)
    oh, ow = win.shape[2:4]
    g = groups
    cols = (
        win.reshape(n, g, cg, oh, ow, kh, kw)
        .transpose(1, 0, 3, 4, 2, 5, 6)
        .reshape(g, n * oh * ow, cg * kh * kw)
    )
    wmat = w.reshape(g, cout // g, cg * kh * kw).transpose(0, 2, 1)
    out = np.matmul(cols, wmat)  # (G, N*Ho*Wo, Cout/G)
    out = out.reshape(g, n, oh, ow, cout // g).transpose(1, 0, 4, 2, 3).reshape(n, cout, oh, ow)
    if b is not None:
        out = out + b.reshape(1, cout, 1, 1)
    return np.ascontiguousarray(out, dtype=x.dtype)


def conv2d_einsum(
    x: Array,
    w: Array,
    b: Array | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Array:
    """Contract the window view with the weights in one `einsum(optimize=True)`."""
    _check(x, w, groups)
    n = x.shape[0]
    cout, cg, kh, kw = w.shape
    win = _windows(x, (kh, kw), stride, padding, dilation)
    oh, ow = win.shape[2:4]
    g = groups
    out = np.einsum(
        "ngchwij,gocij->ngohw",
        win.reshape(n, g, cg, oh, ow, kh, kw),
        w.reshape(g, cout // g, cg, kh, kw),
        optimize=True,
    ).reshape(n, cout, oh, ow)
    if b is not None:
        out += b.reshape(1, cout, 1, 1)
    return np.ascontiguousarray(out, dtype=x.dtype)


def conv2d_shift(
    x: Array,
    w: Array,
    b: Array | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Array:
    """Accumulate one channel-mixing matmul per kernel offset (kh*kw BLAS calls, no im2col)."""
    _check(x, w, groups)
    n, _, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    g = groups
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    oh = conv_output_size(h, kh, stride[0], ph, dilation[0])
    ow = conv_output_size(wd, kw, stride[1], pw, dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: kernel {(kh, kw)} is larger than the padded input {xp.shape}")
    wg = w.reshape(g, cout // g, cg, kh, kw)
    out = np.zeros((n, g, cout // g, oh * ow), dtype=np.result_type(x.dtype, w.dtype))
    sh, sw = stride
    for i in range(kh):  # loops over kernel offsets only, never pixels or batch items
        r0 = i * dilation[0]
        for j in range(kw):
            c0 = j * dilation[1]
            xs = xp[:, :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw]
            xs = xs.reshape(n, g, cg, oh * ow)
            out += np.matmul(wg[:, :, :, i, j], xs)
    res = out.reshape(n, cout, oh, ow)
    if b is not None:
        res += b.reshape(1, cout, 1, 1)
    return res.astype(x.dtype, copy=False)


def conv2d_plain(
    x: Array,
    w: Array,
    b: Array | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Array:
    """tt-spatial's own conv2d (channel-major im2col) under no_grad: the baseline competes too."""
    _check(x, w, groups)
    with no_grad():
        out = spatial_conv2d(
            Tensor(x),
            Tensor(w),
            None if b is None else Tensor(b),
            stride,
            padding,
            dilation,
            groups,
        )
    return np.asarray(out.data)


CANDIDATES: dict[str, ConvFn] = {
    "tt-spatial": conv2d_plain,
    "im2col": conv2d_im2col,
    "einsum": conv2d_einsum,
    "shift": conv2d_shift,
}


@dataclass
class ConvAutotuner:
    """Time every candidate once per `ConvGeometry`, remember the fastest, use it from then on.

    A candidate's cost is its fastest run: interference from other processes
    only ever adds time, so on a shared machine the minimum is the steadiest
    estimate of what the formulation itself costs (the median would let one
    unlucky burst pick the winner). `records[key]` keeps those seconds for
    every candidate, so the choice can be inspected (and reported) instead of
    trusted.
    """

    candidates: dict[str, ConvFn] = field(default_factory=lambda: dict(CANDIDATES))
    warmup: int = 1
    repeats: int = 5
    check_atol: float = 1e-3
    winners: dict[ConvGeometry, str] = field(default_factory=dict)
    records: dict[ConvGeometry, dict[str, float]] = field(default_factory=dict)

    def key(
        self,
        x: Array,
        w: Array,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> ConvGeometry:
        return ConvGeometry(
            tuple(x.shape), tuple(w.shape), stride, padding, dilation, groups, str(x.dtype)
        )

    def tune(
        self,
        x: Array,
        w: Array,
        b: Array | None,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> str:
        """Measure all candidates on these very arrays; they must agree before one is chosen."""
        k = self.key(x, w, stride, padding, dilation, groups)
        if k in self.winners:
            return self.winners[k]
        times: dict[str, float] = {}
        reference: Array | None = None
        for name, fn in self.candidates.items():
            out = fn(x, w, b, stride, padding, dilation, groups)
            if reference is None:
                reference = out
            elif not np.allclose(out, reference, atol=self.check_atol, rtol=1e-4):
                raise RuntimeError(f"conv candidate {name!r} disagrees with the others on {k}")
            samples = time_callable(
                functools.partial(fn, x, w, b, stride, padding, dilation, groups),
                warmup=self.warmup,
                repeats=self.repeats,
            )
            times[name] = float(np.min(samples))
        winner = min(times, key=times.__getitem__)
        self.records[k] = times
        self.winners[k] = winner
        return winner

    def __call__(
        self,
        x: Array,
        w: Array,
        b: Array | None = None,
        stride: Pair = 1,
        padding: Pair = 0,
        dilation: Pair = 1,
        groups: int = 1,
    ) -> Array:
        s, p, d = pair(stride), pair(padding), pair(dilation)
        name = self.tune(x, w, b, s, p, d, groups)
        return self.candidates[name](x, w, b, s, p, d, groups)


default_autotuner = ConvAutotuner()


def fast_conv2d(
    x: Array,
    w: Array,
    b: Array | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
    groups: int = 1,
) -> Array:
    """Convolution through the process-wide autotuner (tuned once per shape)."""
    return default_autotuner(x, w, b, stride, padding, dilation, groups)
