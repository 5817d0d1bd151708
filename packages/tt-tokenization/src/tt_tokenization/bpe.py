"""`BPETokenizer`: byte-level byte-pair encoding, as in GPT-2.

Text becomes UTF-8 bytes (ids 0-255, so nothing is ever "unknown"); training
then repeatedly merges the most frequent adjacent pair of ids into a new id.

Training is incremental. Every position of the (deduplicated) training text
sits in a doubly linked list, an index maps each pair to the positions where
it starts, and a heap orders pairs by count. Merging a pair visits only the
positions of that pair and adjusts the counts of the two neighbouring pairs
at each, so the whole run costs about one pass over the text instead of one
pass per merge.

Encoding applies the merges in the order they were learned (lowest rank
first), per pre-split chunk, with a cache of chunks already seen.
"""

from __future__ import annotations

import codecs
import heapq
import itertools
import os
import re
from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any, Literal

from tt_tensor import Tensor

from ._base import Ids, ids_to_list, ids_to_tensor, read_json, write_json

# GPT-2's pre-split pattern uses \p{L} (letters) and \p{N} (numbers), which the
# standard-library `re` lacks. With re's Unicode classes:
#   letters  \p{L}+                -> [^\W\d_]+   (word characters minus digits and "_")
#   numbers  \p{N}+                -> \d+         (decimal digits, Unicode category Nd)
#   other    [^\s\p{L}\p{N}]+      -> (?:_|[^\s\w])+
# The one difference: numeric characters outside Nd (Nl/No such as "²" or "Ⅻ")
# count as letters here rather than numbers. Every character still falls in
# exactly one class, so the chunks always cover the whole text.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:_|[^\s\w])+|\s+(?!\S)|\s+"""

_ERRORS = "tt_tokenization.surrogatepass_replace"
_LONG_CHUNK = 64  # chunks longer than this are merged with a heap (O(n log n))
_CACHE_LIMIT = 200_000


def _surrogatepass_replace(err: UnicodeError) -> tuple[str | bytes, int]:
    """Decode lone surrogates (which `encode` wrote with surrogatepass); replace other junk."""
    try:
        return codecs.lookup_error("surrogatepass")(err)
    except UnicodeDecodeError:
        return codecs.replace_errors(err)


codecs.register_error(_ERRORS, _surrogatepass_replace)


def _to_bytes(text: str) -> bytes:
    # surrogatepass: Python strings may hold lone surrogates ("\ud800"), which strict
    # UTF-8 refuses; they become their 3-byte form and `decode` turns them back.
    return text.encode("utf-8", "surrogatepass")


