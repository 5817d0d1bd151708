"""Downloading a file safely: checksum, progress bar, all-or-nothing rename.

The bytes stream into a temporary file next to the destination while their
digest is computed; only a complete file with the expected checksum is renamed
to its real name. Any failure (offline, HTTP error, short read, wrong checksum,
Ctrl-C) deletes the temporary file, so a later run never trusts a partial one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

CHUNK = 1 << 20


class DownloadError(OSError):
    """A file could not be fetched (no network, HTTP error, incomplete transfer)."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the published checksum; it was discarded."""


def file_digest(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks (archives can be large)."""
    h = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download_url(
    url: str,
    path: str | os.PathLike[str],
    *,
    md5: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Fetch `url` into `path`, verifying `md5`/`sha256` when given; returns `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digests = {
        name: hashlib.new(name, usedforsecurity=False)
        for name, want in (("md5", md5), ("sha256", sha256))
        if want is not None
    }
    try:
        received = 0
        total: int | None = None
        with os.fdopen(fd, "wb") as f:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    with tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=target.name,
                        disable=not progress,
                    ) as bar:
                        while chunk := response.read(CHUNK):
                            f.write(chunk)
                            for h in digests.values():
                                h.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
            except (OSError, http.client.HTTPException, ValueError) as err:
                if isinstance(err, urllib.error.HTTPError):
                    reason: object = f"HTTP {err.code} {err.reason}"
                elif isinstance(err, urllib.error.URLError):
                    reason = err.reason
                else:
                    reason = err
                raise DownloadError(f"could not download {url}: {reason}") from err
            f.flush()
            os.fsync(f.fileno())
        if total is not None and received != total:
            raise DownloadError(
                f"could not download {url}: transfer ended after {received} of {total} bytes"
            )
        for name, want in (("md5", md5), ("sha256", sha256)):
            if want is None:
                continue
            got = digests[name].hexdigest()
            if got != want.lower():
                raise ChecksumError(
                    f"{url}: {name} checksum mismatch (expected {want}, got {got}); "
                    "the download was discarded"
                )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def download_from_mirrors(
    filename: str,
    mirrors: Sequence[str],
    folder: Path,
    *,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Try each mirror in turn for `filename`; raise one error listing every failure."""
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            return download_url(url, folder / filename, md5=md5, progress=progress, timeout=timeout)
        except DownloadError as err:
            failures.append(str(err))
    raise DownloadError("\n".join(failures) if failures else f"no mirror given for {filename}")
