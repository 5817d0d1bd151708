"""TensorDataset, Subset and random_split."""

from __future__ import annotations

import numpy as np
import pytest
from tt_dataloader import Dataset, Subset, TensorDataset, random_split
from tt_tensor import Tensor, manual_seed


def make(n: int = 10) -> TensorDataset:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(Tensor(x), y)


def test_tensor_dataset_items_and_len() -> None:
    ds = make(10)
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_array_equal(x.data, [9, 10, 11])
    assert y.data.dtype == np.int64 and y.item() == 3
    x, y = ds[-1]
    assert y.item() == 9
    with pytest.raises(IndexError, match="out of range"):
        ds[10]


def test_tensor_dataset_get_batch_gathers_rows() -> None:
    ds = make(10)
    x, y = ds.get_batch(np.array([7, 2, 2]))
    assert x.shape == (3, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(y.data, [7, 2, 2])


def test_tensor_dataset_rejects_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(5,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="list"):
        TensorDataset([1, 2, 3])  # type: ignore[arg-type]


def test_base_dataset_requires_getitem() -> None:
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_subset_maps_indices() -> None:
    ds = make(10)
    sub = Subset(ds, [9, 0, 4])
    assert len(sub) == 3
    assert sub[0][1].item() == 9 and sub[2][1].item() == 4
    with pytest.raises(IndexError, match="Subset index 10"):
        Subset(ds, [1, 10])


def test_random_split_counts_partition_and_seed() -> None:
    ds = make(10)
    a, b = random_split(ds, [7, 3], generator=42)
    assert (len(a), len(b)) == (7, 3)
    together = np.sort(np.concatenate([a.indices, b.indices]))
    np.testing.assert_array_equal(together, np.arange(10))  # disjoint and complete
    a2, _ = random_split(ds, [7, 3], generator=42)
    np.testing.assert_array_equal(a.indices, a2.indices)
    a3, _ = random_split(ds, [7, 3], generator=43)
    assert not np.array_equal(a.indices, a3.indices)


def test_random_split_fractions_distribute_remainder_like_pytorch() -> None:
    ds = make(10)
    parts = random_split(ds, [0.33, 0.33, 0.34], generator=np.random.default_rng(0))
    # floor gives 3, 3, 3; the remaining 1 goes to the first subset.
    assert [len(p) for p in parts] == [4, 3, 3]


def test_random_split_warns_about_empty_subsets() -> None:
    with pytest.warns(UserWarning, match="index 2 is 0"):
        parts = random_split(make(2), [0.5, 0.5, 0.0])
    assert [len(p) for p in parts] == [1, 1, 0]


def test_random_split_follows_manual_seed() -> None:
    ds = make(20)
    manual_seed(5)
    a, _ = random_split(ds, [10, 10])
    manual_seed(5)
    b, _ = random_split(ds, [10, 10])
    np.testing.assert_array_equal(a.indices, b.indices)


def test_random_split_errors() -> None:
    ds = make(10)
    with pytest.raises(ValueError, match="does not equal"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.2])
    with pytest.raises(TypeError, match="generator"):
        random_split(ds, [5, 5], generator="seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [5, 5], generator=-1)
