"""The IDX and CIFAR-10 readers: valid files, damaged files, and hostile pickles."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from tt_dataloader import DatasetFormatError, read_idx, restricted_load
from tt_dataloader.formats import read_cifar_batch, read_cifar_meta, write_cifar_batch, write_idx


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    a = np.ascontiguousarray(array, dtype=np.uint8)
    m = magic if magic is not None else 0x0800 | a.ndim
    return struct.pack(f">I{a.ndim}I", m, *a.shape) + a.tobytes()


def test_read_idx_plain_and_gzip(tmp_path: Path) -> None:
    a = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "x").write_bytes(idx_bytes(a))
    (tmp_path / "x.gz").write_bytes(gzip.compress(idx_bytes(a)))
    for name in ("x", "x.gz"):
        out = read_idx(tmp_path / name, 3)
        np.testing.assert_array_equal(out, a)
        assert out.flags.writeable
    write_idx(tmp_path / "w.gz", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "w.gz", 3), a)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00\x00", "too short"),
        (struct.pack(">I", 0x0801) + b"\x00\x00", "inside the IDX header"),
        (idx_bytes(np.zeros((2, 3, 3)), magic=0x0D03), "wrong magic number 0x00000d03"),
        (idx_bytes(np.zeros((2, 3, 3)))[:-1], "truncated: the header promises"),
        (idx_bytes(np.zeros((2, 3, 3))) + b"\x00", "trailing bytes"),
    ],
)
def test_read_idx_rejects_damaged_files(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(payload)
    ndim = 1 if b"\x08\x01" in payload[:4] else 3
    with pytest.raises(DatasetFormatError, match=message) as info:
        read_idx(path, ndim)
    assert info.value.path == path and str(path) in str(info.value)


def test_read_idx_wrong_number_of_dimensions(tmp_path: Path) -> None:
    (tmp_path / "labels").write_bytes(idx_bytes(np.zeros(4)))
    with pytest.raises(DatasetFormatError, match="expected 0x00000803"):
        read_idx(tmp_path / "labels", 3)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    blob = gzip.compress(idx_bytes(np.arange(100).reshape(1, 10, 10)))
    (tmp_path / "t.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetFormatError, match=r"t\.gz: damaged or truncated gzip"):
        read_idx(tmp_path / "t.gz", 3)


def test_cifar_batch_roundtrip(tmp_path: Path) -> None:
    imgs = np.random.default_rng(0).integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    write_cifar_batch(tmp_path / "b", imgs, [0, 9, 3, 3])
    x, y = read_cifar_batch(tmp_path / "b")
    np.testing.assert_array_equal(x, imgs)
    assert y.dtype == np.int64 and y.tolist() == [0, 9, 3, 3]


def test_cifar_batch_with_numpy1_module_name(tmp_path: Path) -> None:
    """The official files (pickled by numpy 1.x) name numpy.core.multiarray."""
    imgs = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    imgs[1] = 7
    write_cifar_batch(tmp_path / "b", imgs, [1, 2])
    raw = (tmp_path / "b").read_bytes()
    assert b"numpy._core.multiarray" in raw
    (tmp_path / "b").write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    x, y = read_cifar_batch(tmp_path / "b")
    assert x[1].max() == 7 and y.tolist() == [1, 2]


def test_cifar_batch_pickle_protocol_5(tmp_path: Path) -> None:
    """Python 3.14 pickles arrays with protocol 5 (numpy's _frombuffer)."""
    imgs = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    raw = pickle.dumps({b"data": imgs, b"labels": [0, 1]}, protocol=5)
    assert b"_frombuffer" in raw
    (tmp_path / "b").write_bytes(raw)
    x, _ = read_cifar_batch(tmp_path / "b")
    np.testing.assert_array_equal(x.reshape(2, -1), imgs)


def test_cifar_batch_str_keys(tmp_path: Path) -> None:
    obj = {"data": np.zeros((1, 3072), np.uint8), "labels": [4]}
    (tmp_path / "b").write_bytes(pickle.dumps(obj))
    assert read_cifar_batch(tmp_path / "b")[1].tolist() == [4]


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_restricted_unpickler_refuses_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetFormatError, match=r"refusing to load global (posix|os)\.system"):
        restricted_load(tmp_path / "data_batch_1")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "obj",
    [
        np.zeros(3, dtype=object),  # object arrays: refused dtype
        np.zeros(2, dtype=[("a", "u1"), ("b", "f4")]),  # structured: refused dtype
    ],
)
def test_restricted_unpickler_refuses_unusual_arrays(tmp_path: Path, obj: np.ndarray) -> None:
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": obj, b"labels": []}))
    with pytest.raises(DatasetFormatError, match="refusing"):
        restricted_load(tmp_path / "b")


def test_restricted_unpickler_refuses_bare_ndarray_call(tmp_path: Path) -> None:
    # GLOBAL numpy ndarray, then REDUCE it directly (not through _reconstruct).
    payload = b"\x80\x02cnumpy\nndarray\nK\x03\x85R."
    (tmp_path / "b").write_bytes(payload)
    with pytest.raises(DatasetFormatError, match="_reconstruct"):
        restricted_load(tmp_path / "b")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2], "expected a dict"),
        ({b"labels": [1]}, "missing the 'data' entry"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8 array"),
        ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}, r"shape \(N, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "label 10 is out of range"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, -1]}, "label -1 is out of range"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": ["x"]}, "flat list of ints"),
    ],
)
def test_cifar_batch_structure_errors(tmp_path: Path, obj: object, message: str) -> None:
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps(obj))
    with pytest.raises(DatasetFormatError, match=message) as info:
        read_cifar_batch(tmp_path / "data_batch_3")
    assert "data_batch_3" in str(info.value)


def test_cifar_truncated_batch(tmp_path: Path) -> None:
    write_cifar_batch(tmp_path / "b", np.zeros((3, 3, 32, 32), np.uint8), [0, 1, 2])
    raw = (tmp_path / "b").read_bytes()
    (tmp_path / "b").write_bytes(raw[: len(raw) - 100])
    with pytest.raises(DatasetFormatError, match=r"truncated|not a valid pickle"):
        read_cifar_batch(tmp_path / "b")


def test_cifar_meta(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
    assert read_cifar_meta(tmp_path / "m") == ["a"] * 10
    (tmp_path / "m").write_bytes(pickle.dumps({b"label_names": [b"a"] * 3}))
    with pytest.raises(DatasetFormatError, match="10 class names"):
        read_cifar_meta(tmp_path / "m")
