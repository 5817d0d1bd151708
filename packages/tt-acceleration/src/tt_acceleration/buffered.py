"""A convolution that owns its buffers: for small batches, copying costs more than arithmetic.

At batch 1 a CIFAR-sized convolution is a few microseconds of BLAS and many
more of NumPy bookkeeping: padding allocates a new array, im2col another, the
product a third, and the bias and activation each make a pass over it. Here
every array is allocated once per input shape and reused on every call:

* the weights become one (Cout, Cin*kh*kw + 1) matrix whose last column is the
  bias, and the column matrix ends with a row of ones (refilled by each fill:
  the columns may be shared, see below), so the matmul adds the bias for free
  and writes straight into the output buffer (`out=`);
* the columns are filled by one copy from a sliding-window view of a
  zero-padded buffer ("window"), by one `np.take` with indices computed once,
  padding included ("gather"), or, for stride 1, by one copy of long
  contiguous runs ("rows"): the padded image flattened, one shifted slice per
  kernel offset (all of them one strided view), so the product runs over the
  padded width and the extra columns are skipped by the returned view. Which
  is fastest depends on the shape, so `choose` times them (and whatever else
  it is given) and keeps the winner;
* the activation runs in place;
* the column matrix is scratch, dead once the product is taken, so the
  convolutions of one plan can share one `Scratch` arena for it: at batch 1
  the columns are most of a small CNN's working set, and a working set that
  fits the L2 cache is what keeps a call fast when other work ran in between.

The output is channel-major, (Cout, N, Ho, Wo), returned as an (N, Cout, Ho, Wo)
view: for N = 1 that is plain NCHW, and every later step reads views. For one
input shape it is the same view object on every call (a later step may
prepare its own views of it once). The buffers are overwritten by the next
call, so a caller that keeps a result must copy it (`InferencePlan` does).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided
from tt_profiling import conv_output_size

from .conv import _windows

Array: TypeAlias = npt.NDArray[Any]
METHODS = ("window", "gather", "rows")


class Scratch:
    """One flat arena that lends the start of itself to whoever asks, for scratch data.

    Views handed out earlier stay valid when a bigger request replaces the arena
    (they keep the old one alive), so sharing is best when the biggest request
    comes first, and always correct as long as the borrowers run one at a time.
    """

    def __init__(self) -> None:
        self._arena: Array | None = None

    def take(self, shape: tuple[int, ...], dtype: Any) -> Array:
        """A C-contiguous `shape` view of the arena's first bytes (whatever they hold)."""
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dt.itemsize
        if self._arena is None or self._arena.size < nbytes:
            self._arena = np.empty(nbytes, dtype=np.uint8)
        view: Array = self._arena[:nbytes].view(dt).reshape(shape)
        return view

    @property
    def nbytes(self) -> int:
        return 0 if self._arena is None else int(self._arena.size)


