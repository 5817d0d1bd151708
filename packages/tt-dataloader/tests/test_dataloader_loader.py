"""DataLoader: batching, shuffling, seeds, the fast path, collate and transforms."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
from tt_dataloader import (
    DataLoader,
    Dataset,
    Normalize,
    Subset,
    TensorDataset,
    batch_fetcher,
    default_collate,
    random_split,
)
from tt_tensor import Tensor, manual_seed


class Squares(Dataset[tuple[np.ndarray, int]]):
    """A generic dataset (no get_batch): forces the per-item path."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.full((2,), i * i, dtype=np.float32), i


class NoItems(TensorDataset):
    """Array-backed, but item access is forbidden: only the fast path can work."""

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        raise AssertionError("per-item access used on an array-backed dataset")


def arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2) ** 2 / 2, np.arange(n)


def test_len_and_batch_sizes() -> None:
    ds = TensorDataset(*arrays(10))
    assert len(DataLoader(ds, batch_size=3)) == 4
    assert [len(b[1]) for b in DataLoader(ds, batch_size=3)] == [3, 3, 3, 1]
    loader = DataLoader(ds, batch_size=3, drop_last=True)
    assert len(loader) == 3
    assert [len(b[1]) for b in loader] == [3, 3, 3]
    assert len(DataLoader(ds)) == 10


def test_sequential_order_without_shuffle() -> None:
    ds = TensorDataset(*arrays(7))
    ys = np.concatenate([y.data for _, y in DataLoader(ds, batch_size=3)])
    np.testing.assert_array_equal(ys, np.arange(7))


def test_fast_path_uses_one_gather_per_batch() -> None:
    x, y = arrays(12)
    loader = DataLoader(NoItems(x, y), batch_size=5, shuffle=True, seed=0)
    batches = list(loader)
    assert isinstance(batches[0], list) and len(batches[0]) == 2
    assert batches[0][0].shape == (5, 2) and batches[0][1].dtype == np.int64
    seen = np.sort(np.concatenate([b[1].data for b in batches]))
    np.testing.assert_array_equal(seen, np.arange(12))


def test_fast_path_sees_through_subsets() -> None:
    x, y = arrays(12)
    train, _ = random_split(NoItems(x, y), [8, 4], generator=0)
    assert batch_fetcher(train) is not None
    out = np.concatenate([b[1].data for b in DataLoader(train, batch_size=3)])
    np.testing.assert_array_equal(out, train.indices)
    assert batch_fetcher(Subset(Squares(4), [0, 1])) is None


def test_fast_and_generic_paths_give_identical_batches() -> None:
    x, y = arrays(11)
    fast = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=7)
    slow = DataLoader(
        TensorDataset(x, y), batch_size=4, shuffle=True, seed=7, collate_fn=default_collate
    )
    assert batch_fetcher(TensorDataset(x, y)) is not None and slow._fetch is None
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a[0].data, b[0].data)
        np.testing.assert_array_equal(a[1].data, b[1].data)
        assert a[1].dtype == b[1].dtype


def test_same_seed_same_batches_and_epochs_differ() -> None:
    ds = TensorDataset(*arrays(20))

    def epochs(loader: DataLoader[Any]) -> list[np.ndarray]:
        return [np.concatenate([b[1].data for b in loader]) for _ in range(2)]

    e1 = epochs(DataLoader(ds, batch_size=4, shuffle=True, seed=123))
    e2 = epochs(DataLoader(ds, batch_size=4, shuffle=True, generator=123))
    e3 = epochs(DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(123)))
    for a, b, c in zip(e1, e2, e3, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert not np.array_equal(e1[0], e1[1])  # a fresh permutation each epoch
    np.testing.assert_array_equal(np.sort(e1[0]), np.arange(20))
    other = epochs(DataLoader(ds, batch_size=4, shuffle=True, seed=124))
    assert not np.array_equal(e1[0], other[0])


def test_global_generator_follows_manual_seed() -> None:
    ds = TensorDataset(*arrays(20))
    manual_seed(3)
    a = np.concatenate([b[1].data for b in DataLoader(ds, batch_size=6, shuffle=True)])
    manual_seed(3)
    b = np.concatenate([b[1].data for b in DataLoader(ds, batch_size=6, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_generic_dataset_default_collate() -> None:
    batches = list(DataLoader(Squares(5), batch_size=2))
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and xb.shape == (2, 2) and xb.dtype == np.float32
    assert yb.dtype == np.int64
    np.testing.assert_array_equal(yb.data, [0, 1])
    np.testing.assert_array_equal(batches[2][0].data, [[16, 16]])


def test_batch_size_none_yields_samples() -> None:
    items = list(DataLoader(Squares(3), batch_size=None))
    assert items[2][1] == 2 and len(items) == 3


def test_default_collate_structures() -> None:
    Point = namedtuple("Point", ["x", "y"])
    assert default_collate([1, 2]).dtype == np.int64
    assert default_collate([1.5, 2.0]).dtype == np.float64  # as in PyTorch
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate(["a", "b"]) == ["a", "b"]
    out = default_collate([{"a": 1, "b": np.zeros(2)}, {"a": 2, "b": np.ones(2)}])
    assert out["b"].shape == (2, 2) and out["a"].tolist() == [1, 2]
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    t = default_collate([(Tensor([1.0]), 0), (Tensor([2.0]), 1)])
    assert isinstance(t, list) and t[0].shape == (2, 1)


def test_default_collate_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same length"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_custom_collate_fn_receives_samples() -> None:
    seen: list[int] = []

    def collate(samples: list[Any]) -> int:
        seen.append(len(samples))
        return len(samples)

    assert list(DataLoader(TensorDataset(*arrays(5)), batch_size=2, collate_fn=collate)) == [
        2,
        2,
        1,
    ]
    assert seen == [2, 2, 1]


def test_transform_applies_to_batched_inputs_only() -> None:
    x = np.ones((4, 3, 2, 2), dtype=np.float32)
    ds = TensorDataset(x, np.arange(4))
    loader = DataLoader(ds, batch_size=4, transform=Normalize([1, 1, 1], [2, 2, 2]))
    xb, yb = next(iter(loader))
    np.testing.assert_allclose(xb.data, 0.0)
    np.testing.assert_array_equal(yb.data, np.arange(4))
    plain = TensorDataset(x)
    (xb,) = next(iter(DataLoader(plain, batch_size=2, transform=lambda t: t * 3)))
    np.testing.assert_allclose(xb.data, 3.0)


def test_bad_arguments() -> None:
    ds = TensorDataset(*arrays(4))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(ds, batch_size=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="either"):
        DataLoader(ds, generator=1, seed=1)
    assert "batch_size=1" in repr(DataLoader(ds))
