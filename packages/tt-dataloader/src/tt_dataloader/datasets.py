"""The real data sets: `MNIST` and `CIFAR10`, read from their official file formats.

Where the files live: the `root` argument, else ``$TINYTORCH_DATA``, else a
per-user cache (``$XDG_CACHE_HOME/tinytorch`` or ``~/.cache/tinytorch``).
Inside the root, MNIST is ``mnist/*-ubyte.gz`` (torchvision's ``MNIST/raw/``
also works) and CIFAR-10 is ``cifar-10-batches-py/``.

Images are kept as compact uint8 arrays (``.data``, as in torchvision) and
turned into float32 NCHW in [0, 1] one batch at a time by `get_batch`, which
the `DataLoader` fast path calls; `as_tensors()` converts everything at once.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor

from .dataset import Dataset, IntArray
from .fetch import DownloadError, download_from_mirrors, download_url, file_digest
from .formats import (
    DatasetFormatError,
    U8Array,
    check_labels,
    read_cifar_batch,
    read_cifar_meta,
    read_idx,
)

ENV_VAR = "TINYTORCH_DATA"


def default_root() -> Path:
    """``$TINYTORCH_DATA``, else the per-user cache directory for TinyTorch data."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "tinytorch"


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    return Path(root).expanduser() if root is not None else default_root()


def _to_float_nchw(images: U8Array, channels_last: bool) -> npt.NDArray[np.float32]:
    """uint8 batch -> float32 NCHW in [0, 1] (one multiply, into a fresh contiguous array)."""
    if images.ndim == 3:
        images = images[:, None]
    elif channels_last:
        images = images.transpose(0, 3, 1, 2)
    out = np.empty(images.shape, dtype=np.float32)
    np.multiply(images, np.float32(1.0 / 255.0), out=out, casting="unsafe")
    return out


def _offline_help(name: str, folder: Path, files: Sequence[str], failures: str, verb: str) -> str:
    return (
        f"could not download {name}:\n"
        + "".join(f"  {line}\n" for line in failures.splitlines())
        + "If this machine is offline, fetch on a machine with internet access:\n"
        + "".join(f"  {f}\n" for f in files)
        + f"and {verb} {folder}/ (or point root= / ${ENV_VAR} at a folder that already "
        f"holds the data), then run again."
    )


