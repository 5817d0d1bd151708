"""`DataLoader`: batches of samples, shuffled reproducibly, collated into tensors.

Two paths produce a batch:

* the fast path, for array-backed datasets (`TensorDataset`, `MNIST`,
  `CIFAR10`, and `Subset`s of them): the dataset's `get_batch(indices)` gathers
  the whole batch with one fancy-index per array, so there is no Python loop
  over the items of a batch;
* the generic path, for any other dataset or when a `collate_fn` is given:
  `collate_fn([dataset[i] for i in indices])`, with `default_collate` stacking
  tensors and arrays and turning Python numbers into tensors.

A batch transform (`transform=`) runs on the batched inputs (the first element
of each batch), so augmentation costs a few NumPy calls per batch too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic

import numpy as np
from tt_tensor import Tensor

from .dataset import Dataset, GeneratorLike, IntArray, Subset, T_co, as_generator

BatchFetcher = Callable[[IntArray], Any]


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, structure by structure, like PyTorch.

    Tensors and arrays are stacked along a new first axis; Python ints become an
    int64 tensor, floats a float64 tensor (as in PyTorch), bools a bool tensor;
    tuples and lists are collated position by position (a batch of ``(x, y)``
    samples becomes the list ``[X, Y]``), dicts key by key; strings stay a list.
    """
    if len(batch) == 0:
        raise ValueError("default_collate got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor | np.ndarray):
        arrays = [e.data if isinstance(e, Tensor) else e for e in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(
                f"default_collate: cannot stack samples of different shapes "
                f"{sorted(shapes, key=str)}; pass a collate_fn that pads them"
            )
        return Tensor(np.stack(arrays))
    if isinstance(elem, bool | np.bool_):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, np.generic):
        return Tensor(np.asarray(batch))
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        sizes = {len(e) for e in batch}
        if len(sizes) != 1:
            raise ValueError(
                f"each sample in a batch must have the same length, got {sorted(sizes)}"
            )
        return [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
    raise TypeError(
        f"default_collate: batch must contain Tensors, NumPy arrays, numbers, strings, dicts "
        f"or sequences; found {type(elem).__name__}"
    )


def batch_fetcher(dataset: Dataset[Any]) -> BatchFetcher | None:
    """The dataset's vectorized `get_batch`, looking through `Subset`s; None if it has none."""
    if isinstance(dataset, Subset):
        inner = batch_fetcher(dataset.dataset)
        if inner is None:
            return None
        indices = dataset.indices
        return lambda idx: inner(indices[idx])
    fetch = getattr(dataset, "get_batch", None)
    return fetch if callable(fetch) else None


class DataLoader(Generic[T_co]):
    """Iterate over `dataset` in batches of `batch_size`.

    * ``shuffle=True`` draws a new permutation every epoch from ``generator``
      (a ``numpy.random.Generator``, an int seed, or None for the global
      generator seeded by ``tt_tensor.manual_seed``); the same seed gives the
      same batches in the same order.
    * ``drop_last=True`` drops the final, smaller batch.
    * ``collate_fn`` merges a list of samples into a batch (default:
      `default_collate`); giving one turns the vectorized fast path off.
    * ``transform`` is a batch transform (e.g. ``Compose([RandomCrop(32, 4),
      Normalize(mean, std)])``) applied to the batched inputs: to the first
      element when the batch is a list or tuple, to the batch itself otherwise.
    * ``batch_size=None`` yields the samples one at a time, uncollated.
    """

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: GeneratorLike = None,
        *,
        seed: int | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(f"batch_size should be a positive integer or None, got {batch_size!r}")
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None (no batching) is incompatible with drop_last=True")
        if generator is not None and seed is not None:
            raise ValueError("give either generator or seed, not both")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.transform = transform
        # An explicit seed owns a private generator made once, so successive epochs
        # differ yet a new loader with the same seed replays the same epochs.
        self.generator: np.random.Generator | None = (
            as_generator(seed if seed is not None else generator)
            if seed is not None or generator is not None
            else None
        )
        self._fetch = batch_fetcher(dataset) if collate_fn is None else None

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> IntArray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        rng = self.generator if self.generator is not None else as_generator(None)
        return rng.permutation(n).astype(np.int64)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self._apply_transform(self.dataset[int(i)])
            return
        bs = self.batch_size
        stop = len(self) * bs
        for start in range(0, stop, bs):
            yield self._apply_transform(self._batch(order[start : start + bs]))

    def _batch(self, idx: IntArray) -> Any:
        if self._fetch is not None:
            batch = self._fetch(idx)
            # Match default_collate: a batch of (x, y) tuples is the list [X, Y].
            return list(batch) if isinstance(batch, tuple) else batch
        collate = self.collate_fn if self.collate_fn is not None else default_collate
        return collate([self.dataset[int(i)] for i in idx])

    def _apply_transform(self, batch: Any) -> Any:
        if self.transform is None:
            return batch
        if isinstance(batch, list | tuple) and not batch:
            raise ValueError("cannot apply a batch transform to an empty batch")
        if isinstance(batch, list):
            return [self.transform(batch[0]), *batch[1:]]
        if isinstance(batch, tuple):
            return (self.transform(batch[0]), *batch[1:])
        if isinstance(batch, Tensor | np.ndarray):
            return self.transform(batch)
        raise TypeError(
            f"DataLoader transform: batches of type {type(batch).__name__} are not supported; "
            "the transform applies to a Tensor batch or to the first element of a list/tuple"
        )

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
