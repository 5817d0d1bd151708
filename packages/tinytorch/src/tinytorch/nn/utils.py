"""`tinytorch.nn.utils`: gradient clipping, where PyTorch keeps it."""

from tt_training import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
