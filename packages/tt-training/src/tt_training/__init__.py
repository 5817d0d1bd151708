"""TinyTorch module 07: the training loop, metrics, clipping and checkpoints.

`Trainer` (or `fit`) runs epochs of forward, backward and optimizer steps
over any re-iterable of (inputs, targets) batches, with validation under
`no_grad`, gradient clipping and accumulation, a scheduler hook, a tqdm bar
and a `History`. Checkpoints are safetensors + JSON, never pickle, and a
resumed run continues bit for bit.
"""

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .clip import clip_grad_norm_, clip_grad_value_
from .history import History
from .metrics import accuracy, binary_accuracy
from .protocols import Model, OptimizerLike, SchedulerLike
from .trainer import Trainer, fit

__all__ = [
    "Checkpoint",
    "History",
    "Model",
    "OptimizerLike",
    "SchedulerLike",
    "Trainer",
    "accuracy",
    "binary_accuracy",
    "clip_grad_norm_",
    "clip_grad_value_",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]
