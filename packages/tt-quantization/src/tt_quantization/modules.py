"""`QuantizedLinear` and `QuantizedConv2d`: int8 weights, integer arithmetic.

What one quantized layer does, in the order an int8 accelerator does it:

1. quantize the float input with its calibrated (scale, zero point) to int8;
2. subtract the zero point (int16 now) so padding and products are plain integers;
3. multiply by the int8 weight, summing in an int32 accumulator
   (`intmath.integer_matmul`, exact);
4. requantize the accumulator to the int8 output grid with one multiplier per
   output channel, `input_scale * weight_scale / output_scale`, adding the
   bias on the way (`bias / output_scale`);
5. dequantize that int8 output to float32 for the next (float) layer.

The bias stays float32, as in PyTorch's fbgemm backend: the other common
formulation (TFLite) stores it as int32 at scale `input_scale * weight_scale`,
which overflows when a layer's input range is degenerate (a dead ReLU layer
whose calibration inputs are all zero). Both take 4 bytes per output channel.

Everything the layer stores is a buffer: `weight` is int8, the scales and
the bias float32, zero points int32. `state_dict()` and `save_quantized`
therefore write int8 data, a quarter of the float32 bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tt_layers import Linear, Module
from tt_spatial import Conv2d
from tt_tensor import Tensor

from .config import QConfig
from .intmath import Method, exact_matmul
from .qscheme import Array, QParams, qrange, quantize


def _pads(
    padding: tuple[int, int] | str, kernel: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for an int pair, 'valid' or 'same' (PyTorch's rules)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    if isinstance(padding, str):
        raise ValueError(f"padding must be a pair of ints, 'same' or 'valid', got {padding!r}")
    return (padding[0], padding[0], padding[1], padding[1])


def im2col(
    x: Array,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> Array:
    """A padded (C, H, W, N) array as columns (G, Cg*kh*kw, Ho*Wo*N): one copy, no loops.

    Batch-last columns make the whole convolution one matmul per group, whose
    (Og, Ho*Wo*N) result is already the (C, H, W, N) memory layout that
    tt-spatial's layers use (a logically NCHW array stored channels-first,
    batch-last), so pooling and BatchNorm after it take their fast path.
    """
    c, n = x.shape[0], x.shape[3]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(x, span, axis=(1, 2))[:, ::sh, ::sw, :, ::dh, ::dw]
    ho, wo = win.shape[1:3]  # (C, Ho, Wo, N, kh, kw), a view
    cols = np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3))
    return cols.reshape(groups, (c // groups) * kh * kw, ho * wo * n)


def _scalar(value: float, dtype: Any) -> Tensor:
    return Tensor(np.asarray(value, dtype=dtype))


class _QuantizedLayer(Module):
    """Buffers and requantization shared by the quantized layers."""

    weight: Tensor
    weight_scale: Tensor
    weight_zero_point: Tensor | None
    bias: Tensor | None
    input_scale: Tensor
    input_zero_point: Tensor
    output_scale: Tensor | None
    output_zero_point: Tensor | None
    channel_axis: int  # where output channels sit in the layer's output

    def __init__(self, weight_shape: tuple[int, ...], bias: bool, qconfig: QConfig) -> None:
        super().__init__()
        self.qconfig = qconfig
        self.matmul_method: Method = "auto"
        channels = (weight_shape[0],) if qconfig.per_channel else ()
        self.register_buffer("weight", Tensor(np.zeros(weight_shape, dtype=np.int8)))
        self.register_buffer("weight_scale", Tensor(np.zeros(channels, dtype=np.float32)))
        zp = None if qconfig.weight_symmetric else Tensor(np.zeros(channels, dtype=np.int32))
        self.register_buffer("weight_zero_point", zp)
        b = Tensor(np.zeros(weight_shape[0], dtype=np.float32)) if bias else None
        self.register_buffer("bias", b)
        # a scale of 0 marks an uncalibrated layer: forward refuses to run
        self.register_buffer("input_scale", _scalar(0.0, np.float32))
        self.register_buffer("input_zero_point", _scalar(0, np.int32))
        out_s = _scalar(0.0, np.float32) if qconfig.requantize_output else None
        out_zp = _scalar(0, np.int32) if qconfig.requantize_output else None
        self.register_buffer("output_scale", out_s)
        self.register_buffer("output_zero_point", out_zp)

    # --------------------------------------------------------------- qparams
    def weight_qparams(self) -> QParams:
        zp = self.weight_zero_point
        zero = np.zeros_like(self.weight_scale.data, dtype=np.int32) if zp is None else zp.data
        axis = 0 if self.qconfig.per_channel else None
        return QParams(
            self.weight_scale.data,
            zero,
            self.qconfig.weight_bits,
            self.qconfig.weight_symmetric,
            axis,
        )

    def input_qparams(self) -> QParams:
        self._check_calibrated()
        return QParams(
            self.input_scale.data,
            self.input_zero_point.data,
            self.qconfig.activation_bits,
            self.qconfig.activation_symmetric,
        )

    def output_qparams(self) -> QParams | None:
        if self.output_scale is None or self.output_zero_point is None:
            return None
        return QParams(
            self.output_scale.data,
            self.output_zero_point.data,
            self.qconfig.activation_bits,
            self.qconfig.activation_symmetric,
        )

    @property
    def calibrated(self) -> bool:
        ok = float(self.input_scale.data) > 0 and bool(np.all(self.weight_scale.data > 0))
        if self.output_scale is not None:
            ok = ok and float(self.output_scale.data) > 0
        return ok

    def _check_calibrated(self) -> None:
        if not self.calibrated:
            raise RuntimeError(
                f"{type(self).__name__} has no calibrated scales: build it with quantize_model(), "
                "from_float(), convert() or load_quantized(), not by hand"
            )

    def dequantized_weight(self) -> Array:
        """The float32 weight the integer weight stands for (for error analysis)."""
        qp = self.weight_qparams()
        scale, zp = qp.broadcast(self.weight.ndim)
        return ((self.weight.data.astype(np.int32) - zp) * scale).astype(np.float32)

    # --------------------------------------------------------------- building
    def _set_qparams(
        self,
        float_weight: Array,
        float_bias: Array | None,
        input_qparams: QParams,
        output_qparams: QParams | None,
    ) -> None:
        cfg = self.qconfig
        if input_qparams.axis is not None:
            raise ValueError("activations are quantized per tensor: input qparams must be 0-d")
        if (output_qparams is None) == cfg.requantize_output:
            need = "needs" if cfg.requantize_output else "takes no"
            raise ValueError(
                f"QConfig(requantize_output={cfg.requantize_output}) {need} output qparams"
            )
        observer = cfg.weight_observer()
        observer.observe(float_weight)
        wq = observer.calculate_qparams()
        self.weight.data[...] = quantize(float_weight, wq)
        self.weight_scale.data[...] = wq.scale
        if self.weight_zero_point is not None:
            self.weight_zero_point.data[...] = wq.zero_point
        self.input_scale.data[...] = input_qparams.scale
        self.input_zero_point.data[...] = input_qparams.zero_point
        if output_qparams is not None:
            assert self.output_scale is not None and self.output_zero_point is not None
            self.output_scale.data[...] = output_qparams.scale
            self.output_zero_point.data[...] = output_qparams.zero_point
        if self.bias is not None:
            if float_bias is None:
                raise ValueError(f"{type(self).__name__} expects a float bias to quantize")
            self.bias.data[...] = float_bias

    # --------------------------------------------------------------- computing
    # The int8 codes are carried in float32 arrays: the values are exactly the
    # integers an int8 kernel would see (quantize() gives the same codes), and
    # BLAS can multiply them. `exact_matmul` is given a bound on the partial
    # sums so it knows float32 accumulation is exact (else it uses float64).

    def _shifted_input(self, x: Tensor) -> tuple[Array, int]:
        """Input codes minus the zero point (0 means the real 0.0), and max |code - zp|."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} expects a Tensor input, got {type(x).__name__}")
        if x.data.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__} expects a float input, got {x.data.dtype}")
        qp = self.input_qparams()
        data = x.data
        if np.isnan(data).any():
            raise ValueError(f"cannot quantize nan values (input of shape {data.shape})")
        zp = int(qp.zero_point)
        codes = np.round(data.astype(np.float32, copy=False) / qp.scale)  # as quantize()
        codes += zp
        np.clip(codes, qp.qmin, qp.qmax, out=codes)
        codes -= zp
        return codes, max(qp.qmax - zp, zp - qp.qmin)

    def _shifted_weight(self) -> tuple[Array, int]:
        """float32 weight codes minus their zero point, and their max |value|."""
        w = self.weight.data.astype(np.float32)
        if self.weight_zero_point is not None:
            shape = [1] * w.ndim
            if self.qconfig.per_channel:
                shape[0] = -1
            w -= self.weight_zero_point.data.astype(np.float32).reshape(shape)
        return w, int(max(abs(float(w.max())), abs(float(w.min()))))

    def _finish(self, acc: Array) -> Tensor:
        """Accumulator (exact integers) -> (+ bias) -> int8 output grid -> float32 tensor.

        The same arithmetic as `intmath.requantize` followed by dequantization,
        done in place in float64 without materialising the int8 codes.
        """
        shape = [1] * acc.ndim
        shape[self.channel_axis] = -1
        w_scale = self.weight_scale.data.astype(np.float64)
        acc_scale = float(self.input_scale.data) * w_scale.reshape(
            shape if self.qconfig.per_channel else ()
        )
        bias = 0.0 if self.bias is None else self.bias.data.astype(np.float64).reshape(shape)
        y = acc.astype(np.float64)
        out_qp = self.output_qparams()
        if out_qp is None:
            y *= acc_scale
            y += bias
            return Tensor(y.astype(np.float32))
        out_scale, out_zp = float(out_qp.scale), int(out_qp.zero_point)
        y *= acc_scale / out_scale
        y += bias / out_scale
        np.round(y, out=y)
        y += out_zp
        np.clip(y, out_qp.qmin, out_qp.qmax, out=y)
        y -= out_zp
        y *= np.float64(np.float32(out_scale))
        return Tensor(y.astype(np.float32))

    def _activation_range(self) -> tuple[int, int]:
        return qrange(self.qconfig.activation_bits, self.qconfig.activation_symmetric)

    def extra_repr(self) -> str:
        cfg = self.qconfig
        kind = "per_channel" if cfg.per_channel else "per_tensor"
        return (
            f"w{cfg.weight_bits}a{cfg.activation_bits}, {kind}, "
            f"weight={self.weight.data.dtype}{tuple(self.weight.shape)}, "
            f"calibrated={self.calibrated}"
        )


