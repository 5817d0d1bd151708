"""Ready-made CNN building blocks and two reference models.

`ConvBNReLU` is the unit almost every modern CNN repeats; `SimpleCNN` is a
LeNet-style network (enough for 99% on MNIST); `CifarResNet` is the small
ResNet the CIFAR-10 milestone trains (the shape of David Page's "ResNet-9",
narrowed to fit a 2-core CPU budget).
"""

from __future__ import annotations

from collections.abc import Sequence

from tt_activations import ReLU
from tt_layers import Flatten, Linear, Module, Sequential
from tt_tensor import Tensor

from .modules import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, MaxPool2d


class ConvBNReLU(Sequential):
    """Conv2d (no bias: BatchNorm's shift replaces it) -> BatchNorm2d -> ReLU.

    Children are named `0`, `1`, `2` like the equivalent `torch.nn.Sequential`,
    so state_dict keys match PyTorch's.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
    ) -> None:
        pad = kernel_size // 2 if padding is None else padding
        super().__init__(
            Conv2d(in_channels, out_channels, kernel_size, stride, pad, bias=False),
            BatchNorm2d(out_channels),
            ReLU(),
        )


class Residual(Module):
    """x + body(x): the identity path lets gradients skip the body."""

    def __init__(self, body: Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.body(x)
        return x + out


class SimpleCNN(Sequential):
    """LeNet-style: two conv-ReLU-maxpool stages and a linear classifier.

    For 28x28 MNIST digits: (N, 1, 28, 28) -> 14x14 -> 7x7 -> logits (N, 10).
    """

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, width: int = 32, image_size: int = 28
    ) -> None:
        side = image_size // 4
        super().__init__(
            Conv2d(in_channels, width, 5, padding=2),
            ReLU(),
            MaxPool2d(2),
            Conv2d(width, 2 * width, 5, padding=2),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Linear(2 * width * side * side, num_classes),
        )


class CifarResNet(Sequential):
    """A narrow ResNet-9 for 32x32 images.

        prep    ConvBNReLU(3, w0)                        32x32
        layer1  ConvBNReLU(w0, w1), MaxPool 2, Residual  16x16
        layer2  ConvBNReLU(w1, w2), MaxPool 2            8x8
        layer3  ConvBNReLU(w2, w3), MaxPool 2, Residual  4x4
        head    global average pool, Linear(w3, classes)

    Each Residual is two ConvBNReLU blocks. Pooling right after each widening
    conv keeps most of the arithmetic in big, BLAS-friendly matmuls.
    """

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128, 256),
        num_classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        w0, w1, w2, w3 = widths
        super().__init__(
            ConvBNReLU(in_channels, w0),
            ConvBNReLU(w0, w1),
            MaxPool2d(2),
            Residual(Sequential(ConvBNReLU(w1, w1), ConvBNReLU(w1, w1))),
            ConvBNReLU(w1, w2),
            MaxPool2d(2),
            ConvBNReLU(w2, w3),
            MaxPool2d(2),
            Residual(Sequential(ConvBNReLU(w3, w3), ConvBNReLU(w3, w3))),
            AdaptiveAvgPool2d(1),
            Flatten(),
            Linear(w3, num_classes),
        )
