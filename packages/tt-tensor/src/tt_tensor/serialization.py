"""Saving tensors as safetensors: a file that can never run code when loaded.

Writes go to a temporary file in the destination folder and are renamed into
place, so a crash mid-write never leaves a truncated file under the real name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors import numpy as st_numpy

from .tensor import Tensor


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write `payload` to `path` all-or-nothing (temp file + fsync + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors(
    tensors: Mapping[str, Tensor | np.ndarray[Any, Any]],
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Save named tensors to a safetensors file; `metadata` is stored as JSON strings."""
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for name, value in tensors.items():
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        # np.ascontiguousarray turns 0-d arrays (BatchNorm.num_batches_tracked) into 1-d
        arrays[name] = np.ascontiguousarray(arr).reshape(arr.shape)
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    atomic_write_bytes(path, st_numpy.save(arrays, metadata=meta or None))


def load_tensors(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Load every tensor of a safetensors file (no code runs, ever)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such checkpoint file: {p}")
    try:
        arrays = st_numpy.load(p.read_bytes())
    except (SafetensorError, ValueError) as err:
        raise ValueError(f"{p} is not a valid safetensors file: {err}") from None
    return {k: Tensor(v) for k, v in arrays.items()}


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata stored by `save_tensors`."""
    p = Path(path)
    with p.open("rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{p} is not a valid safetensors file: too short")
        n = int.from_bytes(head, "little")
        header = json.loads(f.read(n))
    raw = header.get("__metadata__", {}) or {}
    return {k: json.loads(v) for k, v in raw.items()}


def save(obj: Mapping[str, Tensor], f: str | os.PathLike[str]) -> None:
    """`torch.save` for a state dict (name -> Tensor), written as safetensors."""
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save() stores a mapping of names to tensors (e.g. model.state_dict()), "
            f"got {type(obj).__name__}; TinyTorch never pickles objects"
        )
    save_tensors(obj, f)


def load_file(f: str | os.PathLike[str]) -> dict[str, Tensor]:
    """`torch.load` for files written by `save`."""
    return load_tensors(f)