class _UInt8Images(Dataset[tuple[Tensor, int]]):
    """What MNIST and CIFAR10 share once their files are read: uint8 pixels
    (N×H×W, or N×H×W×C with `_channels_last`) and int64 labels, handed out as
    float32 N×C×H×W in [0, 1]."""

    root: Path
    train: bool
    _pixels: U8Array
    _labels: IntArray
    _channels_last = False

    def __len__(self) -> int:
        return int(self._labels.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(
                f"index {index} is out of range for {type(self).__name__} with {n} images"
            )
        image = _to_float_nchw(self._pixels[index][None], self._channels_last)[0]
        return Tensor(image), int(self._labels[index])

    def get_batch(self, indices: IntArray) -> tuple[Tensor, Tensor]:
        """Images (float32 B×C×H×W in [0, 1]) and labels (int64 B) at `indices`."""
        images = _to_float_nchw(self._pixels[indices], self._channels_last)
        return Tensor(images), Tensor(self._labels[indices])

    def as_tensors(self) -> tuple[Tensor, Tensor]:
        """The whole split as (float32 N×C×H×W in [0, 1], int64 N)."""
        images = _to_float_nchw(self._pixels, self._channels_last)
        return Tensor(images), Tensor(self._labels.copy())

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(split={split}, samples={len(self)}, root={self.root})"


class MNIST(_UInt8Images):
    """LeCun's handwritten digits: 60,000 training and 10,000 test images, 28×28 gray.

    ``dataset[i]`` is ``(image, label)`` with image a float32 ``1×28×28`` Tensor in
    [0, 1]; ``.data`` is the uint8 ``N×28×28`` Tensor and ``.targets`` the int64
    labels, as in torchvision.
    """

    folder: ClassVar[str] = "mnist"
    mirrors: ClassVar[tuple[str, ...]] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    # MD5s of the official .gz archives (torchvision uses the same).
    resources: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes: ClassVar[list[str]] = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip
    image_shape: ClassVar[tuple[int, int]] = (28, 28)

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        *,
        progress: bool = True,
    ) -> None:
        self.root = resolve_root(root)
        self.train = train
        if download:
            type(self).download(self.root, progress=progress)
        prefix = "train" if train else "t10k"
        images_path = self._find(f"{prefix}-images-idx3-ubyte")
        labels_path = self._find(f"{prefix}-labels-idx1-ubyte")
        images = read_idx(images_path, 3)
        labels = read_idx(labels_path, 1)
        if images.shape[1:] != self.image_shape:
            raise DatasetFormatError(
                images_path, f"images must be 28×28, found {images.shape[1]}×{images.shape[2]}"
            )
        if images.shape[0] != labels.shape[0]:
            raise DatasetFormatError(
                labels_path,
                f"{labels.shape[0]} labels for {images.shape[0]} images in {images_path.name}",
            )
        check_labels(labels_path, labels, 10)
        self._pixels = images
        self._labels = labels.astype(np.int64)
        self.data = Tensor(self._pixels)
        self.targets = Tensor(self._labels)

    @classmethod
    def search_dirs(cls, root: Path) -> list[Path]:
        """Where the files may be: ``root/mnist``, torchvision's ``root/MNIST/raw``, ``root``."""
        return [root / cls.folder, root / "MNIST" / "raw", root]

    @classmethod
    def locate(cls, root: str | os.PathLike[str] | None = None) -> Path | None:
        """The folder holding all four files (gzip'd or not), or None."""
        base = resolve_root(root)
        for d in cls.search_dirs(base):
            if all((d / f).is_file() or (d / f[:-3]).is_file() for f in cls.resources):
                return d
        return None

    def _find(self, stem: str) -> Path:
        dirs = self.search_dirs(self.root)
        for d in dirs:
            for name in (f"{stem}.gz", stem):
                if (d / name).is_file():
                    return d / name
        raise FileNotFoundError(
            f"MNIST file {stem}.gz not found in " + ", ".join(str(d) for d in dirs) + ".\n"
            f"Pass download=True (or run `tinytorch data download mnist`), or point root= / "
            f"${ENV_VAR} at a folder containing mnist/{stem}.gz."
        )

    @classmethod
    def download(cls, root: str | os.PathLike[str] | None = None, *, progress: bool = True) -> Path:
        """Fetch the four official archives into ``root/mnist`` (skipping ones present)."""
        base = resolve_root(root)
        found = cls.locate(base)
        if found is not None:
            return found
        folder = base / cls.folder
        created = not folder.exists()
        for filename, md5 in cls.resources.items():
            if (folder / filename).is_file():
                continue
            try:
                download_from_mirrors(filename, cls.mirrors, folder, md5=md5, progress=progress)
            except DownloadError as err:
                if created and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
                urls = [cls.mirrors[0] + f for f in cls.resources]
                raise DownloadError(
                    _offline_help("MNIST", folder, urls, str(err), "copy them into")
                ) from err
        return folder


