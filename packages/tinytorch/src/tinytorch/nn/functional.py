"""`tinytorch.nn.functional`: the stateless forms of every layer and loss."""

from tt_activations.functional import gelu, log_softmax, relu, sigmoid, softmax, tanh
from tt_attention import scaled_dot_product_attention
from tt_embeddings import embedding
from tt_layers.functional import dropout, linear
from tt_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from tt_spatial import (
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm,
    conv2d,
    dropout2d,
    max_pool2d,
)
from tt_transformers import layer_norm

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]
