"""Fetching the data sets behind the milestones (`tinytorch data download NAME`).

MNIST and CIFAR-10 come from tt-dataloader's checksummed downloaders; Tiny
Shakespeare, a single text file, is fetched here with its SHA-256 checked.
"""

from __future__ import annotations

from pathlib import Path

from tt_dataloader import download as download_dataset
from tt_dataloader import download_url

SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def shakespeare_path(root: Path) -> Path:
    return root / "tinyshakespeare" / "input.txt"


def download(name: str, root: Path) -> Path:
    """Download data set `name` into `root`; returns where it now lives."""
    if name == "shakespeare":
        target = shakespeare_path(root)
        if target.is_file():
            return target
        return download_url(SHAKESPEARE_URL, target, sha256=SHAKESPEARE_SHA256)
    return download_dataset(name, root)
