"""Quantization-aware training: train with the rounding in the loop, then convert.

`prepare_qat(model)` swaps every Linear/Conv2d for a QAT twin that keeps the
same float Parameters (so an optimizer and a float checkpoint still fit) but
fake-quantizes its input, weight and output in forward. The loss thus sees the
int8 model's error and the weights learn to live with it; the straight-through
estimator lets gradients pass the rounding. `convert(model)` then produces the
same integer layers as post-training quantization, with the ranges the QAT
observers tracked during training.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tt_layers import Linear, Module, Parameter
from tt_spatial import Conv2d, conv2d
from tt_tensor import Tensor

from ._graph import clone_model, find, replace
from .config import QConfig
from .fake_quant import fake_quantize
from .fusion import fold_batchnorm
from .modules import QuantizedConv2d, QuantizedLinear
from .observers import Observer
from .ptq import FOLDED_ATTR
from .qscheme import QParams

M = TypeVar("M", bound=Module)


class _FakeQuantMixin:
    """Observers and fake quantization shared by the QAT layers."""

    qconfig: QConfig
    input_observer: Observer
    output_observer: Observer | None
    training: bool
    weight: Parameter

    def _setup_qat(self, qconfig: QConfig) -> None:
        self.qconfig = qconfig
        self.input_observer = qconfig.qat_activation_observer()
        self.output_observer = (
            qconfig.qat_activation_observer() if qconfig.requantize_output else None
        )

    def _fake_activation(self, x: Tensor, observer: Observer) -> Tensor:
        """Track the range while training (frozen in eval), then round onto it."""
        if self.training:
            observer.observe(x)
        elif not observer.calibrated:
            raise RuntimeError(
                f"{type(self).__name__} has no activation range yet: run training-mode "
                "batches (model.train()) before evaluating a QAT model"
            )
        return fake_quantize(x, observer.calculate_qparams())

    def weight_qparams(self) -> QParams:
        observer = self.qconfig.weight_observer()
        observer.observe(self.weight.data)
        return observer.calculate_qparams()

    def _fake_weight(self) -> Tensor:
        return fake_quantize(self.weight, self.weight_qparams())

    def _fake_output(self, y: Tensor) -> Tensor:
        if self.output_observer is None:
            return y
        return self._fake_activation(y, self.output_observer)

    def activation_qparams(self) -> tuple[QParams, QParams | None]:
        """The learned (input, output) ranges, for `convert`."""
        out = None if self.output_observer is None else self.output_observer.calculate_qparams()
        return self.input_observer.calculate_qparams(), out


class QATLinear(_FakeQuantMixin, Linear):
    """A Linear whose forward sees int8-rounded input, weight and output."""

    @classmethod
    def from_float(cls, linear: Linear, qconfig: QConfig) -> QATLinear:
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None)
        qat.weight = linear.weight  # the same Parameter objects: optimizers keep working
        if linear.bias is not None:
            qat.bias = linear.bias
        qat._setup_qat(qconfig)
        return qat

    def forward(self, input: Tensor) -> Tensor:
        x = self._fake_activation(input, self.input_observer)
        y = x @ self._fake_weight().T
        if self.bias is not None:
            y = y + self.bias
        return self._fake_output(y)


class QATConv2d(_FakeQuantMixin, Conv2d):
    """A Conv2d whose forward sees int8-rounded input, weight and output."""

    @classmethod
    def from_float(cls, conv: Conv2d, qconfig: QConfig) -> QATConv2d:
        qat = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
        )
        qat.weight = conv.weight
        if conv.bias is not None:
            qat.bias = conv.bias
        qat._setup_qat(qconfig)
        return qat

    def forward(self, input: Tensor) -> Tensor:
        x = self._fake_activation(input, self.input_observer)
        y = conv2d(
            x,
            self._fake_weight(),
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
        return self._fake_output(y)


def prepare_qat(
    model: M, qconfig: QConfig | None = None, *, fold_bn: bool = True, inplace: bool = False
) -> M:
    """A copy of `model` (training mode) with every Linear/Conv2d fake-quantized.

    Build the optimizer from the returned model's parameters, train as usual,
    then call `convert`. With `fold_bn` (the default) BatchNorms that follow a
    layer are folded into it first, with their running statistics frozen: QAT
    is a short fine-tuning of a trained model, and the integer model has no
    BatchNorm either.
    """
    cfg = qconfig or QConfig()
    root: Module = clone_model(model, inplace)
    folded: list[str] = []
    if fold_bn:
        root, folded = fold_batchnorm(root, inplace=True)
    targets = [
        (n, m) for n, m in find(root, (Linear, Conv2d)) if not isinstance(m, _FakeQuantMixin)
    ]
    if not targets:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to prepare")
    for name, layer in targets:
        new: Module
        if isinstance(layer, Conv2d):
            new = QATConv2d.from_float(layer, cfg)
        else:
            new = QATLinear.from_float(layer, cfg)
        root = replace(root, name, new)
    if folded:
        object.__setattr__(root, FOLDED_ATTR, folded)
    root.train()
    return root  # type: ignore[return-value]


def convert(model: M, *, inplace: bool = False) -> M:
    """Turn a QAT-trained model into integer layers (same as `quantize_model`'s output)."""
    root: Module = clone_model(model, inplace)
    targets: list[tuple[str, Any]] = find(root, (QATLinear, QATConv2d))
    if not targets:
        raise ValueError(
            f"{type(model).__name__} has no QAT layer to convert: call prepare_qat() and "
            "train first (or use quantize_model for post-training quantization)"
        )
    for name, layer in targets:
        if not layer.input_observer.calibrated:
            raise RuntimeError(
                f"QAT layer {name!r} has seen no training batch: its activation range is "
                "unknown, so it cannot be converted"
            )
        in_qp, out_qp = layer.activation_qparams()
        new: Module
        if isinstance(layer, QATConv2d):
            new = QuantizedConv2d.from_float(layer, in_qp, out_qp, layer.qconfig)
        else:
            new = QuantizedLinear.from_float(layer, in_qp, out_qp, layer.qconfig)
        root = replace(root, name, new)
    if hasattr(model, FOLDED_ATTR):
        object.__setattr__(root, FOLDED_ATTR, list(getattr(model, FOLDED_ATTR)))
    root.eval()
    return root  # type: ignore[return-value]
