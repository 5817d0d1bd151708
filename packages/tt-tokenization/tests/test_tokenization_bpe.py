import itertools
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tt_tokenization import GPT2_SPLIT_PATTERN, BPETokenizer, learn_merges, load_tokenizer

CORPUS = Path("/work/shared/data/tinyshakespeare/input.txt")
SAMPLE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\n"
    "Resolved. resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy "
    "to the people.\n\nAll:\nWe know't, we know't.\n\n"
) * 3


def naive_merges(chunks: dict[bytes, int], num_merges: int) -> list[tuple[int, int]]:
    """Reference BPE: a full recount of all pairs before every merge."""
    words = [(list(c), n) for c, n in chunks.items()]
    merges: list[tuple[int, int]] = []
    for _ in range(num_merges):
        counts: Counter[tuple[int, int]] = Counter()
        for w, n in words:
            for p in itertools.pairwise(w):
                counts[p] += n
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        new = 256 + len(merges)
        merges.append(best)
        for k, (w, n) in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = (out, n)
    return merges


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(SAMPLE, 300, special_tokens=["<|endoftext|>"])


def test_incremental_training_equals_full_rescan() -> None:
    pieces = Counter(re.findall(GPT2_SPLIT_PATTERN, SAMPLE))
    chunks = {s.encode(): c for s, c in pieces.items()}
    assert learn_merges(chunks, 60) == naive_merges(chunks, 60)
    whole = {SAMPLE.encode(): 1}
    assert learn_merges(whole, 60) == naive_merges(whole, 60)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="ab ", min_size=0, max_size=60), st.integers(1, 20))
def test_overlapping_runs_match_reference(text: str, n: int) -> None:
    chunks = {text.encode(): 1} if text else {}
    assert learn_merges(chunks, n) == naive_merges(chunks, n)


def test_vocabulary_layout(tok: BPETokenizer) -> None:
    assert tok.vocab_size == 300
    assert len(tok.merges) == 300 - 256 - 1
    assert tok.special_token_id("<|endoftext|>") == 299
    for r, (a, b) in enumerate(tok.merges):
        assert tok.vocab[256 + r] == tok.vocab[a] + tok.vocab[b]
    assert len(tok.encode(SAMPLE)) < 0.6 * len(SAMPLE.encode())


def test_special_tokens(tok: BPETokenizer) -> None:
    text = "Speak.<|endoftext|>All:"
    ids = tok.encode(text)
    assert ids.count(299) == 1
    assert tok.decode(ids) == text
    plain = tok.encode(text, allowed_special="none")
    assert 299 not in plain and tok.decode(plain) == text
    assert tok.encode(text, allowed_special={"<|endoftext|>"}) == ids
    with pytest.raises(KeyError, match=r"unknown special token '<\|pad\|>'"):
        tok.encode(text, allowed_special={"<|pad|>"})
    with pytest.raises(KeyError, match="unknown special token"):
        tok.special_token_id("<|pad|>")


def test_short_and_long_chunk_merging_agree(tok: BPETokenizer) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        start = int(rng.integers(0, len(SAMPLE) - 200))
        ids = list(SAMPLE[start : start + int(rng.integers(2, 200))].encode())
        assert tok._merge_short(list(ids)) == tok._merge_long(list(ids))
    nopat = BPETokenizer(tok.merges, pattern=None)
    assert nopat.decode(nopat.encode(SAMPLE)) == SAMPLE


unicode_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=80)


