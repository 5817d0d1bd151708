"""TinyTorch module 09: convolutions, pooling and batch normalization for CNNs.

Functional forms (`conv2d`, `max_pool2d`, ...) live in `tt_spatial.functional`
and are re-exported here; the layers (`Conv2d`, `BatchNorm2d`, ...) are
tt-layers `Module`s with PyTorch's parameter names and initialisation;
`tt_spatial.models` has ready-made blocks and reference CNNs.
"""

from . import functional, models
from .conv import Conv2dFunction, conv2d
from .dropout import dropout2d
from .models import CifarResNet, ConvBNReLU, Residual, SimpleCNN
from .modules import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout2d,
    MaxPool2d,
)
from .normalization import BatchNormFunction, batch_norm
from .pooling import (
    AdaptiveAvgPool2dFunction,
    AvgPool2dFunction,
    MaxPool2dFunction,
    adaptive_avg_pool2d,
    avg_pool2d,
    max_pool2d,
)

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool2dFunction",
    "AvgPool2d",
    "AvgPool2dFunction",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormFunction",
    "CifarResNet",
    "Conv2d",
    "Conv2dFunction",
    "ConvBNReLU",
    "Dropout2d",
    "MaxPool2d",
    "MaxPool2dFunction",
    "Residual",
    "SimpleCNN",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "dropout2d",
    "functional",
    "max_pool2d",
    "models",
]
