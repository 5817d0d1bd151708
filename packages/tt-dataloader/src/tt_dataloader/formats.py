"""Reading (and, for test fixtures, writing) the official MNIST and CIFAR-10 files.

Both readers check structure before trusting a byte: a truncated file, a wrong
magic number, wrong shapes or labels out of range raise `DatasetFormatError`
naming the file, so a damaged local copy fails loudly instead of training on
garbage.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

U8Array: TypeAlias = npt.NDArray[np.uint8]


class DatasetFormatError(ValueError):
    """A dataset file exists but is not what its name promises; `path` names it."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}")


# ----------------------------------------------------------------------------- IDX


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (1f 8b)."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetFormatError(path, f"damaged or truncated gzip data ({err})") from None


def read_idx(path: str | os.PathLike[str], ndim: int) -> U8Array:
    """Parse an IDX file of unsigned bytes with `ndim` dimensions (gzip'd or not).

    The format (LeCun's): 2 zero bytes, a type byte (0x08 = ubyte), a byte with
    the number of dimensions, one big-endian uint32 per dimension, then the data.
    """
    p = Path(path)
    raw = read_bytes(p)
    if len(raw) < 4:
        raise DatasetFormatError(p, f"truncated: {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    expected = 0x0800 | ndim
    if magic != expected:
        raise DatasetFormatError(
            p,
            f"wrong magic number 0x{magic:08x}, expected 0x{expected:08x} "
            f"(IDX unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})",
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(p, f"truncated inside the IDX header ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    size = math.prod(dims)
    have = len(raw) - header
    if have != size:
        what = "truncated" if have < size else "has trailing bytes"
        raise DatasetFormatError(
            p, f"{what}: the header promises shape {dims} = {size} bytes of data, found {have}"
        )
    return np.frombuffer(raw, dtype=np.uint8, count=size, offset=header).reshape(dims).copy()


def write_idx(path: str | os.PathLike[str], array: npt.ArrayLike, *, compress: bool = True) -> None:
    """Write a uint8 array as an IDX file (gzip'd by default): used to make test fixtures."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    payload = struct.pack(f">I{a.ndim}I", 0x0800 | a.ndim, *a.shape) + a.tobytes()
    if compress:
        payload = gzip.compress(payload, mtime=0)
    Path(path).write_bytes(payload)


# ----------------------------------------------------------------------------- CIFAR-10


class _NdarrayClass:
    """Stands in for `numpy.ndarray` while unpickling: usable only as `_reconstruct`'s argument."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise pickle.UnpicklingError("numpy.ndarray may only be rebuilt through _reconstruct")


def _reconstruct(subtype: object, shape: object, typecode: object) -> npt.NDArray[Any]:
    """The one call numpy's pickles make to create an (empty) array, checked."""
    if subtype is not _NdarrayClass or shape != (0,):
        raise pickle.UnpicklingError("unexpected arguments to numpy _reconstruct")
    return np.empty(0, dtype=np.int8)  # what ndarray.__new__(ndarray, (0,), "b") gives


def _frombuffer(buf: object, dtype: object, shape: object, order: object) -> npt.NDArray[Any]:
    """numpy's protocol-5 array constructor, checked (pickles made by Python 3.14+ use it)."""
    if not isinstance(buf, bytes | bytearray | pickle.PickleBuffer):
        raise pickle.UnpicklingError(f"refusing array buffer of type {type(buf).__name__}")
    if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple) or order not in ("C", "F"):
        raise pickle.UnpicklingError("unexpected arguments to numpy _frombuffer")
    _dtype(dtype.str)
    dims = tuple(int(d) for d in shape)
    array: npt.NDArray[Any] = np.frombuffer(memoryview(buf), dtype=dtype)
    return array.reshape(dims, order="C" if order == "C" else "F")


def _dtype(spec: object, align: object = False, copy: object = True) -> np.dtype[Any]:
    """`numpy.dtype(spec)`, but only for plain numbers: no objects, no structured records."""
    text = spec.decode("latin1") if isinstance(spec, bytes) else spec
    if isinstance(text, np.dtype):
        text = text.str
    if not isinstance(text, str):
        raise pickle.UnpicklingError(f"refusing dtype spec of type {type(spec).__name__}")
    dt = np.dtype(text)
    if dt.kind not in "biuf" or dt.fields is not None or dt.subdtype is not None:
        raise pickle.UnpicklingError(f"refusing dtype {dt} (only plain numeric dtypes)")
    return dt


# Unpickling runs code: a pickle names callables (module + attribute) and the
# standard Unpickler imports and calls them, so a crafted "data_batch_1" could run
# anything (`os.system`, ...). Data files are untrusted input, so the general
# unpickler is not allowed here. A CIFAR-10 batch is a dict of bytes, ints and
# lists plus ONE numpy array, which numpy pickles as three globals:
# `numpy.core.multiarray._reconstruct` (`numpy._core...` since numpy 2),
# `numpy.ndarray` and `numpy.dtype` (pickle protocol 5 uses `numeric._frombuffer`
# instead of the first two). We allow exactly those, each replaced by a checked
# stand-in that builds plain numeric arrays only, and refuse every other global.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals a CIFAR-10 batch needs."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: a CIFAR-10 batch never needs it, "
                "and loading it could run arbitrary code"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def restricted_load(path: str | os.PathLike[str]) -> Any:
    """Unpickle `path` with `RestrictedUnpickler` (bytes keys, as the CIFAR README says)."""
    p = Path(path)
    try:
        return RestrictedUnpickler(io.BytesIO(p.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, struct.error, MemoryError) as err:  # fmt: skip
        reason = "truncated" if isinstance(err, EOFError) else f"not a valid pickle ({err})"
        raise DatasetFormatError(p, f"cannot read CIFAR-10 batch: {reason}") from None


def _key(d: dict[Any, Any], name: str) -> Any:
    for k in (name.encode(), name):
        if k in d:
            return d[k]
    raise KeyError(name)


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[U8Array, npt.NDArray[np.int64]]:
    """Images (N×3×32×32 uint8) and labels (N int64) of one CIFAR-10 python batch."""
    p = Path(path)
    obj = restricted_load(p)
    if not isinstance(obj, dict):
        raise DatasetFormatError(p, f"expected a dict, found {type(obj).__name__}")
    try:
        data, labels = _key(obj, "data"), _key(obj, "labels")
    except KeyError as err:
        raise DatasetFormatError(p, f"missing the {err.args[0]!r} entry") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        what = f"dtype {data.dtype}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(p, f"'data' must be a uint8 array, found {what}")
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetFormatError(p, f"'data' must have shape (N, 3072), found {data.shape}")
    if not isinstance(labels, list | np.ndarray):
        raise DatasetFormatError(p, f"'labels' must be a list, found {type(labels).__name__}")
    lab = np.asarray(labels)
    if lab.ndim != 1 or (lab.size and lab.dtype.kind not in "iu"):
        raise DatasetFormatError(p, f"'labels' must be a flat list of ints, found {lab.dtype}")
    if lab.shape[0] != data.shape[0]:
        raise DatasetFormatError(
            p, f"{data.shape[0]} images but {lab.shape[0]} labels: the counts must match"
        )
    check_labels(p, lab, 10)
    return data.reshape(-1, 3, 32, 32), lab.astype(np.int64)


def read_cifar_meta(path: str | os.PathLike[str]) -> list[str]:
    """The 10 class names of `batches.meta`."""
    p = Path(path)
    obj = restricted_load(p)
    try:
        names = _key(obj, "label_names") if isinstance(obj, dict) else None
    except KeyError:
        names = None
    if not isinstance(names, list) or len(names) != 10:
        raise DatasetFormatError(p, "expected a dict whose 'label_names' lists 10 class names")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def check_labels(path: Path, labels: npt.NDArray[Any], num_classes: int) -> None:
    """Labels must be class indices in [0, num_classes)."""
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise DatasetFormatError(
            path, f"label {int(bad[0])} is out of range: labels must be in [0, {num_classes - 1}]"
        )


def write_cifar_batch(
    path: str | os.PathLike[str], images: npt.ArrayLike, labels: npt.ArrayLike, label: str = ""
) -> None:
    """Write N×3×32×32 uint8 images as a CIFAR-10 python batch: used to make test fixtures."""
    a = np.ascontiguousarray(images, dtype=np.uint8)
    n = a.shape[0]
    obj = {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in np.asarray(labels).reshape(-1)],
        b"data": a.reshape(n, -1),
        b"filenames": [f"img_{i:05d}.png".encode() for i in range(n)],
    }
    Path(path).write_bytes(pickle.dumps(obj, protocol=3))


def write_cifar_meta(path: str | os.PathLike[str], names: list[str]) -> None:
    obj = {
        b"label_names": [n.encode() for n in names],
        b"num_cases_per_batch": 10000,
        b"num_vis": 3072,
    }
    Path(path).write_bytes(pickle.dumps(obj, protocol=3))
