"""What both tokenizers share: the `Tokenizer` protocol, id checks, JSON files.

A tokenizer turns text into integer ids and back. Everything downstream
(embeddings, a language model) only needs `vocab_size`, `encode` and `decode`,
so that is the protocol.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor, atomic_write_bytes

Ids: TypeAlias = Iterable[int] | Tensor | npt.NDArray[np.integer[Any]]

FORMAT_VERSION = 1


@runtime_checkable
class Tokenizer(Protocol):
    """Anything that maps text to ids in ``range(vocab_size)`` and back."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Ids) -> str: ...


def ids_to_list(ids: Ids, vocab_size: int) -> list[int]:
    """Validate ids (list, 1-D integer Tensor or array) and return them as Python ints."""
    if isinstance(ids, Tensor):
        ids = ids.data
    arr = ids if isinstance(ids, np.ndarray) else np.asarray(list(ids))
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iu":  # floats, bools and mixed objects are all mistakes here
        raise TypeError(f"token ids must be integers, got values of dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"decode expects a 1-D sequence of ids, got shape {arr.shape}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"token id {bad} is out of range for a vocabulary of {vocab_size}")
    out: list[int] = arr.tolist()
    return out


def ids_to_tensor(ids: list[int]) -> Tensor:
    """The ids as a 1-D int64 Tensor, ready for an `Embedding`."""
    return Tensor(np.asarray(ids, dtype=np.int64).reshape(-1))


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write `payload` atomically (temp file + rename): a crash never leaves half a file."""
    text = json.dumps(payload, ensure_ascii=True, indent=1)  # ASCII: lone surrogates survive
    atomic_write_bytes(path, text.encode("ascii"))


def read_json(path: str | os.PathLike[str], kind: str | None) -> dict[str, Any]:
    """Read a tokenizer file, checking its `type` (when `kind` is given) and version."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no tokenizer file at {p}")
    try:
        payload = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{p} is not a tokenizer file (invalid JSON: {err})") from None
    if not isinstance(payload, dict) or "type" not in payload:
        raise ValueError(f"{p} is not a tokenizer file: expected a JSON object with a 'type'")
    if kind is not None and payload["type"] != kind:
        raise ValueError(f"{p} holds a {payload['type']!r} tokenizer, expected {kind!r}")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{p}: unsupported tokenizer file version {payload.get('version')!r} "
            f"(this package reads version {FORMAT_VERSION})"
        )
    return payload
