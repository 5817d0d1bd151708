"""FLOP counts against values computed by hand from the documented conventions."""

from __future__ import annotations

import numpy as np
import pytest
from tt_activations import ReLU, Softmax
from tt_attention import MultiheadAttention
from tt_embeddings import Embedding
from tt_layers import Flatten, Linear, Module, Sequential
from tt_profiling import (
    attention_flops,
    conv2d_flops,
    conv_output_size,
    flops_of,
    linear_flops,
    norm_flops,
    pool2d_flops,
    register_flop_counter,
)
from tt_spatial import AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d
from tt_tensor import Tensor, manual_seed, randn
from tt_transformers import LayerNorm


@pytest.fixture(autouse=True)
def _seed() -> None:
    manual_seed(0)


def test_linear_by_hand() -> None:
    # rows = 2*5 = 10; each row: 2*3*4 multiply-adds... = 24 FLOPs, + 4 bias adds
    assert flops_of(Linear(3, 4), randn(2, 5, 3)) == 10 * (24 + 4) == 280
    assert flops_of(Linear(3, 4, bias=False), randn(2, 5, 3)) == 240
    assert linear_flops(1, 1000, 10) == 20010


def test_conv2d_stride_padding_groups_by_hand() -> None:
    # x (2, 4, 9, 7), 6 filters of 3x3 over 4/2 = 2 channels, stride 2, padding 1
    # Hout = (9 + 2 - 2 - 1)//2 + 1 = 5, Wout = (7 + 2 - 2 - 1)//2 + 1 = 4
    # 2 * N*Cout*Hout*Wout * (Cin/g)*kh*kw = 2 * 240 * 18 = 8640; bias: 240
    conv = Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert flops_of(conv, randn(2, 4, 9, 7)) == 8640 + 240
    assert conv_output_size(9, 3, 2, 1) == 5


def test_conv2d_dilation_and_rectangular_kernel_by_hand() -> None:
    # kernel 3x3 dilated by 2 spans 5: Hout = Wout = 10 - 4 = 6
    # 2 * 1*8*6*6 * 3*9 = 15552, bias 288
    assert flops_of(Conv2d(3, 8, 3, dilation=2), randn(1, 3, 10, 10)) == 15552 + 288
    # kernel (1, 3), no bias, padding (0, 1): output 5x5, 2 * 2*5*5 * 2*1*3 = 600
    conv = Conv2d(2, 2, (1, 3), padding=(0, 1), bias=False)
    assert flops_of(conv, randn(1, 2, 5, 5)) == 600
    assert conv2d_flops(1, 2, 2, 5, 5, (1, 3), bias=False) == 600


def test_pooling_by_hand() -> None:
    # 2x2 max pool of (1, 3, 8, 8): 3*4*4 outputs, 3 comparisons each
    assert flops_of(MaxPool2d(2), randn(1, 3, 8, 8)) == 144
    # 3x3 stride 2 pad 1 on 9x9: 5x5 outputs, 8 comparisons each, N*C = 8
    assert flops_of(MaxPool2d(3, stride=2, padding=1), randn(2, 4, 9, 9)) == 2 * 4 * 25 * 8
    # 2x2 average: 4 FLOPs per output (3 adds, 1 divide)
    assert flops_of(AvgPool2d(2), randn(1, 3, 8, 8)) == 192
    assert pool2d_flops("avg", 1, 3, 4, 4, (2, 2)) == 192
    # global average pool over 5x6: every input element added once
    assert flops_of(AdaptiveAvgPool2d(1), randn(2, 3, 5, 6)) == 2 * 3 * 30


def test_norms_by_hand() -> None:
    bn = BatchNorm2d(4)
    x = randn(2, 4, 5, 5)
    assert flops_of(bn, x) == 200 * 8  # training: statistics (4) + normalise (2) + affine (2)
    assert flops_of(bn.eval(), x) == 200 * 4  # eval: running statistics, no stats pass
    assert flops_of(LayerNorm(8), randn(2, 3, 8)) == 48 * 8
    assert flops_of(LayerNorm(8, bias=False), randn(2, 3, 8)) == 48 * 7
    assert norm_flops(10, scale=False, shift=False, compute_stats=False) == 20


def test_attention_by_hand() -> None:
    mha = MultiheadAttention(8, 2, batch_first=True)
    q, kv = randn(2, 5, 8), randn(2, 7, 8)
    # projections: q 10 rows, k and v 14 rows, out 10 rows, each row 2*8*8 + 8 = 136
    # scores Q K^T: 2 * N*L*S*E = 2*2*5*7*8 = 1120; A V: the same
    expected = (10 + 14 + 14 + 10) * 136 + 1120 + 1120
    assert flops_of(mha, q, kv, kv) == expected == 8768
    assert attention_flops(2, 5, 7, 8) == expected
    # sequence-first layout (L, N, E) gives the same count
    mha_sf = MultiheadAttention(8, 2)
    assert flops_of(mha_sf, randn(5, 2, 8), randn(7, 2, 8), randn(7, 2, 8)) == expected


def test_embedding_is_free_and_activations_per_element() -> None:
    emb = Embedding(10, 4)
    assert flops_of(emb, Tensor(np.array([[1, 2, 3]]))) == 0
    assert flops_of(Sequential(ReLU()), randn(2, 3)) == 6
    assert flops_of(Sequential(Softmax(dim=1)), randn(2, 3)) == 18


def test_model_total_is_the_sum_of_its_layers() -> None:
    model = Sequential(
        Conv2d(1, 2, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(2 * 4 * 4, 3)
    )
    x = randn(2, 1, 8, 8)
    conv = 2 * 2 * 2 * 8 * 8 * 9 + 2 * 2 * 64  # 4608 + 256
    relu = 2 * 2 * 64
    pool = 2 * 2 * 16 * 3
    lin = 2 * (2 * 32 * 3 + 3)
    assert flops_of(model, x) == conv + relu + pool + lin


def test_custom_counter_and_unknown_layers() -> None:
    class Square(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * x

    assert flops_of(Sequential(Square()), randn(3, 4)) == 0  # unknown: not counted (None)

    class Cube(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * x * x

    register_flop_counter(Cube, lambda m, inputs, out: 2 * out.numel())
    assert flops_of(Sequential(Cube()), randn(3, 4)) == 24


def test_formula_errors() -> None:
    with pytest.raises(ValueError, match="groups"):
        conv2d_flops(1, 3, 4, 2, 2, (3, 3), groups=2)
    with pytest.raises(ValueError, match="kind"):
        pool2d_flops("min", 1, 1, 1, 1, (2, 2))
