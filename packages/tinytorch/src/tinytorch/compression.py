"""`tinytorch.compression`: Pruning, low-rank factorization and distillation (module 16)."""

from tt_compression import (
    ChannelPruning,
    DistillationLoss,
    Pruner,
    factorize_linear,
    load_sparse,
    model_sparsity,
    prune_channels,
    save_sparse,
)

__all__ = [
    "ChannelPruning",
    "DistillationLoss",
    "Pruner",
    "factorize_linear",
    "load_sparse",
    "model_sparsity",
    "prune_channels",
    "save_sparse",
]
