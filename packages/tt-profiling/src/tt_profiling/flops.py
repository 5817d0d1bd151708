"""FLOP formulas, from shapes only.

One multiply-add counts as 2 FLOPs (a multiply and an add), as in most papers.
The conventions, written down so every count can be checked by hand:

* Linear: `rows * (2 * in * out + out)`, the `+ out` only with a bias;
  `rows` is every leading dimension of the input multiplied together.
* Conv2d: `2 * N * Cout * Hout * Wout * (Cin / groups) * kh * kw`, plus
  `N * Cout * Hout * Wout` for the bias. Stride, padding and dilation enter
  through the output size, which is why it is taken from the real output.
* Max pooling: `kh * kw - 1` comparisons per output element; average pooling:
  `kh * kw` (the adds and one division) per output element.
* Normalisation: applying statistics costs 2 FLOPs per element (subtract,
  multiply by 1/std) plus 1 for an affine scale and 1 for a shift; computing the
  statistics (LayerNorm always, BatchNorm in training) costs 4 more per element
  (mean: 1 add; variance: subtract, square, add).
* Attention: the four projections (Linear rule) plus the two batched matmuls
  `Q K^T` and `A V`, each `2 * N * L * S * E` summed over heads. Softmax and
  scaling are not counted (as in fvcore and most FLOP tables).
* Embedding: 0, a lookup moves memory but does no arithmetic.
* Activations: 1 FLOP per output element (ReLU, Sigmoid, Tanh, GELU: the
  convention, not the cost of their transcendental functions); Softmax and
  LogSoftmax 3 (exponential, sum, normalise). Dropout: 1 (the mask multiply)
  while training, 0 in evaluation.
"""

from __future__ import annotations

import math


def _positive(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


def linear_flops(rows: int, in_features: int, out_features: int, bias: bool = True) -> int:
    """`rows` input vectors through a `in_features -> out_features` Linear layer."""
    _positive(rows=rows, in_features=in_features, out_features=out_features)
    return rows * (2 * in_features * out_features + (out_features if bias else 0))


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution or pooling along one axis (PyTorch's formula)."""
    if stride < 1 or dilation < 1 or kernel < 1:
        raise ValueError(
            f"kernel, stride and dilation must be >= 1: {kernel}, {stride}, {dilation}"
        )
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_flops(
    batch: int,
    in_channels: int,
    out_channels: int,
    out_h: int,
    out_w: int,
    kernel_size: tuple[int, int],
    groups: int = 1,
    bias: bool = True,
) -> int:
    """FLOPs of a 2-D convolution whose output is `(batch, out_channels, out_h, out_w)`."""
    kh, kw = kernel_size
    _positive(batch=batch, out_h=out_h, out_w=out_w, kh=kh, kw=kw)
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )
    outputs = batch * out_channels * out_h * out_w
    return 2 * outputs * (in_channels // groups) * kh * kw + (outputs if bias else 0)


def pool2d_flops(
    kind: str, batch: int, channels: int, out_h: int, out_w: int, kernel_size: tuple[int, int]
) -> int:
    """Max pooling compares, average pooling adds and divides (see the module docstring)."""
    kh, kw = kernel_size
    _positive(batch=batch, channels=channels, out_h=out_h, out_w=out_w)
    outputs = batch * channels * out_h * out_w
    if kind == "max":
        return outputs * (kh * kw - 1)
    if kind == "avg":
        return outputs * kh * kw
    raise ValueError(f"pooling kind must be 'max' or 'avg', got {kind!r}")


def norm_flops(
    numel: int, scale: bool = True, shift: bool = True, compute_stats: bool = True
) -> int:
    """BatchNorm / LayerNorm over `numel` elements (see the module docstring)."""
    _positive(numel=numel)
    per_element = 2 + int(scale) + int(shift) + (4 if compute_stats else 0)
    return numel * per_element


def attention_flops(
    batch: int,
    tgt_len: int,
    src_len: int,
    embed_dim: int,
    kdim: int | None = None,
    vdim: int | None = None,
    bias: bool = True,
) -> int:
    """Multi-head attention: in/out projections plus `Q K^T` and `A V` over all heads.

    The head count does not appear: splitting E into h heads of E/h gives the
    same `2 * L * S * E` per matmul.
    """
    kdim = embed_dim if kdim is None else kdim
    vdim = embed_dim if vdim is None else vdim
    _positive(batch=batch, tgt_len=tgt_len, src_len=src_len, embed_dim=embed_dim)
    q = linear_flops(batch * tgt_len, embed_dim, embed_dim, bias)
    k = linear_flops(batch * src_len, kdim, embed_dim, bias)
    v = linear_flops(batch * src_len, vdim, embed_dim, bias)
    out = linear_flops(batch * tgt_len, embed_dim, embed_dim, bias)
    scores = 2 * batch * tgt_len * src_len * embed_dim
    mix = 2 * batch * tgt_len * src_len * embed_dim
    return q + k + v + out + scores + mix


def sdpa_flops(batch_heads: int, tgt_len: int, src_len: int, head_dim: int, v_dim: int) -> int:
    """Scaled dot-product attention alone: `Q K^T` and `A V`."""
    return 2 * batch_heads * tgt_len * src_len * (head_dim + v_dim)


def embedding_flops() -> int:
    """A table lookup: no arithmetic."""
    return 0


def elementwise_flops(numel: int, per_element: int = 1) -> int:
    _positive(numel=numel, per_element=per_element)
    return numel * per_element


def prod(shape: tuple[int, ...]) -> int:
    return math.prod(shape)