class QuantizedLinear(_QuantizedLayer):
    """`y = x @ W^T + b` with int8 W and x, int32 accumulation."""

    channel_axis = -1

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        qconfig: QConfig | None = None,
    ) -> None:
        super().__init__((out_features, in_features), bias, qconfig or QConfig())
        self.in_features = in_features
        self.out_features = out_features

    @classmethod
    def from_float(
        cls,
        linear: Linear,
        input_qparams: QParams,
        output_qparams: QParams | None,
        qconfig: QConfig | None = None,
    ) -> QuantizedLinear:
        """Quantize a float `Linear` given the calibrated input (and output) ranges."""
        if not isinstance(linear, Linear):
            raise TypeError(f"from_float expects a Linear, got {type(linear).__name__}")
        q = cls(linear.in_features, linear.out_features, linear.bias is not None, qconfig)
        bias = None if linear.bias is None else linear.bias.data
        q._set_qparams(linear.weight.data, bias, input_qparams, output_qparams)
        return q

    def forward(self, input: Tensor) -> Tensor:
        a, _ = self._shifted_input(input)
        if a.ndim == 0 or a.shape[-1] != self.in_features:
            raise ValueError(
                f"QuantizedLinear expects inputs with last dimension {self.in_features}, "
                f"got shape {tuple(a.shape)}"
            )
        lead = a.shape[:-1]
        rows = a.reshape(-1, self.in_features)
        w, w_max = self._shifted_weight()
        # every partial sum of a row is at most sum_k |a_k| * max |w|
        row_l1 = float(np.abs(rows).sum(axis=-1, dtype=np.float64).max(initial=0.0))
        acc = exact_matmul(rows, w.T, int(row_l1) * w_max, self.matmul_method)
        return self._finish(acc.reshape(*lead, self.out_features))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, {super().extra_repr()}"
        )