class _Geometry:
    """One input shape's output size; builds a fill method's buffers when first asked."""

    def __init__(
        self,
        x_shape: tuple[int, ...],
        k: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        cout: int,
        dtype: Any,
        scratch: Scratch,
    ) -> None:
        _, c, h, w = x_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, stride, padding, dilation
        self.oh = conv_output_size(h, kh, sh, ph, dh)
        self.ow = conv_output_size(w, kw, sw, pw, dw)
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"conv2d: kernel {k} is larger than the padded input of {x_shape}")
        self.x_shape, self.k, self.stride, self.padding, self.dilation = (
            x_shape, k, stride, padding, dilation,
        )  # fmt: skip
        self.cout, self.dtype, self.scratch = cout, dtype, scratch
        self.rows = c * kh * kw
        self.strided = (sh, sw) != (1, 1)

    def _columns(self, width: int) -> tuple[Array, Array]:
        """The column matrix (in the scratch arena; its last row is for the bias, set
        to ones by every fill) and the output buffer."""
        return (
            self.scratch.take((self.rows + 1, width), self.dtype),
            np.empty((self.cout, width), dtype=self.dtype),
        )

    def filler(self, method: str) -> tuple[Callable[[Array], None], Array, Array, Array]:
        """For `method`: a function filling the columns from x (bias row included),
        the columns, the output buffer and the (N, Cout, Ho, Wo) result view, all made
        once for this shape."""
        n, c, h, w = self.x_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.k, self.stride, self.padding, self.dilation
        oh, ow = self.oh, self.ow
        if method in ("window", "gather"):
            cols, out = self._columns(n * oh * ow)
            ones = cols[self.rows]
            result = out.reshape(self.cout, n, oh, ow).transpose(1, 0, 2, 3)
        if method == "window":
            # a zero-padded copy of x, and a view of its windows in column order
            padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=self.dtype)
            interior = padded[:, :, ph : ph + h, pw : pw + w]
            win = _windows(padded, self.k, self.stride, (0, 0), self.dilation)
            windows = win.transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, Ho, Wo)
            cols_6d = cols[: self.rows].reshape(c, kh, kw, n, oh, ow)

            def window(x: Array) -> None:
                np.copyto(interior, x)
                np.copyto(cols_6d, windows)
                ones.fill(1)

            return window, cols, out, result
        if method == "gather":
            # x flattened with one zero after it; padding points at the zero
            source = np.zeros(n * c * h * w + 1, dtype=self.dtype)
            ci, i, j, b, r, s = np.ix_(
                np.arange(c), np.arange(kh), np.arange(kw), np.arange(n), np.arange(oh),
                np.arange(ow),
            )  # fmt: skip
            rr, ss = r * sh + i * dh - ph, s * sw + j * dw - pw
            inside = (rr >= 0) & (rr < h) & (ss >= 0) & (ss < w)
            flat = ((b * c + ci) * h + np.clip(rr, 0, h - 1)) * w + np.clip(ss, 0, w - 1)
            index = np.where(inside, flat, n * c * h * w).reshape(self.rows, -1)
            target = cols[: self.rows]

            def gather(x: Array) -> None:
                np.copyto(source[:-1].reshape(x.shape), x)
                np.take(source, index, out=target)
                ones.fill(1)

            return gather, cols, out, result
        if method == "rows" and not self.strided:
            # per channel and image the padded grid flattened, with dw*(kw-1) zeros
            # after it so the last shifted slice stays inside
            hp, wp = h + 2 * ph, w + 2 * pw
            grid = np.zeros((c, n, hp * wp + dw * (kw - 1)), dtype=self.dtype)
            inner = grid[:, :, : hp * wp].reshape(c, n, hp, wp)[:, :, ph : ph + h, pw : pw + w]
            m = oh * wp
            cols, out = self._columns(n * m)
            ones = cols[self.rows]
            blocks = cols[: self.rows].reshape(kh, kw, c, n, m)
            # the slice for kernel offset (i, j) starts i*dh*wp + j*dw elements in:
            # linear in i and j, so all kh*kw slices are one strided view
            step = grid.strides[2]
            shifted = as_strided(
                grid, (kh, kw, c, n, m), (dh * wp * step, dw * step, *grid.strides), writeable=False
            )
            result = out.reshape(self.cout, n, oh, wp)[:, :, :, :ow].transpose(1, 0, 2, 3)

            def rows(x: Array) -> None:
                np.copyto(inner, x.transpose(1, 0, 2, 3))
                np.copyto(blocks, shifted)
                ones.fill(1)

            return rows, cols, out, result
        raise ValueError(f"no convolution method {method!r} for this shape")


