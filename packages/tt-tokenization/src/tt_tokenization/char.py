"""`CharTokenizer`: one id per character, the tokenizer of char-level GPTs.

The vocabulary is the sorted set of characters of a training text (as in
nanoGPT's Shakespeare example), so the ids are small and stable across runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tt_tensor import Tensor

from ._base import Ids, ids_to_list, ids_to_tensor, read_json, write_json


class CharTokenizer:
    """Maps each character of a fixed alphabet to its index in that alphabet."""

    def __init__(self, chars: Iterable[str]) -> None:
        alphabet = list(chars)
        for c in alphabet:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(
                    f"CharTokenizer vocabulary entries must be single characters, got {c!r}"
                )
        if len(set(alphabet)) != len(alphabet):
            dup = next(c for c in alphabet if alphabet.count(c) > 1)
            raise ValueError(f"CharTokenizer vocabulary has the character {dup!r} twice")
        if not alphabet:
            raise ValueError("CharTokenizer needs at least one character")
        self.itos: list[str] = alphabet
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(alphabet)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose alphabet is every distinct character of `text`, sorted."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in stoi)
            raise ValueError(
                f"character {text[pos]!r} at position {pos} is not in this CharTokenizer's "
                f"vocabulary of {self.vocab_size} characters"
            ) from None

    def encode_tensor(self, text: str) -> Tensor:
        """`encode` as a 1-D int64 Tensor."""
        return ids_to_tensor(self.encode(text))

    def decode(self, ids: Ids) -> str:
        itos = self.itos
        return "".join([itos[i] for i in ids_to_list(ids, self.vocab_size)])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    # ----------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {"type": "char", "version": 1, "chars": self.itos}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary as JSON (atomically)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CharTokenizer:
        payload = read_json(path, "char")
        chars = payload.get("chars")
        if not isinstance(chars, list):
            raise ValueError(f"{path}: 'chars' must be a list of characters")
        try:
            return cls(chars)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