class CIFAR10(_UInt8Images):
    """Krizhevsky's tiny images: 50,000 training and 10,000 test 32×32 color images, 10 classes.

    ``dataset[i]`` is ``(image, label)`` with image a float32 ``3×32×32`` Tensor in
    [0, 1]; ``.data`` is the uint8 ``N×32×32×3`` (HWC) array and ``.targets`` a
    list of ints, as in torchvision.
    """

    base_folder: ClassVar[str] = "cifar-10-batches-py"
    url: ClassVar[str] = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename: ClassVar[str] = "cifar-10-python.tar.gz"
    tgz_md5: ClassVar[str] = "c58f30108f718f92721af3b95e74349a"
    train_list: ClassVar[list[str]] = [f"data_batch_{i}" for i in range(1, 6)]
    test_list: ClassVar[list[str]] = ["test_batch"]
    meta_file: ClassVar[str] = "batches.meta"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        *,
        progress: bool = True,
    ) -> None:
        self.root = resolve_root(root)
        self.train = train
        if download:
            type(self).download(self.root, progress=progress)
        folder = type(self).locate(self.root)
        if folder is None:
            raise FileNotFoundError(
                f"CIFAR-10 not found: expected {self.root / self.base_folder}/ with "
                f"{', '.join(self._all_files())}.\n"
                f"Pass download=True (or run `tinytorch data download cifar10`), or point "
                f"root= / ${ENV_VAR} at a folder containing {self.base_folder}/."
            )
        self.folder = folder
        self.classes: list[str] = read_cifar_meta(folder / self.meta_file)
        images, labels = [], []
        for name in self.train_list if train else self.test_list:
            x, y = read_cifar_batch(folder / name)
            images.append(x)
            labels.append(y)
        chw = np.concatenate(images) if len(images) > 1 else images[0]
        # torchvision's layout: N×H×W×C uint8 (contiguous), labels a list of ints.
        self.data: U8Array = np.ascontiguousarray(chw.transpose(0, 2, 3, 1))
        self._pixels, self._channels_last = self.data, True
        self._labels = np.concatenate(labels)
        self.targets: list[int] = self._labels.tolist()
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    @classmethod
    def _all_files(cls) -> list[str]:
        return [*cls.train_list, *cls.test_list, cls.meta_file]

    @classmethod
    def locate(cls, root: str | os.PathLike[str] | None = None) -> Path | None:
        """The ``cifar-10-batches-py`` folder holding every batch, or None."""
        base = resolve_root(root)
        for d in (base / cls.base_folder, base):
            if all((d / f).is_file() for f in cls._all_files()):
                return d
        return None

    @classmethod
    def download(cls, root: str | os.PathLike[str] | None = None, *, progress: bool = True) -> Path:
        """Fetch and unpack the official archive into ``root/cifar-10-batches-py``.

        The archive is checked against its MD5, then only the expected batch
        files are extracted (never arbitrary archive paths) into a temporary
        folder that is renamed into place once complete.
        """
        base = resolve_root(root)
        found = cls.locate(base)
        if found is not None:
            return found
        archive = base / cls.filename
        if not (archive.is_file() and file_digest(archive) == cls.tgz_md5):
            try:
                download_url(cls.url, archive, md5=cls.tgz_md5, progress=progress)
            except DownloadError as err:
                raise DownloadError(
                    _offline_help("CIFAR-10", base, [cls.url], str(err), "unpack it into")
                ) from err
        return cls._extract(archive, base / cls.base_folder)

    @classmethod
    def _extract(cls, archive: Path, dest: Path) -> Path:
        wanted = {f"{cls.base_folder}/{f}": f for f in cls._all_files()}
        tmp = Path(tempfile.mkdtemp(prefix=f".{cls.base_folder}.", dir=dest.parent))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    name = wanted.get(member.name.removeprefix("./"))
                    if name is None or not member.isfile():
                        continue
                    src = tar.extractfile(member)
                    if src is None:
                        continue
                    with src, (tmp / name).open("wb") as out:
                        shutil.copyfileobj(src, out)
            missing = [f for f in wanted.values() if not (tmp / f).is_file()]
            if missing:
                raise DatasetFormatError(archive, f"archive lacks {', '.join(missing)}")
            if dest.exists():  # a partial folder made by hand: fill in what it lacks
                for f in wanted.values():
                    if not (dest / f).exists():
                        os.replace(tmp / f, dest / f)
            else:
                os.replace(tmp, dest)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DatasetFormatError(archive, f"cannot unpack: {err}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest


DATASETS: dict[str, Any] = {"mnist": MNIST, "cifar10": CIFAR10}


def _dataset_class(name: str) -> Any:
    key = name.lower().replace("-", "").replace("_", "")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key]


def download(
    name: str, root: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """Download data set `name` ("mnist" or "cifar10") into `root`; returns its folder."""
    folder: Path = _dataset_class(name).download(root, progress=progress)
    return folder


def locate(name: str, root: str | os.PathLike[str] | None = None) -> Path | None:
    """Where data set `name` is found under `root` (default root if None), or None."""
    found: Path | None = _dataset_class(name).locate(root)
    return found
