"""The functional forms, as `torch.nn.functional` names them."""

from .conv import conv2d
from .dropout import dropout2d
from .normalization import batch_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "dropout2d",
    "max_pool2d",
]
