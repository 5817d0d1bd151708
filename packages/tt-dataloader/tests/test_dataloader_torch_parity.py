"""Parity with torch.utils.data where PyTorch is installed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

from tt_dataloader import DataLoader, Normalize, TensorDataset, default_collate, random_split  # noqa: E402
from tt_tensor import Tensor  # noqa: E402


@pytest.mark.filterwarnings("ignore:Length of split")
@pytest.mark.parametrize(
    ("n", "fractions"),
    [(10, [0.33, 0.33, 0.34]), (101, [0.8, 0.2]), (7, [0.5, 0.25, 0.25]), (5, [0.1] * 10)],
)
def test_random_split_fraction_sizes(n: int, fractions: list[float]) -> None:
    ours = [len(s) for s in random_split(TensorDataset(np.zeros(n)), fractions, generator=0)]
    ref = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
    assert ours == ref


@pytest.mark.parametrize(("n", "bs", "drop"), [(10, 3, False), (10, 3, True), (9, 3, True)])
def test_loader_len_and_batch_sizes(n: int, bs: int, drop: bool) -> None:
    x = np.arange(n, dtype=np.float32)
    ours = DataLoader(TensorDataset(x), batch_size=bs, drop_last=drop)
    ref = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x)), batch_size=bs, drop_last=drop
    )
    assert len(ours) == len(ref)
    assert [b[0].shape[0] for b in ours] == [b[0].shape[0] for b in ref]
    for a, b in zip(ours, ref, strict=True):
        assert type(a) is type(b)  # both lists
        np.testing.assert_array_equal(a[0].data, b[0].numpy())


def test_default_collate_dtypes_and_structure() -> None:
    from torch.utils.data import default_collate as torch_collate

    samples = [(np.ones(2, np.float32), 1, 0.5, True), (np.zeros(2, np.float32), 2, 1.5, False)]
    ours = default_collate(samples)
    ref = torch_collate(samples)
    assert type(ours) is type(ref) and len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert isinstance(a, Tensor)
        assert a.dtype == b.numpy().dtype
        np.testing.assert_array_equal(a.data, b.numpy())


def test_normalize_matches_torch_formula() -> None:
    x = np.random.default_rng(0).random((4, 3, 5, 5), dtype=np.float32)
    mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]
    ref = (torch.from_numpy(x) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1
    )
    np.testing.assert_allclose(Normalize(mean, std)(x).data, ref.numpy(), rtol=1e-6, atol=1e-6)
