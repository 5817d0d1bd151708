"""History: per-epoch lists, JSON, a printable table and a plot."""

import builtins
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tt_tensor import Tensor
from tt_training import History


def sample() -> History:
    h = History()
    h.append({"epoch": 1, "train_loss": 0.9, "lr": 0.1, "time": 1.5})
    h.append({"epoch": 2, "train_loss": np.float32(0.5), "val_loss": Tensor(0.7), "lr": 0.05})
    return h


def test_lists_line_up_by_epoch() -> None:
    h = sample()
    assert len(h) == 2
    assert h["val_loss"] == [None, pytest.approx(0.7)]  # padded for the epoch that lacked it
    assert h["time"] == [1.5, None]
    assert type(h["train_loss"][1]) is float  # NumPy and Tensor scalars become plain floats
    assert h["epoch"] == [1, 2] and type(h["epoch"][0]) is int
    assert h.last()["train_loss"] == pytest.approx(0.5)
    best_epoch, best_loss = h.best("train_loss")
    assert best_epoch == 1 and best_loss == pytest.approx(0.5)
    assert h.best("lr", mode="max") == (0, 0.1)
    assert "val_loss" in h and list(h) == h.keys()
    with pytest.raises(KeyError, match="no metric 'acc'"):
        h["acc"]
    with pytest.raises(ValueError, match="mode"):
        h.best("lr", mode="median")


def test_json_round_trip(tmp_path: Path) -> None:
    h = sample()
    text = h.to_json(tmp_path / "h.json")
    assert History.from_json(text) == h
    assert History.from_json(tmp_path / "h.json") == h
    with pytest.raises(ValueError, match="one length"):
        History({"a": [1.0], "b": [1.0, 2.0]})


def test_format_is_a_table() -> None:
    table = sample().format().splitlines()
    assert len(table) == 3
    assert table[0].split() == ["epoch", "train_loss", "lr", "val_loss"]
    assert table[1].split()[-1] == "-"


def test_plot_writes_an_image(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the [plot] extra) not installed")
    out = sample().plot(tmp_path / "plots" / "history.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyError, match="nope"):
        sample().plot(tmp_path / "x.png", keys=["nope"])
    with pytest.raises(ValueError, match="no epochs"):
        History().plot(tmp_path / "x.png")


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path: Path, monkeypatch: Any) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "matplotlib.figure", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"tt-training\[plot\]"):
        sample().plot(tmp_path / "h.png")