class BufferedConv2d:
    """`activation(conv2d(x, w, b))` for inference, into buffers it owns (groups=1)."""

    def __init__(
        self,
        w: Array,
        b: Array | None,
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] = (0, 0),
        dilation: tuple[int, int] = (1, 1),
        activation: Callable[[Array], object] | None = None,
        scratch: Scratch | None = None,
    ) -> None:
        """`scratch`: where the column matrix lives (share one between the convolutions
        of a model that run one at a time; default: an arena of its own)."""
        if w.ndim != 4:
            raise ValueError(f"BufferedConv2d expects a (Cout, Cin, kh, kw) weight, got {w.shape}")
        cout = w.shape[0]
        bias = (np.zeros(cout, w.dtype) if b is None else b.astype(w.dtype)).reshape(cout, 1)
        # columns ordered (channel, kernel row, kernel column), or for "rows"
        # (kernel row, kernel column, channel); the last column is the bias
        self.matrix = np.ascontiguousarray(np.concatenate([w.reshape(cout, -1), bias], 1))
        by_offset = w.transpose(0, 2, 3, 1).reshape(cout, -1)
        self.matrix_rows = np.ascontiguousarray(np.concatenate([by_offset, bias], 1))
        self.w_shape = tuple(w.shape)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.activation = activation
        self.scratch = Scratch() if scratch is None else scratch
        self.method: dict[tuple[int, ...], str] = {}
        self.records: dict[tuple[int, ...], dict[str, float]] = {}
        self._spaces: dict[tuple[int, ...], _Geometry] = {}
        self._runners: dict[tuple[tuple[int, ...], str], Callable[[Array], Array]] = {}

    def _space(self, x: Array) -> _Geometry:
        key = tuple(x.shape)
        space = self._spaces.get(key)
        if space is None:
            if x.ndim != 4 or x.shape[1] != self.w_shape[1]:
                raise ValueError(
                    f"conv2d: weight {self.w_shape} needs input (N, {self.w_shape[1]}, H, W), "
                    f"got {x.shape}"
                )
            space = _Geometry(
                key, self.w_shape[2:], self.stride, self.padding, self.dilation,
                self.w_shape[0], self.matrix.dtype, self.scratch,
            )  # fmt: skip
            self._spaces[key] = space
        return space

    def methods(self, x: Array) -> tuple[str, ...]:
        """The fill methods that apply to `x`'s shape ("rows" needs stride 1)."""
        return METHODS if not self._space(x).strided else METHODS[:2]

    def runner(self, x: Array, method: str) -> Callable[[Array], Array]:
        """`run` for inputs shaped like `x`, with everything looked up once (and its
        buffers made once: asking again for the same shape and method reuses them)."""
        key = (tuple(x.shape), method)
        known = self._runners.get(key)
        if known is not None:
            return known
        fill, cols, out, result = self._space(x).filler(method)
        matrix = self.matrix_rows if method == "rows" else self.matrix
        activation = self.activation

        def run(x: Array) -> Array:
            fill(x)
            np.matmul(matrix, cols, out=out)
            if activation is not None:
                activation(out)
            return result

        self._runners[key] = run
        return run

    def run(self, x: Array, method: str) -> Array:
        """The convolution by `method` (one of `METHODS`), as an (N, Cout, Ho, Wo) view."""
        return self.runner(x, method)(x)

    def choose(
        self, x: Array, others: dict[str, Callable[[Array], Array]], repeats: int = 5
    ) -> str:
        """Time every fill method and `others` on `x` (fastest run of `repeats`); keep the
        winner, and free the losers' buffers (less memory, and less to evict from cache).

        All candidates must agree with the "window" result first.
        """
        key = tuple(x.shape)
        reference = self.run(x, "window").copy()
        runs: dict[str, Callable[[Array], Array]] = {
            m: functools.partial(self.run, method=m) for m in self.methods(x)
        }
        runs.update(others)
        times: dict[str, float] = {}
        for name, fn in runs.items():
            got = fn(x)
            if got.shape != reference.shape or not np.allclose(
                got, reference, rtol=1e-4, atol=1e-4
            ):
                raise RuntimeError(f"convolution {name!r} disagrees with the buffered one on {key}")
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn(x)
                best = min(best, time.perf_counter() - t0)
            times[name] = best
        winner = min(times, key=times.__getitem__)
        self.records[key] = times
        self.method[key] = winner
        for m in METHODS:
            if m != winner:
                self._runners.pop((key, m), None)
        return winner
