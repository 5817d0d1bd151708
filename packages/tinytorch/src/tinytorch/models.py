"""`tinytorch.models`: the complete models the milestones train."""

from tt_spatial import CifarResNet, SimpleCNN
from tt_transformers import GPT, MLP, Block

__all__ = ["GPT", "MLP", "Block", "CifarResNet", "SimpleCNN"]
