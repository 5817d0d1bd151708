"""`tinytorch.training`: the training loop of module 07 (no PyTorch equivalent)."""

from tt_training import (
    Checkpoint,
    History,
    Trainer,
    accuracy,
    binary_accuracy,
    fit,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "Checkpoint",
    "History",
    "Trainer",
    "accuracy",
    "binary_accuracy",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]
