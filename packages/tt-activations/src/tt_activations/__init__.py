"""TinyTorch module 02: ReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax.

Functions (`relu`, `softmax`, ...) live in `tt_activations.functional` and are
re-exported here; modules (`ReLU()`, `Softmax(dim=1)`, ...) wrap them for use
inside tt-layers' `Sequential`.
"""

from . import functional
from .functional import gelu, log_softmax, relu, sigmoid, softmax, tanh
from .modules import GELU, Activation, LogSoftmax, ReLU, RemovableHandle, Sigmoid, Softmax, Tanh

__all__ = [
    "GELU",
    "Activation",
    "LogSoftmax",
    "ReLU",
    "RemovableHandle",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "gelu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
