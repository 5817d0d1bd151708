"""TinyTorch module 16: compression, measured.

Unstructured magnitude pruning with masks that survive training (`Pruner`),
structured channel pruning that physically shrinks layers (`prune_channels`),
low-rank factorization of Linear layers (`low_rank_factorize`), knowledge
distillation (`DistillationLoss`), and sparse safetensors files whose size
falls with sparsity (`save_sparse` / `load_sparse`).
"""

from .distillation import DistillationLoss, soft_kl_divergence
from .lowrank import Factorization, choose_rank, factorize_linear, low_rank_factorize
from .pruning import Pruner, model_sparsity, prunable_weights
from .report import CompressionStats, compression_stats
from .sparse_io import encoded_bytes, load_sparse, save_sparse
from .structured import ChannelPruning, prune_channels

__all__ = [
    "ChannelPruning",
    "CompressionStats",
    "DistillationLoss",
    "Factorization",
    "Pruner",
    "choose_rank",
    "compression_stats",
    "encoded_bytes",
    "factorize_linear",
    "load_sparse",
    "low_rank_factorize",
    "model_sparsity",
    "prunable_weights",
    "prune_channels",
    "save_sparse",
    "soft_kl_divergence",
]
