"""`History`: the numbers of every epoch, as lists you can print, save and plot."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tt_tensor import atomic_write_bytes

Value = float | int | None


class History:
    """Per-epoch metrics as lists: `history["val_loss"][-1]`, one entry per epoch.

    A metric that an epoch did not report is `None` there, so every list has
    the same length and lines up with `history["epoch"]`.
    """

    def __init__(self, records: Mapping[str, Sequence[Value]] | None = None) -> None:
        self._data: dict[str, list[Value]] = {}
        self._epochs = 0
        if records:
            lengths = {len(v) for v in records.values()}
            if len(lengths) != 1:
                raise ValueError(f"history lists must have one length, got lengths {lengths}")
            self._data = {str(k): list(v) for k, v in records.items()}
            self._epochs = lengths.pop()

    def append(self, metrics: Mapping[str, Any]) -> None:
        """Record one epoch's metrics (new names are padded with None for earlier epochs)."""
        for key in metrics:
            self._data.setdefault(key, [None] * self._epochs)
        for key, values in self._data.items():
            value = metrics.get(key)
            values.append(_plain(value))
        self._epochs += 1

    # ----------------------------------------------------------- reading
    def __getitem__(self, key: str) -> list[Value]:
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(f"no metric {key!r} in history; it has {sorted(self._data)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return self._epochs

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def keys(self) -> list[str]:
        return list(self._data)

    def last(self) -> dict[str, Value]:
        """The latest epoch's metrics."""
        if not self._epochs:
            return {}
        return {k: v[-1] for k, v in self._data.items()}

    def best(self, key: str, mode: str = "min") -> tuple[int, float]:
        """(index, value) of the best epoch for `key` (`mode` 'min' or 'max')."""
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        pairs = [(i, float(v)) for i, v in enumerate(self[key]) if v is not None]
        if not pairs:
            raise ValueError(f"metric {key!r} has no values yet")
        pick = min if mode == "min" else max
        return pick(pairs, key=lambda p: p[1])

    def to_dict(self) -> dict[str, list[Value]]:
        return {k: list(v) for k, v in self._data.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"History(epochs={self._epochs}, metrics={self.keys()})"

    # ----------------------------------------------------------- formats
    def to_json(self, path: str | os.PathLike[str] | None = None, indent: int = 2) -> str:
        """The history as JSON text; with `path`, also written there atomically."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write_bytes(path, (text + "\n").encode())
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> History:
        """Read what `to_json` wrote: JSON text, or a path to a file holding it."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text()
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"a history is a JSON object of lists, got {type(data).__name__}")
        return cls(data)

    def format(self, keys: Sequence[str] | None = None) -> str:
        """A fixed-width table, one row per epoch (what the milestones print)."""
        cols = list(keys) if keys is not None else [k for k in self._data if k != "time"]
        width = [max(len(c), 9) for c in cols]
        lines = ["  ".join(c.rjust(w) for c, w in zip(cols, width, strict=True))]
        for i in range(self._epochs):
            cells = [_cell(self._data[c][i] if c in self._data else None) for c in cols]
            lines.append("  ".join(s.rjust(w) for s, w in zip(cells, width, strict=True)))
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str], keys: Sequence[str] | None = None) -> Path:
        """Draw losses, accuracies and the rest in panels and save the figure to `path`.

        Needs matplotlib, an optional extra: `pip install "tt-training[plot]"`.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed: "
                'pip install "tt-training[plot]" (or "tinytorch[plot]")'
            ) from None
        if not self._epochs:
            raise ValueError("nothing to plot: the history has no epochs yet")
        names = (
            list(keys)
            if keys is not None
            else [k for k in self._data if k not in ("epoch", "time")]
        )
        missing = [k for k in names if k not in self._data]
        if missing:
            raise KeyError(f"no metric(s) {missing} in history; it has {sorted(self._data)}")
        panels: dict[str, list[str]] = {}
        for name in names:
            kind = "loss" if "loss" in name else "accuracy" if "acc" in name else name
            panels.setdefault(kind, []).append(name)
        x = [v if v is not None else i + 1 for i, v in enumerate(self._data.get("epoch", []))]
        x = x or list(range(1, self._epochs + 1))

        fig = Figure(figsize=(4.5 * len(panels), 3.5), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (kind, members) in zip(axes, panels.items(), strict=True):
            for name in members:
                ys = [math.nan if v is None else float(v) for v in self._data[name]]
                ax.plot(x, ys, marker="o", markersize=3, label=name)
            ax.set_xlabel("epoch")
            ax.set_title(kind)
            ax.grid(alpha=0.3)
            ax.legend()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=100)
        return target


def _plain(value: Any) -> Value:
    """Python numbers only (NumPy scalars and 0-d tensors would not survive JSON)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return float(value)


def _cell(value: Value) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
