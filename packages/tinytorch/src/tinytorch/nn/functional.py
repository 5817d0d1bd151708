"""`tinytorch.nn.functional`: the stateless forms of every layer and loss."""

from tt_activations.functional import gelu, log_softmax, relu, sigmoid, softmax, tanh
from tt_layers.functional import dropout, linear
from tt_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "gelu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
