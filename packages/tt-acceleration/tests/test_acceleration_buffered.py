"""The buffered convolution equals tt-spatial's conv2d for every shape it accepts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tt_acceleration.buffered import METHODS, BufferedConv2d, Scratch
from tt_spatial import conv2d
from tt_tensor import Tensor

CASES = [
    # (N, C, H, W), Cout, kernel, stride, padding, dilation
    ((1, 3, 8, 8), 5, (3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 4, 9, 7), 6, (3, 3), (2, 2), (2, 2), (2, 2)),
    ((1, 3, 5, 5), 2, (1, 1), (1, 1), (0, 0), (1, 1)),
    ((2, 4, 10, 9), 8, (2, 3), (2, 1), (1, 0), (1, 2)),
    ((2, 3, 9, 8), 4, (3, 2), (1, 1), (2, 1), (2, 3)),  # stride 1, dilated, uneven
]


def _reference(x: Any, w: Any, b: Any, case: tuple[Any, ...]) -> Any:
    _, _, _, stride, padding, dilation = case
    out = conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), stride, padding, dilation)
    return out.data


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bias", [True, False])
def test_buffered_conv_equals_plain_conv2d(case: tuple[Any, ...], method: str, bias: bool) -> None:
    shape, cout, k, stride, padding, dilation = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((cout, shape[1], *k), dtype=np.float32)
    b = rng.standard_normal(cout, dtype=np.float32) if bias else None
    conv = BufferedConv2d(w, b, stride, padding, dilation)
    if method not in conv.methods(x):
        with pytest.raises(ValueError, match="no convolution method"):
            conv.run(x, method)
        return
    for _ in range(2):  # the second call reuses every buffer
        np.testing.assert_allclose(
            conv.run(x, method), _reference(x, w, b, case), rtol=1e-5, atol=1e-4
        )
    # a new batch overwrites the buffers: results must be copied to be kept
    first = conv.run(x, method).copy()
    second = conv.run(x[::-1].copy(), method)
    np.testing.assert_allclose(second, _reference(x[::-1].copy(), w, b, case), atol=1e-4)
    assert not np.allclose(first, second) or shape[0] == 1


def test_non_contiguous_input_and_fused_activation() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 2, 6, 6), dtype=np.float32).transpose(1, 0, 2, 3)  # a view
    w = rng.standard_normal((3, 4, 3, 3), dtype=np.float32)
    conv = BufferedConv2d(w, None, padding=(1, 1), activation=lambda a: np.maximum(a, 0, out=a))
    want = np.maximum(conv2d(Tensor(np.ascontiguousarray(x)), Tensor(w), padding=1).data, 0)
    for method in METHODS:
        np.testing.assert_allclose(conv.run(x, method), want, rtol=1e-5, atol=1e-4)
    assert conv.methods(x) == METHODS


def test_choose_times_every_candidate_and_keeps_the_fastest() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 8, 8), dtype=np.float32)
    w = rng.standard_normal((5, 4, 3, 3), dtype=np.float32)
    conv = BufferedConv2d(w, None, padding=(1, 1))
    plain = {"plain": lambda a: conv2d(Tensor(a), Tensor(w), padding=1).data}
    winner = conv.choose(x, plain)
    times = conv.records[x.shape]
    assert set(times) == {*METHODS, "plain"}
    assert winner == min(times, key=times.__getitem__) and conv.method[x.shape] == winner
    wrong = {"wrong": lambda a: conv2d(Tensor(a), Tensor(w), padding=0).data}
    with pytest.raises(RuntimeError, match="wrong"):
        BufferedConv2d(w, None, padding=(1, 1)).choose(x, wrong)


def test_bad_shapes_are_clear_errors() -> None:
    w = np.zeros((2, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        BufferedConv2d(w, None).run(np.zeros((1, 4, 5, 5), np.float32), "window")
    with pytest.raises(ValueError, match="larger than the padded input"):
        BufferedConv2d(w, None).run(np.zeros((1, 3, 2, 2), np.float32), "window")
    with pytest.raises(ValueError, match="weight"):
        BufferedConv2d(np.zeros((2, 3), np.float32), None)


@pytest.mark.parametrize("method", METHODS)
def test_convolutions_sharing_one_scratch_arena_stay_exact(method: str) -> None:
    """Two convolutions borrow the same column memory in turn (the second needs more,
    so the arena is replaced under the first): both keep computing their own result."""
    rng = np.random.default_rng(3)
    scratch = Scratch()
    x = rng.standard_normal((1, 3, 8, 8), dtype=np.float32)
    w1 = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    w2 = rng.standard_normal((5, 4, 3, 3), dtype=np.float32)
    b1, b2 = rng.standard_normal(4, dtype=np.float32), rng.standard_normal(5, dtype=np.float32)
    first = BufferedConv2d(w1, b1, padding=(1, 1), scratch=scratch)
    second = BufferedConv2d(w2, b2, padding=(1, 1), scratch=scratch)
    case = (None, None, None, (1, 1), (1, 1), (1, 1))
    for _ in range(3):
        y = first.run(x, method)
        assert scratch.nbytes > 0
        np.testing.assert_allclose(y, _reference(x, w1, b1, case), rtol=1e-5, atol=1e-4)
        z = second.run(y.copy(), method)  # overwrites the columns `first` just used
        want = _reference(_reference(x, w1, b1, case), w2, b2, case)
        np.testing.assert_allclose(z, want, rtol=1e-4, atol=1e-3)
    taken = scratch.take((2, 3), np.float32)
    assert taken.shape == (2, 3) and taken.flags.c_contiguous