@settings(max_examples=150, deadline=None)
@given(unicode_text)
def test_roundtrip_any_unicode(tok: BPETokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(tok.encode_tensor(s)) == s


@pytest.mark.parametrize(
    "s",
    [
        "",
        "🎭🎭 To be, or not to be 👑",
        "\ud800 lone \udfff surrogates \ud83d\ude00",
        "\x00\x01\xff\ufffd\ufeff",
        "<|endoftext",
        "e\u0301 ﬁ ² Ⅻ ٣ 中文 _under_score__",
        "\r\n\t  \u2028 trailing   ",
        "'s't're've'm'll'd",
    ],
)
def test_roundtrip_awkward_strings(tok: BPETokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s
    nopat = BPETokenizer(tok.merges, pattern=None)
    assert nopat.decode(nopat.encode(s)) == s


def test_decoding_split_multibyte_characters(tok: BPETokenizer) -> None:
    ids = tok.encode("é")  # two bytes: c3 a9
    assert tok.decode(ids[:1] if len(ids) == 2 else [0xC3]) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        tok.decode([0xC3], errors="strict")
    assert tok.decode([0xFF, 0x41]) == "\ufffdA"


def test_bad_arguments(tok: BPETokenizer) -> None:
    with pytest.raises(ValueError, match=r"vocab_size=100 is too small.*at least 256"):
        BPETokenizer.train("hello", 100)
    with pytest.raises(ValueError, match="at least 258"):
        BPETokenizer.train("hello", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer.train("hello", 300.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range for a vocabulary of 300"):
        tok.decode([300])
    with pytest.raises(TypeError, match="encode expects a str"):
        tok.encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distinct"):
        BPETokenizer(special_tokens=["<a>", "<a>"])
    with pytest.raises(ValueError, match="invalid pre-split pattern"):
        BPETokenizer(pattern="(")


def test_training_stops_when_pairs_run_out() -> None:
    tok = BPETokenizer.train("abab", 1000)
    assert tok.merges == [(97, 98), (256, 256)]
    assert tok.encode("abab") == [257]
    assert BPETokenizer.train("", 300).vocab_size == 256


def test_save_load_roundtrip(tok: BPETokenizer, tmp_path: Path) -> None:
    path = tmp_path / "bpe.json"
    tok.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges
    assert back.special_tokens == tok.special_tokens
    assert back.pattern == tok.pattern
    assert back.encode(SAMPLE) == tok.encode(SAMPLE)
    assert isinstance(load_tokenizer(path), BPETokenizer)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "bpe", "version": 1, "merges": [[1, 2, 3]]}, "pairs"),
        ({"type": "bpe", "version": 1, "merges": [[1, 999]]}, "refers to token id 999"),
        ({"type": "bpe", "version": 1, "merges": [[1, 2], [1, 2]]}, "same pair twice"),
        ({"type": "bpe", "version": 1, "merges": [], "pattern": 5}, "'pattern' must be"),
        ({"type": "bpe", "version": 1, "merges": [], "pattern": "("}, "invalid pre-split"),
        ({"type": "bpe", "version": 1, "merges": [], "special_tokens": [""]}, "non-empty"),
        ({"type": "bpe", "version": 1, "merges": [], "special_tokens": "x"}, "list of strings"),
    ],
)
def test_corrupt_saved_file(tmp_path: Path, payload: dict[str, object], message: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=message):
        BPETokenizer.load(p)


def test_truncated_file_is_a_clear_error(tok: BPETokenizer, tmp_path: Path) -> None:
    p = tmp_path / "bpe.json"
    tok.save(p)
    p.write_bytes(p.read_bytes()[:50])
    with pytest.raises(ValueError, match="is not a tokenizer file"):
        BPETokenizer.load(p)


@pytest.mark.skipif(not CORPUS.is_file(), reason="Tiny Shakespeare corpus not available")
def test_corpus_slice_roundtrip() -> None:
    text = CORPUS.read_text()[:20000]
    tok = BPETokenizer.train(text, 400)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) < 0.6 * len(text.encode())


def test_special_tokens_separate_the_training_text() -> None:
    """'ab<s>ab' must not teach the pair (b, a) that only exists across the special token."""
    tok = BPETokenizer.train("ab<s>ab" * 20, 300, pattern=None, special_tokens=["<s>"])
    assert (ord("b"), ord("a")) not in tok.merges
    assert tok.merges[0] == (ord("a"), ord("b"))
