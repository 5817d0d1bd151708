"""QuantizedLinear / QuantizedConv2d: int8 storage, exact integer arithmetic, bounded error."""

from __future__ import annotations

import numpy as np
import pytest
from tt_layers import Linear
from tt_quantization import (
    QConfig,
    QuantizedConv2d,
    QuantizedLinear,
    calculate_qparams,
    quantize,
    requantize,
)
from tt_spatial import Conv2d, conv2d
from tt_tensor import Tensor, manual_seed


def _act_qparams(x: np.ndarray, symmetric: bool = False):  # type: ignore[no-untyped-def]
    return calculate_qparams(x.min(), x.max(), 8, symmetric)


def _linear_case(cfg: QConfig) -> tuple[Linear, QuantizedLinear, np.ndarray]:
    manual_seed(0)
    lin = Linear(48, 12)
    x = np.random.default_rng(0).standard_normal((32, 48)).astype(np.float32)
    y = (Tensor(x) @ lin.weight.T + lin.bias).data
    out_qp = _act_qparams(y) if cfg.requantize_output else None
    return lin, QuantizedLinear.from_float(lin, _act_qparams(x), out_qp, cfg), x


def test_linear_stores_int8_weights_and_float32_scales() -> None:
    _, q, _ = _linear_case(QConfig())
    state = q.state_dict()
    assert state["weight"].dtype == np.int8 and state["weight"].shape == (12, 48)
    assert state["weight_scale"].dtype == np.float32 and state["weight_scale"].shape == (12,)
    assert state["bias"].dtype == np.float32  # fbgemm-style float bias, see modules.py
    assert state["input_scale"].dtype == np.float32 and state["input_zero_point"].dtype == np.int32
    assert "weight_zero_point" not in state  # symmetric weights: the zero point is 0 by design
    assert list(q.parameters()) == []  # nothing float left to train
    asym = QuantizedLinear(48, 12, qconfig=QConfig(weight_symmetric=False, per_channel=False))
    assert asym.state_dict()["weight_zero_point"].dtype == np.int32
    assert asym.state_dict()["weight_scale"].shape == ()


def test_linear_integer_path_is_exactly_the_int64_reference() -> None:
    _, q, x = _linear_case(QConfig())
    in_qp, out_qp = q.input_qparams(), q.output_qparams()
    assert out_qp is not None
    xq = quantize(x, in_qp).astype(np.int64) - int(in_qp.zero_point)
    acc = xq @ q.weight.data.astype(np.int64).T
    assert np.abs(acc).max() < 2**31  # fits the int32 accumulator
    mult = float(in_qp.scale) * q.weight_scale.data.astype(np.float64) / float(out_qp.scale)
    offset = q.bias.data.astype(np.float64) / float(out_qp.scale)  # type: ignore[union-attr]
    yq = requantize(
        acc.astype(np.int32), mult, int(out_qp.zero_point), out_qp.qmin, out_qp.qmax, offset
    )
    expected = (yq.astype(np.int32) - int(out_qp.zero_point)) * np.float32(out_qp.scale)
    got = q(Tensor(x)).data
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    q.matmul_method = "int"  # NumPy's integer loop gives the same bits
    np.testing.assert_array_equal(q(Tensor(x)).data, got)


@pytest.mark.parametrize(
    "cfg",
    [
        QConfig(),
        QConfig(per_channel=False),
        QConfig(weight_symmetric=False),
        QConfig(requantize_output=False),
        QConfig(activation_symmetric=True),
    ],
    ids=["default", "per-tensor", "asym-weights", "no-requant", "sym-acts"],
)
def test_linear_matches_float_within_quantization_error(cfg: QConfig) -> None:
    lin, q, x = _linear_case(cfg)
    ref = (Tensor(x) @ lin.weight.T + lin.bias).data.astype(np.float64)
    got = q(Tensor(x)).data.astype(np.float64)
    w = lin.weight.data.astype(np.float64)
    sx = float(q.input_qparams().scale)
    sw = q.weight_qparams().scale.astype(np.float64)  # (12,) or ()
    # worst case per output: input rounding through |w|, weight rounding through |x|,
    # their product, and the output rounding
    bound = (
        (sx / 2) * np.abs(w).sum(axis=1)
        + (sw / 2) * np.abs(x).astype(np.float64).sum(axis=1, keepdims=True)
        + 48 * sx * sw / 4
    )
    out_qp = q.output_qparams()
    if out_qp is not None:
        bound = bound + float(out_qp.scale) / 2
    err = np.abs(got - ref)
    assert np.all(err <= bound * (1 + 1e-4) + 1e-6)
    assert err.mean() < 0.02 * ref.std()  # and in practice far inside the bound


