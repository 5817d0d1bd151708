import numpy as np
import pytest
import tt_autograd
from tt_embeddings import Embedding, embedding, scatter_add_rows
from tt_embeddings.functional import ONE_HOT_MAX_ROWS
from tt_tensor import Tensor, manual_seed
from tt_tokenization import BPETokenizer, CharTokenizer


def test_forward_is_a_row_gather() -> None:
    manual_seed(0)
    emb = Embedding(10, 4)
    ids = Tensor(np.array([[1, 2, 1], [9, 0, 3]]))
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, emb.weight.data[ids.data])


def test_default_init_is_standard_normal() -> None:
    manual_seed(1)
    w = Embedding(1000, 64).weight.data
    assert abs(float(w.mean())) < 0.02
    assert abs(float(w.std()) - 1.0) < 0.02


@pytest.mark.parametrize("rows", [7, ONE_HOT_MAX_ROWS + 50])
def test_scatter_add_matches_add_at(rows: int) -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, rows, size=(5, 13))
    ids[0, :4] = 3  # repeated ids must add up
    grad = rng.standard_normal((5, 13, 6)).astype(np.float32)
    ref = np.zeros((rows, 6), dtype=np.float32)
    np.add.at(ref, ids.reshape(-1), grad.reshape(-1, 6))
    np.testing.assert_allclose(scatter_add_rows(ids, grad, rows), ref, rtol=1e-5, atol=1e-5)
    empty = scatter_add_rows(np.zeros((0,), np.int64), np.zeros((0, 6), np.float32), rows)
    assert empty.shape == (rows, 6) and not empty.any()


@pytest.mark.parametrize("rows", [6, ONE_HOT_MAX_ROWS + 3])
def test_gradcheck(rows: int) -> None:
    manual_seed(0)
    emb = Embedding(rows, 3, dtype=np.float64)
    ids = Tensor(np.array([[0, 2, 2], [5, 0, 2]]))
    assert tt_autograd.gradcheck(lambda w: embedding(ids, w), [emb.weight])


def test_padding_idx_row_is_zero_and_gets_no_gradient() -> None:
    emb = Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4
    assert not emb.weight.data[4].any()
    ids = Tensor(np.array([[4, 1, 4, 1]]))
    emb(ids).sum().backward()
    assert emb.weight.grad is not None
    np.testing.assert_array_equal(emb.weight.grad.data[4], 0)
    np.testing.assert_array_equal(emb.weight.grad.data[1], 2)
    np.testing.assert_array_equal(emb.weight.grad.data[0], 0)
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        Embedding(5, 3, padding_idx=5)


def test_out_of_range_ids_are_clear_errors() -> None:
    emb = Embedding(5, 2)
    with pytest.raises(IndexError, match=r"token id 7 is out of range for num_embeddings=5"):
        emb(Tensor(np.array([0, 7])))
    with pytest.raises(IndexError, match="token id -1"):
        emb(Tensor(np.array([-1, 2])))
    with pytest.raises(TypeError, match="integer dtype"):
        emb(Tensor(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="positive int"):
        Embedding(0, 3)


def test_from_tokenizer_sizes_the_table() -> None:
    tok = CharTokenizer.from_text("to be or not to be")
    emb = Embedding.from_tokenizer(tok, 8)
    assert emb.num_embeddings == tok.vocab_size
    out = emb(tok.encode_tensor("not to be"))
    assert out.shape == (9, 8)
    bpe = BPETokenizer.train("to be or not to be " * 20, 260, special_tokens=["<pad>"])
    padded = Embedding.from_tokenizer(bpe, 4, padding_idx=bpe.special_token_id("<pad>"))
    assert padded.num_embeddings == 260
    assert not padded.weight.data[259].any()
    with pytest.raises(TypeError, match="expects a tokenizer"):
        Embedding.from_tokenizer("abc", 4)  # type: ignore[arg-type]


def test_from_pretrained_is_frozen_by_default() -> None:
    table = Tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    emb = Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(Tensor(np.array([2]))).data, [[4.0, 5.0]])
    assert Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="2-dimensional"):
        Embedding.from_pretrained(Tensor(np.zeros(3, np.float32)))


def test_state_dict_and_repr() -> None:
    emb = Embedding(4, 2, padding_idx=0)
    assert list(emb.state_dict()) == ["weight"]
    assert repr(emb) == "Embedding(4, 2, padding_idx=0)"
