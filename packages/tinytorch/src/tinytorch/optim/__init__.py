"""`tinytorch.optim`: SGD, Adam, AdamW and the learning-rate schedulers."""

from tt_optimizers import SGD, Adam, AdamW, Optimizer

from . import lr_scheduler

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
