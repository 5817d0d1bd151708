"""TinyTorch module 06: optimizers and learning-rate schedulers.

`SGD`, `Adam` and `AdamW` follow `torch.optim` rule for rule, so a trajectory
matches PyTorch's step for step; `tt_optimizers.lr_scheduler` holds the
schedulers. Updates run under `tt_autograd.no_grad` and change `p.data` in
place with vectorized NumPy.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler, OneCycleLR, StepLR
from .optimizer import Optimizer, ParamsT
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "LRScheduler",
    "LambdaLR",
    "OneCycleLR",
    "Optimizer",
    "ParamsT",
    "StepLR",
    "lr_scheduler",
]