class QuantizedConv2d(_QuantizedLayer):
    """2-D convolution (NCHW) with int8 weights and inputs, int32 accumulation."""

    channel_axis = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] | str = (0, 0),
        dilation: tuple[int, int] = (1, 1),
        groups: int = 1,
        bias: bool = True,
        qconfig: QConfig | None = None,
    ) -> None:
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels {in_channels} and out_channels {out_channels} must be divisible "
                f"by groups={groups}"
            )
        shape = (out_channels, in_channels // groups, *kernel_size)
        super().__init__(shape, bias, qconfig or QConfig())
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.padding, self.groups = padding, groups

    @classmethod
    def from_float(
        cls,
        conv: Conv2d,
        input_qparams: QParams,
        output_qparams: QParams | None,
        qconfig: QConfig | None = None,
    ) -> QuantizedConv2d:
        """Quantize a float `Conv2d` given the calibrated input (and output) ranges."""
        if not isinstance(conv, Conv2d):
            raise TypeError(f"from_float expects a Conv2d, got {type(conv).__name__}")
        q = cls.like(conv, qconfig)
        bias = None if conv.bias is None else conv.bias.data
        q._set_qparams(conv.weight.data, bias, input_qparams, output_qparams)
        return q

    @classmethod
    def like(
        cls, conv: Conv2d, qconfig: QConfig | None = None, *, bias: bool | None = None
    ) -> QuantizedConv2d:
        """An uncalibrated shell with `conv`'s geometry (for loading a saved model)."""
        return cls(
            conv.in_channels,
            conv.out_channels,
            tuple(conv.kernel_size),  # type: ignore[arg-type]
            tuple(conv.stride),  # type: ignore[arg-type]
            conv.padding if isinstance(conv.padding, str) else tuple(conv.padding),  # type: ignore[arg-type]
            tuple(conv.dilation),  # type: ignore[arg-type]
            conv.groups,
            conv.bias is not None if bias is None else bias,
            qconfig,
        )

    def forward(self, input: Tensor) -> Tensor:
        a, a_max = self._shifted_input(input)
        if a.ndim != 4 or a.shape[1] != self.in_channels:
            raise ValueError(
                f"QuantizedConv2d expects an (N, {self.in_channels}, H, W) input, "
                f"got shape {tuple(a.shape)}"
            )
        n, _, h, w = a.shape
        kh, kw = self.kernel_size
        pads = _pads(self.padding, self.kernel_size, self.dilation)
        hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
        ho = (hp - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        wo = (wp - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(
                f"QuantizedConv2d: input {tuple(a.shape)} is smaller than the kernel {(kh, kw)}"
            )
        # channels-first, batch-last (a view when the input already is, e.g. from a conv)
        chwn = np.ascontiguousarray(a.transpose(1, 2, 3, 0))
        # zero padding of the shifted input is padding with the real value 0.0
        padded = np.pad(chwn, ((0, 0), (pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
        cols = im2col(padded, self.kernel_size, self.stride, self.dilation, self.groups)
        w, _ = self._shifted_weight()
        w3 = w.reshape(self.groups, self.out_channels // self.groups, -1)
        # every partial sum of a filter is at most sum_k |w_k| * max |input code - zp|
        w_l1 = float(np.abs(w3).sum(axis=-1, dtype=np.float64).max(initial=0.0))
        acc = exact_matmul(w3, cols, int(w_l1) * a_max, self.matmul_method)
        # (G, Og, Ho*Wo*N) is (C, Ho, Wo, N) memory: view it as NCHW without copying
        return self._finish(acc.reshape(self.out_channels, ho, wo, n).transpose(3, 0, 1, 2))

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, groups={self.groups}, "
            f"{super().extra_repr()}"
        )