def _conv_case(groups: int, stride: int, padding: int | str, dilation: int, bias: bool):  # type: ignore[no-untyped-def]
    manual_seed(1)
    conv = Conv2d(
        4, 6, 3, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias
    )
    x = np.random.default_rng(1).standard_normal((3, 4, 11, 10)).astype(np.float32)
    y = conv(Tensor(x)).data
    q = QuantizedConv2d.from_float(conv, _act_qparams(x), _act_qparams(y))
    return conv, q, x, y


@pytest.mark.parametrize(
    ("groups", "stride", "padding", "dilation", "bias"),
    [(1, 1, 1, 1, True), (2, 2, 1, 1, True), (1, 1, "same", 2, False), (1, 2, 0, 1, True)],
)
def test_conv_matches_float_within_quantization_error(
    groups: int, stride: int, padding: int | str, dilation: int, bias: bool
) -> None:
    conv, q, x, y = _conv_case(groups, stride, padding, dilation, bias)
    assert q.weight.dtype == np.int8 and q.weight.shape == conv.weight.shape
    got = q(Tensor(x)).data
    assert got.shape == y.shape and got.dtype == np.float32
    sx = float(q.input_qparams().scale)
    sw = q.weight_qparams().scale.astype(np.float32).reshape(1, -1, 1, 1)
    absw = Tensor(np.abs(conv.weight.data))
    ones_w = Tensor(np.ones_like(conv.weight.data))
    geometry = (conv.stride, conv.padding, conv.dilation, conv.groups)
    k = conv.weight.data[0].size
    bound = (
        (sx / 2) * conv2d(Tensor(np.ones_like(x)), absw, None, *geometry).data
        + (sw / 2) * conv2d(Tensor(np.abs(x)), ones_w, None, *geometry).data
        + k * sx * sw / 4
        + float(q.output_qparams().scale) / 2  # type: ignore[union-attr]
    )
    err = np.abs(got.astype(np.float64) - y)
    assert np.all(err <= bound * (1 + 1e-4) + 1e-6)
    assert err.mean() < 0.02 * y.std()


def test_conv_integer_path_is_exactly_the_int_loop() -> None:
    _, q, x, _ = _conv_case(2, 1, 1, 1, True)
    fast = q(Tensor(x)).data
    q.matmul_method = "int"
    np.testing.assert_array_equal(q(Tensor(x)).data, fast)


def test_zero_padding_is_real_zero_with_an_asymmetric_input_grid() -> None:
    """Inputs all positive: zero point -128. Padding must still mean 0.0, not the minimum."""
    manual_seed(2)
    conv = Conv2d(1, 1, 3, padding=1, bias=False)
    conv.weight.data[...] = 1.0
    x = np.full((1, 1, 4, 4), 2.0, np.float32)
    q = QuantizedConv2d.from_float(conv, _act_qparams(x), _act_qparams(conv(Tensor(x)).data))
    out = q(Tensor(x)).data[0, 0]
    assert out[0, 0] == pytest.approx(8.0, rel=0.01)  # corner: 4 real pixels, 5 padded zeros
    assert out[1, 1] == pytest.approx(18.0, rel=0.01)


def test_uncalibrated_layers_refuse_to_run() -> None:
    with pytest.raises(RuntimeError, match="calibrated"):
        QuantizedLinear(4, 3)(Tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(RuntimeError, match="calibrated"):
        QuantizedConv2d(1, 2, (3, 3))(Tensor(np.zeros((1, 1, 5, 5), np.float32)))


def test_bad_inputs_and_arguments() -> None:
    _, q, _ = _linear_case(QConfig())
    with pytest.raises(ValueError, match="last dimension 48"):
        q(Tensor(np.zeros((2, 47), np.float32)))
    with pytest.raises(TypeError, match="float input"):
        q(Tensor(np.zeros((2, 48), np.int64)))
    with pytest.raises(TypeError, match="Linear"):
        QuantizedLinear.from_float(Conv2d(1, 1, 1), _act_qparams(np.ones(2)), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="output qparams"):
        QuantizedLinear.from_float(Linear(2, 2), _act_qparams(np.ones(2)), None, QConfig())
    with pytest.raises(ValueError, match="divisible"):
        QuantizedConv2d(3, 4, (1, 1), groups=2)
    _, qc, x, _ = _conv_case(1, 1, 1, 1, True)
    with pytest.raises(ValueError, match="4, H, W"):
        qc(Tensor(x[:, :3]))
