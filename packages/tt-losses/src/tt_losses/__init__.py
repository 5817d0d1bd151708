"""TinyTorch module 04: MSE, cross-entropy, NLL, BCE.

Functions (`cross_entropy`, `mse_loss`, ...) live in `tt_losses.functional`
and are re-exported here; the modules (`CrossEntropyLoss()`, ...) wrap them.
"""

from . import functional
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .modules import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss, NLLLoss

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Loss",
    "MSELoss",
    "NLLLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "functional",
    "mse_loss",
    "nll_loss",
]
