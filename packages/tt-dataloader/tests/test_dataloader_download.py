"""Downloads against a local HTTP server on 127.0.0.1 (this machine has no internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tt_dataloader.fetch as dl
from tt_dataloader import (
    CIFAR10,
    MNIST,
    ChecksumError,
    DownloadError,
    download,
    download_url,
)
from tt_dataloader.fixtures import write_cifar10, write_mnist

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: nothing listens there


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/short/"):  # promises more bytes than it sends
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Serve tmp_path/'www' at http://127.0.0.1:<port>/; yields (base url, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    def handler(*args: Any, **kwargs: Any) -> Handler:
        return Handler(*args, directory=str(www), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


def test_download_url_verifies_and_renames(server: tuple[str, Path], tmp_path: Path) -> None:
    base, www = server
    (www / "blob.bin").write_bytes(b"hello world" * 1000)
    dest = tmp_path / "out" / "blob.bin"
    got = download_url(
        base + "blob.bin",
        dest,
        md5=md5(www / "blob.bin"),
        sha256=hashlib.sha256((www / "blob.bin").read_bytes()).hexdigest(),
        progress=False,
    )
    assert got == dest and dest.read_bytes() == (www / "blob.bin").read_bytes()
    assert leftovers(dest.parent) == []


def test_checksum_mismatch_leaves_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    base, www = server
    (www / "blob.bin").write_bytes(b"tampered")
    out = tmp_path / "out"
    with pytest.raises(ChecksumError, match="md5 checksum mismatch") as info:
        download_url(base + "blob.bin", out / "blob.bin", md5="0" * 32, progress=False)
    assert "discarded" in str(info.value)
    assert list(out.iterdir()) == []


def test_http_errors_and_short_transfers(server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = server
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        download_url(base + "missing.bin", out / "missing.bin", progress=False)
    with pytest.raises(DownloadError, match=r"short/data\.bin"):
        download_url(base + "short/data.bin", out / "data.bin", progress=False)
    assert list(out.iterdir()) == []


def test_interrupted_download_leaves_nothing(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = server
    (www / "big.bin").write_bytes(bytes(3 * dl.CHUNK))

    class Interrupting:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> Interrupting:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def update(self, n: int) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(dl, "tqdm", Interrupting)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        download_url(base + "big.bin", out / "big.bin")
    assert list(out.iterdir()) == []


def test_unreachable_mirror_gives_instructions_and_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MNIST, "mirrors", (UNREACHABLE,))
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        MNIST(root, download=True, progress=False)
    msg = str(info.value)
    assert "offline" in msg and str(root / "mnist") in msg
    assert "train-images-idx3-ubyte.gz" in msg and "TINYTORCH_DATA" in msg
    assert not (root / "mnist").exists()  # not even an empty folder


def test_mnist_download_from_local_mirror(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = server
    src = write_mnist(tmp_path / "src", train_size=30, test_size=10)
    for f in src.iterdir():
        (www / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(MNIST, "mirrors", (UNREACHABLE, base))  # first mirror fails
    monkeypatch.setattr(MNIST, "resources", {f.name: md5(f) for f in sorted(src.iterdir())})
    root = tmp_path / "data"
    train = MNIST(root, train=True, download=True, progress=False)
    assert len(train) == 30 and (root / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    assert leftovers(root) == []
    np.testing.assert_array_equal(train.data.data, MNIST(tmp_path / "src").data.data)
    # already there: no network needed any more
    monkeypatch.setattr(MNIST, "mirrors", (UNREACHABLE,))
    assert download("mnist", root, progress=False) == root / "mnist"


def cifar_archive(src: Path, extra: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
        for name, payload in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def test_cifar10_download_extracts_only_expected_files(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = server
    src = write_cifar10(tmp_path / "src", per_batch=3, test_size=4)
    hostile = {"../escaped.txt": b"x", "cifar-10-batches-py/readme.html": b"<html>"}
    (www / "cifar-10-python.tar.gz").write_bytes(cifar_archive(src, hostile))
    monkeypatch.setattr(CIFAR10, "url", base + "cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(www / "cifar-10-python.tar.gz"))
    root = tmp_path / "data"
    test = CIFAR10(root, train=False, download=True, progress=False)
    assert len(test) == 4
    folder = root / "cifar-10-batches-py"
    assert sorted(p.name for p in folder.iterdir()) == sorted(CIFAR10._all_files())
    assert not (tmp_path / "escaped.txt").exists() and not (root / "escaped.txt").exists()
    assert leftovers(root) == []


def test_cifar10_download_bad_checksum_and_offline(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = server
    (www / "cifar-10-python.tar.gz").write_bytes(b"not the archive")
    monkeypatch.setattr(CIFAR10, "url", base + "cifar-10-python.tar.gz")
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        CIFAR10(root, download=True, progress=False)
    monkeypatch.setattr(CIFAR10, "url", UNREACHABLE + "cifar-10-python.tar.gz")
    with pytest.raises(DownloadError, match=r"offline[\s\S]*unpack it into"):
        download("cifar10", root, progress=False)
    assert [p for p in root.rglob("*") if p.is_file()] == []