def learn_merges(chunks: dict[bytes, int], num_merges: int) -> list[tuple[int, int]]:
    """Learn up to `num_merges` merges from byte chunks weighted by their counts.

    Pairs never straddle two chunks. Ties between equally frequent pairs go to
    the smallest (left id, right id), so training is deterministic.
    """
    sym: list[int] = []  # token id at each position (-1 once merged away)
    nxt: list[int] = []  # next position in the same chunk, or -1
    prv: list[int] = []  # previous position in the same chunk, or -1
    wt: list[int] = []  # how often the chunk holding this position occurs
    for chunk, count in chunks.items():
        n = len(chunk)
        if n < 2:
            continue  # a single byte has no pairs to merge
        start = len(sym)
        sym.extend(chunk)
        wt.extend([count] * n)
        nxt.extend(range(start + 1, start + n + 1))
        nxt[-1] = -1
        prv.extend(range(start - 1, start + n - 1))
        prv[start] = -1

    counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for i, j in enumerate(nxt):
        if j != -1:
            pr = (sym[i], sym[j])
            counts[pr] = counts.get(pr, 0) + wt[i]
            if pr in where:
                where[pr].add(i)
            else:
                where[pr] = {i}

    heap = [(-c, a, b) for (a, b), c in counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []

    def remove(pair: tuple[int, int], pos: int, w: int) -> None:
        counts[pair] -= w
        s = where.get(pair)
        if s is not None:
            s.discard(pos)

    def add(pair: tuple[int, int], pos: int, w: int, touched: set[tuple[int, int]]) -> None:
        counts[pair] = counts.get(pair, 0) + w
        if pair in where:
            where[pair].add(pos)
        else:
            where[pair] = {pos}
        touched.add(pair)

    while len(merges) < num_merges and heap:
        neg, a, b = heapq.heappop(heap)
        pair = (a, b)
        current = counts.get(pair, 0)
        if current <= 0:
            continue
        if current != -neg:  # stale entry: counts only ever fall, so re-queue the true one
            heapq.heappush(heap, (-current, a, b))
            continue
        new = 256 + len(merges)
        merges.append(pair)
        touched: set[tuple[int, int]] = set()
        for i in sorted(where.pop(pair)):  # left to right, so "aaa" merges as (aa)a
            j = nxt[i]
            if sym[i] != a or j == -1 or sym[j] != b:
                continue  # consumed by an overlapping merge just before
            w = wt[i]
            p = prv[i]
            if p != -1:
                left = sym[p]
                remove((left, a), p, w)
                add((left, new), p, w, touched)
            k = nxt[j]
            if k != -1:
                right = sym[k]
                remove((b, right), j, w)
                add((new, right), i, w, touched)
                prv[k] = i
            sym[i] = new
            sym[j] = -1
            nxt[i] = k
        del counts[pair]
        for q in touched:
            c = counts.get(q, 0)
            if c > 0:
                heapq.heappush(heap, (-c, q[0], q[1]))
    return merges


class BPETokenizer:
    """Byte-level BPE with an optional GPT-2-style regex pre-split and special tokens.

    Ids 0-255 are the bytes, then one id per merge (in training order), then
    the special tokens. `decode(encode(s)) == s` for every Python string,
    lone surrogates included.
    """

    def __init__(
        self,
        merges: Iterable[tuple[int, int]] = (),
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Iterable[str] = (),
    ) -> None:
        self.merges: list[tuple[int, int]] = []
        vocab: list[bytes] = [bytes([i]) for i in range(256)]
        for n, pair in enumerate(merges):
            if len(pair) != 2:
                raise ValueError(f"merge #{n} must be a pair of ids, got {pair!r}")
            a, b = pair
            for t in (a, b):
                if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < len(vocab):
                    raise ValueError(
                        f"merge #{n} {pair!r} refers to token id {t!r}, but only ids "
                        f"0..{len(vocab) - 1} exist at that point"
                    )
            self.merges.append((a, b))
            vocab.append(vocab[a] + vocab[b])
        self.ranks: dict[tuple[int, int], int] = {p: r for r, p in enumerate(self.merges)}
        if len(self.ranks) != len(self.merges):
            raise ValueError("the merge list contains the same pair twice")
        self.pattern = pattern
        try:
            self._split_re = re.compile(pattern) if pattern is not None else None
        except re.error as err:
            raise ValueError(f"invalid pre-split pattern {pattern!r}: {err}") from None
        specials = list(special_tokens)
        for s in specials:
            if not isinstance(s, str) or not s:
                raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"special tokens must be distinct, got {specials}")
        self.special_tokens: dict[str, int] = {s: len(vocab) + k for k, s in enumerate(specials)}
        self.vocab: list[bytes] = vocab + [_to_bytes(s) for s in specials]
        self._cache: dict[str, list[int]] = {}

    # ----------------------------------------------------------- training
    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        *,
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Iterable[str] = (),
    ) -> BPETokenizer:
        """Learn merges on `text` until the vocabulary (bytes + merges + specials) has
        `vocab_size` ids, or fewer when the text runs out of pairs."""
        specials = list(special_tokens)
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size={vocab_size} is too small: a byte-level BPE vocabulary holds the "
                f"256 single bytes plus {len(specials)} special token(s), so it needs at least "
                f"{256 + len(specials)}"
            )
        splitter = re.compile(pattern) if pattern is not None else None
        # special tokens never take part in merges, nor join the text on either side
        parts = re.split("|".join(re.escape(s) for s in specials), text) if specials else [text]
        pieces = [c for part in parts for c in (splitter.findall(part) if splitter else [part])]
        chunks = {_to_bytes(s): c for s, c in Counter(pieces).items()}
        merges = learn_merges(chunks, vocab_size - 256 - len(specials))
        return cls(merges, pattern=pattern, special_tokens=specials)

    # ----------------------------------------------------------- facts
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def special_token_id(self, token: str) -> int:
        try:
            return self.special_tokens[token]
        except KeyError:
            raise KeyError(
                f"unknown special token {token!r}; this tokenizer has "
                f"{sorted(self.special_tokens) or 'no special tokens'}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)})"
        )

    # ----------------------------------------------------------- encoding
    def _merge_short(self, ids: list[int]) -> list[int]:
        """Apply the lowest-ranked merge everywhere, repeat (fine for word-sized chunks)."""
        ranks = self.ranks
        big = len(ranks)
        while len(ids) > 1:
            best_rank, best = big, (0, 0)
            for pair in itertools.pairwise(ids):
                r = ranks.get(pair, big)
                if r < best_rank:
                    best_rank, best = r, pair
            if best_rank == big:
                break
            new, (a, b) = 256 + best_rank, best
            out: list[int] = []
            i, n = 0, len(ids)
            while i < n:
                if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        return ids

    def _merge_long(self, ids: list[int]) -> list[int]:
        """The same merges in the same order, driven by a heap of (rank, position).

        A merge of rank r creates id 256 + r, and every pair holding that id has a
        higher rank, so popping (rank, position) visits merges exactly in the
        order `_merge_short` applies them.
        """
        ranks, merges = self.ranks, self.merges
        n = len(ids)
        sym = list(ids)
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        heap = [(r, i) for i in range(n - 1) if (r := ranks.get((sym[i], sym[i + 1]))) is not None]
        heapq.heapify(heap)
        while heap:
            r, i = heapq.heappop(heap)
            j = nxt[i]
            if j == -1 or (sym[i], sym[j]) != merges[r]:
                continue  # stale: this position changed since it was queued
            new = 256 + r
            k = nxt[j]
            sym[i], sym[j], nxt[i] = new, -1, k
            if k != -1:
                prv[k] = i
                rk = ranks.get((new, sym[k]))
                if rk is not None:
                    heapq.heappush(heap, (rk, i))
            p = prv[i]
            if p != -1:
                rp = ranks.get((sym[p], new))
                if rp is not None:
                    heapq.heappush(heap, (rp, p))
        return [s for s in sym if s != -1]

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = list(_to_bytes(chunk))
        if len(ids) > _LONG_CHUNK:
            return self._merge_long(ids)
        return self._merge_short(ids)

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode `text` treating special-token strings as plain text."""
        chunks = self._split_re.findall(text) if self._split_re is not None else [text]
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        out: list[int] = []
        for chunk in chunks:
            ids = cache.get(chunk)
            if ids is None:
                ids = self._encode_chunk(chunk)
                if len(chunk) <= _LONG_CHUNK:
                    cache[chunk] = ids
            out.extend(ids)
        return out

    def encode(
        self, text: str, allowed_special: Literal["all", "none"] | Collection[str] = "all"
    ) -> list[int]:
        """Text to ids. Special-token strings in `text` become their ids when allowed
        (`"all"`, or a set naming some of them); `"none"` encodes them as plain bytes."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        if allowed_special == "all":
            allowed = list(self.special_tokens)
        elif allowed_special == "none":
            allowed = []
        else:
            allowed = list(allowed_special)
            for s in allowed:
                self.special_token_id(s)  # unknown names are an error, not silently ignored
        if not allowed:
            return self.encode_ordinary(text)
        # longest first, so a special token that contains another one wins
        alternation = "|".join(re.escape(s) for s in sorted(allowed, key=len, reverse=True))
        out: list[int] = []
        for k, part in enumerate(re.split(f"({alternation})", text)):
            if k % 2:
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out

    def encode_tensor(
        self, text: str, allowed_special: Literal["all", "none"] | Collection[str] = "all"
    ) -> Tensor:
        """`encode` as a 1-D int64 Tensor."""
        return ids_to_tensor(self.encode(text, allowed_special))

    # ----------------------------------------------------------- decoding
    def decode_bytes(self, ids: Ids) -> bytes:
        vocab = self.vocab
        return b"".join([vocab[i] for i in ids_to_list(ids, self.vocab_size)])

    def decode(self, ids: Ids, errors: str = "replace") -> str:
        """Ids to text. A sequence that splits a multi-byte character (as sampled text
        may) decodes with U+FFFD in its place; pass ``errors="strict"`` to raise."""
        handler = {"replace": _ERRORS, "strict": "surrogatepass"}.get(errors, errors)
        return self.decode_bytes(ids).decode("utf-8", handler)

    # ----------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "bpe",
            "version": 1,
            "pattern": self.pattern,
            "merges": [list(p) for p in self.merges],
            "special_tokens": list(self.special_tokens),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write merges, pattern and special tokens as JSON (atomically)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        payload = read_json(path, "bpe")
        merges = payload.get("merges")
        pattern = payload.get("pattern")
        specials = payload.get("special_tokens", [])
        if not isinstance(merges, list) or not all(
            isinstance(m, list) and len(m) == 2 for m in merges
        ):
            raise ValueError(f"{path}: 'merges' must be a list of [left_id, right_id] pairs")
        if pattern is not None and not isinstance(pattern, str):
            raise ValueError(f"{path}: 'pattern' must be a string or null, got {pattern!r}")
        if not isinstance(specials, list):
            raise ValueError(f"{path}: 'special_tokens' must be a list of strings")
        try:
            return cls([(m[0], m[1]) for m in merges], pattern, specials)
        except ValueError as err:
            raise ValueError(f"{path} is corrupt: {err}") from None
