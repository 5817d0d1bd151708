"""Saving sparse weights so the file shrinks with sparsity.

A pruned float32 matrix is still 4 bytes per entry when stored densely. Two
compressed forms are offered, each as plain safetensors tensors:

- "bitmask": one bit per entry (`np.packbits` of `w != 0`) plus the nonzero
  values in row-major order: n/8 + 4 * nnz bytes. Best from ~3% sparsity up.
- "csr": compressed sparse rows, per row the nonzero values and their column
  indices (uint16 when the rows are short enough, else int32) plus row
  pointers: (4 + 2) * nnz + 4 * (rows + 1) bytes. Best above ~97% sparsity.

`save_sparse(..., format="auto")` picks, per tensor, the smallest of dense,
bitmask and csr. Loading rebuilds the exact dense arrays.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tt_layers import Module
from tt_tensor import Tensor, load_metadata, load_tensors, save_tensors

SparseFormat = Literal["auto", "dense", "bitmask", "csr"]
FORMAT = "tt-compression/sparse-1"
Array = npt.NDArray[Any]


def _as_matrix(a: Array) -> Array:
    """Rows are the first axis (output channels); everything else is columns."""
    return a.reshape(a.shape[0], -1) if a.ndim >= 2 else a.reshape(1, -1)


def _index_dtype(columns: int) -> np.dtype[Any]:
    return np.dtype(np.uint16) if columns <= np.iinfo(np.uint16).max + 1 else np.dtype(np.int32)


def encoded_bytes(a: Array, fmt: str) -> int:
    """Payload bytes `a` takes in format `fmt` (headers not counted)."""
    nnz, size, item = int(np.count_nonzero(a)), int(a.size), int(a.itemsize)
    if fmt == "dense":
        return size * item
    if fmt == "bitmask":
        return (size + 7) // 8 + nnz * item
    if fmt == "csr":
        rows, cols = _as_matrix(a).shape
        return nnz * (item + int(_index_dtype(cols).itemsize)) + 4 * (int(rows) + 1)
    raise ValueError(f"unknown sparse format {fmt!r}: expected dense, bitmask or csr")


def encode(name: str, a: Array, fmt: str) -> dict[str, Array]:
    """The safetensors entries that store `a` under `name` in format `fmt`."""
    if fmt == "dense":
        return {name: a}
    flat = a.reshape(-1)
    if fmt == "bitmask":
        nonzero = flat != 0
        return {f"{name}::mask": np.packbits(nonzero), f"{name}::values": flat[nonzero]}
    if fmt == "csr":
        m = _as_matrix(a)
        rows, cols = np.nonzero(m)
        indptr = np.zeros(m.shape[0] + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=m.shape[0]), out=indptr[1:])
        return {
            f"{name}::values": m[rows, cols],
            f"{name}::indices": cols.astype(_index_dtype(m.shape[1])),
            f"{name}::indptr": indptr,
        }
    raise ValueError(f"unknown sparse format {fmt!r}: expected dense, bitmask or csr")


def decode(
    name: str, fmt: str, shape: tuple[int, ...], dtype: str, arrays: Mapping[str, Array]
) -> Array:
    """Rebuild the dense array stored by `encode`."""
    if fmt == "dense":
        # reshape: tt_tensor.save_tensors stores 0-d arrays with shape (1,)
        return arrays[name].reshape(shape)
    size = int(np.prod(shape))
    out = np.zeros(size, dtype=dtype)
    if fmt == "bitmask":
        nonzero = np.unpackbits(arrays[f"{name}::mask"], count=size).astype(bool)
        out[nonzero] = arrays[f"{name}::values"]
        return out.reshape(shape)
    if fmt == "csr":
        m = out.reshape(shape[0], -1) if len(shape) >= 2 else out.reshape(1, -1)
        indptr = arrays[f"{name}::indptr"]
        rows = np.repeat(np.arange(m.shape[0]), np.diff(indptr))
        m[rows, arrays[f"{name}::indices"].astype(np.int64)] = arrays[f"{name}::values"]
        return out.reshape(shape)
    raise ValueError(f"{name}: unknown stored format {fmt!r}")


def save_sparse(
    tensors: Module | Mapping[str, Tensor | Array],
    path: str | os.PathLike[str],
    format: SparseFormat = "auto",
) -> dict[str, str]:
    """Save a model's state dict (or named tensors) with sparse tensors compressed.

    Returns the format chosen for each tensor. 0-d and 1-d tensors with few
    zeros simply stay dense under "auto".
    """
    state = tensors.state_dict() if isinstance(tensors, Module) else tensors
    arrays: dict[str, Array] = {}
    layout: dict[str, dict[str, Any]] = {}
    chosen: dict[str, str] = {}
    for name, value in state.items():
        if "::" in name:
            raise ValueError(f"tensor name {name!r} may not contain '::' (used by the format)")
        a = np.asarray(value.data if isinstance(value, Tensor) else value, order="C")
        if format == "auto":
            fmt = min(("dense", "bitmask", "csr"), key=lambda f: encoded_bytes(a, f))
        elif format in ("dense", "bitmask", "csr"):
            fmt = format
        else:
            raise ValueError(f"format must be auto, dense, bitmask or csr, got {format!r}")
        arrays.update(encode(name, a, fmt))
        layout[name] = {"format": fmt, "shape": list(a.shape), "dtype": a.dtype.str}
        chosen[name] = fmt
    save_tensors(arrays, path, metadata={"format": FORMAT, "tensors": layout})
    return chosen


def load_sparse(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """The dense tensors of a file written by `save_sparse` (a state dict)."""
    meta = load_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)} was not written by save_sparse (format "
            f"{meta.get('format')!r}, expected {FORMAT!r})"
        )
    arrays = {k: v.data for k, v in load_tensors(path).items()}
    out: dict[str, Tensor] = {}
    for name, info in meta["tensors"].items():
        dense = decode(name, info["format"], tuple(info["shape"]), info["dtype"], arrays)
        out[name] = Tensor(dense)
    return out
