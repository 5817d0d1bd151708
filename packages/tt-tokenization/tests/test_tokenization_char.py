import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tt_tensor import Tensor
from tt_tokenization import CharTokenizer, Tokenizer, load_tokenizer

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


def test_from_text_sorted_alphabet_and_roundtrip() -> None:
    tok = CharTokenizer.from_text(TEXT)
    assert tok.itos == sorted(set(TEXT))
    assert tok.vocab_size == len(set(TEXT))
    ids = tok.encode(TEXT)
    assert ids[0] == tok.stoi["F"]
    assert tok.decode(ids) == TEXT
    assert isinstance(tok, Tokenizer)


def test_encode_tensor_is_int64_and_decode_accepts_tensor_and_array() -> None:
    tok = CharTokenizer.from_text("abc")
    t = tok.encode_tensor("cab")
    assert isinstance(t, Tensor)
    assert t.dtype == np.int64
    assert t.tolist() == [2, 0, 1]
    assert tok.decode(t) == "cab"
    assert tok.decode(np.array([1, 1], dtype=np.int32)) == "bb"


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_roundtrip_any_string_over_its_alphabet(s: str) -> None:
    if not s:
        return
    tok = CharTokenizer.from_text(s)
    assert tok.decode(tok.encode(s)) == s


def test_unknown_character_is_a_clear_error() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"'z' at position 2 is not in"):
        tok.encode("abz")


def test_out_of_range_and_non_integer_ids() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="token id 3 is out of range for a vocabulary of 3"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="token id -1"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="must be integers"):
        tok.decode([0.5])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be integers"):
        tok.decode(np.array([0.0]))


def test_bad_vocabularies() -> None:
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab"])
    with pytest.raises(ValueError, match="twice"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="at least one"):
        CharTokenizer([])


def test_save_load_roundtrip_with_surrogate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tok = CharTokenizer.from_text("héllo \ud800 wörld 🎭")
    path = tmp_path / "char.json"
    tok.save(path)
    back = CharTokenizer.load(path)
    assert back.itos == tok.itos
    again = load_tokenizer(path)
    assert isinstance(again, CharTokenizer) and again.itos == tok.itos


def test_corrupt_files_are_clear_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "t.json"
    with pytest.raises(FileNotFoundError, match="no tokenizer file"):
        CharTokenizer.load(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        CharTokenizer.load(p)
    p.write_text(json.dumps({"type": "bpe", "version": 1, "merges": []}))
    with pytest.raises(ValueError, match="holds a 'bpe' tokenizer, expected 'char'"):
        CharTokenizer.load(p)
    p.write_text(json.dumps({"type": "char", "version": 99, "chars": ["a"]}))
    with pytest.raises(ValueError, match="unsupported tokenizer file version 99"):
        CharTokenizer.load(p)
    p.write_text(json.dumps({"type": "char", "version": 1, "chars": ["a", "a"]}))
    with pytest.raises(ValueError, match="twice"):
        CharTokenizer.load(p)
    p.write_text(json.dumps({"type": "wordpiece", "version": 1}))
    with pytest.raises(ValueError, match="unknown tokenizer type 'wordpiece'"):
        load_tokenizer(p)
