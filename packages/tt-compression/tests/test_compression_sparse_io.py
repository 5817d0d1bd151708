"""Sparse safetensors: exact round trips, and files that shrink with sparsity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tt_compression import Pruner, encoded_bytes, load_sparse, save_sparse
from tt_layers import Linear, Sequential
from tt_spatial import BatchNorm2d, Conv2d
from tt_tensor import Tensor, manual_seed, save


def _sparse(shape: tuple[int, ...], sparsity: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(np.float32)
    a[rng.random(shape) < sparsity] = 0
    return a


@pytest.mark.parametrize("fmt", ["dense", "bitmask", "csr", "auto"])
def test_round_trip_is_exact(tmp_path: Path, fmt: str) -> None:
    tensors = {
        "w2d": _sparse((30, 70), 0.9),
        "w4d": _sparse((8, 3, 3, 3), 0.5, 1),
        "b": _sparse((30,), 0.0, 2),
        "count": np.array(7, np.int64),
        "empty_rows": np.zeros((4, 5), np.float32),
    }
    path = tmp_path / "s.safetensors"
    save_sparse(tensors, path, format=fmt)  # type: ignore[arg-type]
    back = load_sparse(path)
    assert set(back) == set(tensors)
    for name, value in tensors.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape, name
        np.testing.assert_array_equal(back[name].data, value)


def test_file_size_falls_with_sparsity(tmp_path: Path) -> None:
    manual_seed(0)
    sizes = []
    for sparsity in (0.0, 0.5, 0.8, 0.9, 0.95, 0.99):
        model = Sequential(Linear(256, 256), Linear(256, 64))
        Pruner(model, sparsity, scope="global")
        path = tmp_path / f"m{sparsity}.safetensors"
        save_sparse(model, path)
        sizes.append(path.stat().st_size)
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    dense_path = tmp_path / "dense.safetensors"
    save(model.state_dict(), dense_path)
    assert sizes[0] <= dense_path.stat().st_size * 1.01  # no penalty when nothing is sparse
    assert sizes[3] < 0.2 * sizes[0]  # 90% sparse: about 5x smaller (bitmask + values)
    assert sizes[5] < 0.05 * sizes[0]  # 99% sparse: CSR takes over


def test_auto_picks_the_smallest_format() -> None:
    for sparsity, expected in ((0.0, "dense"), (0.6, "bitmask"), (0.995, "csr")):
        a = _sparse((64, 512), sparsity, 3)
        sizes = {f: encoded_bytes(a, f) for f in ("dense", "bitmask", "csr")}
        assert min(sizes, key=sizes.__getitem__) == expected


def test_model_state_dict_loads_back_into_a_model(tmp_path: Path) -> None:
    manual_seed(1)
    model = Sequential(Conv2d(3, 4, 3), BatchNorm2d(4))
    Pruner(model, 0.7)
    save_sparse(model, tmp_path / "c.safetensors")
    other = Sequential(Conv2d(3, 4, 3), BatchNorm2d(4))
    other.load_state_dict(load_sparse(tmp_path / "c.safetensors"))
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
    model.eval()
    other.eval()
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        save_sparse({"a": np.zeros(3, np.float32)}, tmp_path / "x", format="zip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="::"):
        save_sparse({"a::b": np.zeros(3, np.float32)}, tmp_path / "x")
    save({"a": Tensor(np.zeros(3, np.float32))}, tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="save_sparse"):
        load_sparse(tmp_path / "plain.safetensors")
