"""TinyTorch module 08: Dataset, DataLoader, batch transforms, MNIST, CIFAR-10.

`DataLoader` turns a dataset into shuffled, collated batches; array-backed
datasets (`TensorDataset`, `MNIST`, `CIFAR10`) are batched with one
fancy-index per batch. Transforms work on whole NCHW batches. The real data
sets are read from their official formats with structural checks, and their
downloads are checksummed and atomic.
"""

from .dataloader import DataLoader, batch_fetcher, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .datasets import CIFAR10, DATASETS, MNIST, default_root, download, locate
from .fetch import ChecksumError, DownloadError, download_url
from .formats import DatasetFormatError, RestrictedUnpickler, read_idx, restricted_load
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor

__all__ = [
    "CIFAR10",
    "DATASETS",
    "MNIST",
    "ChecksumError",
    "Compose",
    "DataLoader",
    "Dataset",
    "DatasetFormatError",
    "DownloadError",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RestrictedUnpickler",
    "Subset",
    "TensorDataset",
    "ToTensor",
    "batch_fetcher",
    "default_collate",
    "default_root",
    "download",
    "download_url",
    "locate",
    "random_split",
    "read_idx",
    "restricted_load",
]
