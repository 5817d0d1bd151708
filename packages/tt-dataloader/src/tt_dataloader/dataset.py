"""Map-style datasets: `Dataset`, `TensorDataset`, `Subset`, `random_split`.

A dataset is anything with `__getitem__(i)` and `__len__()`. Datasets that hold
their samples in arrays also offer `get_batch(indices)`, which returns a whole
batch with one fancy-index per array; `DataLoader` uses it to avoid a Python
loop over the items of every batch.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor
from tt_tensor import generator as global_generator

T_co = TypeVar("T_co", covariant=True)
IntArray: TypeAlias = npt.NDArray[np.int64]
GeneratorLike: TypeAlias = np.random.Generator | int | None


def as_generator(generator: GeneratorLike) -> np.random.Generator:
    """A NumPy generator from a generator, a seed, or None (the global TinyTorch one).

    None means "follow `tt_tensor.manual_seed`", which is what makes a script
    that seeds once at the top reproducible end to end.
    """
    if generator is None:
        return global_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, int | np.integer):
        raise TypeError(
            f"generator must be a numpy.random.Generator, an int seed or None, "
            f"got {type(generator).__name__}"
        )
    if generator < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {generator}")
    return np.random.default_rng(int(generator))


class Dataset(Generic[T_co]):
    """The base class of map-style datasets: subclasses define `__getitem__` and `__len__`."""

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


def _as_array(value: Tensor | npt.NDArray[Any]) -> npt.NDArray[Any]:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"TensorDataset takes Tensors or NumPy arrays, got {type(value).__name__}")


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are the i-th rows of the given tensors (e.g. images and labels).

    Tensors are kept as they are (no copy); `get_batch` gathers a batch of rows
    from each with one NumPy fancy-index.
    """

    def __init__(self, *tensors: Tensor | npt.NDArray[Any]) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        arrays = [_as_array(t) for t in tensors]
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a row axis")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"Size mismatch between tensors: first dimensions differ ({shapes})")
        self.tensors: tuple[Tensor, ...] = tuple(
            t if isinstance(t, Tensor) else Tensor(t) for t in tensors
        )
        self._arrays = arrays

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
        return tuple(Tensor(a[index]) for a in self._arrays)

    def __len__(self) -> int:
        return int(self._arrays[0].shape[0])

    def get_batch(self, indices: IntArray) -> tuple[Tensor, ...]:
        """Rows `indices` of every tensor, gathered at once."""
        return tuple(Tensor(a[indices]) for a in self._arrays)


class Subset(Dataset[T_co]):
    """The samples of `dataset` at `indices`, in that order (views, not copies)."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int] | IntArray) -> None:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)][0]
            raise IndexError(f"Subset index {bad} is out of range for a dataset of {n} samples")
        self.dataset = dataset
        self.indices: IntArray = idx

    def __getitem__(self, index: int) -> T_co:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return int(self.indices.size)


def random_split(
    dataset: Dataset[T_co],
    lengths: Sequence[int | float],
    generator: GeneratorLike = None,
) -> list[Subset[T_co]]:
    """Split `dataset` into non-overlapping random subsets of the given sizes.

    `lengths` are sample counts summing to `len(dataset)`, or fractions summing
    to 1; as in PyTorch, the samples left over by flooring fractions are given
    out one at a time, round-robin, from the first subset on.
    """
    n = len(dataset)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    sizes: list[int]
    if all(isinstance(v, int | np.integer) for v in lengths):
        sizes = [int(v) for v in lengths]
    else:
        fractions = [float(v) for v in lengths]
        if not (math.isclose(sum(fractions), 1.0) and sum(fractions) <= 1.0 + 1e-9):
            raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions)})")
        for f in fractions:
            if not 0.0 <= f <= 1.0:
                raise ValueError(f"fraction {f} is not between 0 and 1")
        sizes = [math.floor(n * f) for f in fractions]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    if any(s < 0 for s in sizes):
        raise ValueError(f"lengths must be non-negative, got {sizes}")
    if sum(sizes) != n:
        raise ValueError(
            f"sum of input lengths ({sum(sizes)}) does not equal the length of the dataset ({n})"
        )
    perm = as_generator(generator).permutation(n).astype(np.int64)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[a:b]) for a, b in itertools.pairwise(bounds)]
