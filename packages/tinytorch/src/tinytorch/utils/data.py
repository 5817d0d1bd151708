"""`tinytorch.utils.data`: datasets, loaders and the batch transforms."""

from tt_dataloader import (
    CIFAR10,
    MNIST,
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
    TensorDataset,
    ToTensor,
    default_collate,
    random_split,
)

__all__ = [
    "CIFAR10",
    "MNIST",
    "Compose",
    "DataLoader",
    "Dataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Subset",
    "TensorDataset",
    "ToTensor",
    "default_collate",
    "random_split",
]
