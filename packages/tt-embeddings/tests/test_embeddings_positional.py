import math

import numpy as np
import pytest
import tt_autograd
from tt_embeddings import (
    LearnedPositionalEmbedding,
    PositionalEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)
from tt_tensor import Tensor, manual_seed


def test_learned_positions_follow_the_sequence_length() -> None:
    manual_seed(0)
    pos = LearnedPositionalEmbedding(8, 4)
    assert PositionalEmbedding is LearnedPositionalEmbedding
    ids = Tensor(np.zeros((2, 5), dtype=np.int64))
    out = pos(ids)
    assert out.shape == (5, 4)
    np.testing.assert_array_equal(out.data, pos.weight.data[:5])
    emb = Tensor(np.zeros((2, 3, 4), dtype=np.float32))
    np.testing.assert_array_equal(pos(emb).data, pos.weight.data[:3])
    np.testing.assert_array_equal(pos(2, offset=6).data, pos.weight.data[6:8])


def test_learned_positions_receive_gradients() -> None:
    pos = LearnedPositionalEmbedding(6, 2)
    (pos(3) * Tensor(np.arange(6, dtype=np.float32).reshape(3, 2))).sum().backward()
    assert pos.weight.grad is not None
    np.testing.assert_array_equal(pos.weight.grad.data[:3], np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(pos.weight.grad.data[3:], 0)


def test_too_long_sequences_are_clear_errors() -> None:
    pos = LearnedPositionalEmbedding(4, 2)
    with pytest.raises(ValueError, match=r"positions 0\.\.4 do not fit in max_len=4"):
        pos(Tensor(np.zeros((1, 5), dtype=np.int64)))
    with pytest.raises(ValueError, match="offset 3"):
        SinusoidalPositionalEncoding(4, 2)(2, offset=3)
    with pytest.raises(ValueError, match=r"\(\.\.\., T, D\)"):
        pos(Tensor(np.zeros(3, dtype=np.float32)))


@pytest.mark.parametrize("dim", [6, 7])
def test_sinusoidal_table_values(dim: int) -> None:
    table = sinusoidal_table(10, dim)
    assert table.shape == (10, dim) and table.dtype == np.float32
    for p in (0, 3, 9):
        for i in range(dim):
            angle = p / 10000 ** ((i - i % 2) / dim)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert table[p, i] == pytest.approx(expected, abs=1e-6)


def test_sinusoidal_relative_shift_is_linear() -> None:
    """PE[p + k] = R_k PE[p] for a fixed rotation R_k: each column pair rotates."""
    table = sinusoidal_table(50, 8).astype(np.float64)
    k = 5
    a, b = table[:-k], table[k:]
    r, *_ = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(a @ r, b, atol=1e-5)


def test_sinusoidal_module_has_no_parameters_and_no_state() -> None:
    enc = SinusoidalPositionalEncoding(16, 4)
    assert list(enc.parameters()) == []
    assert enc.state_dict() == {}
    out = enc(Tensor(np.zeros((3, 5), dtype=np.int64)))
    np.testing.assert_array_equal(out.data, sinusoidal_table(16, 4)[:5])
    assert not out.requires_grad


def test_learned_positions_gradcheck() -> None:
    pos = LearnedPositionalEmbedding(5, 3)
    pos.double()
    assert tt_autograd.gradcheck(lambda w: pos(4, offset=1), [pos.weight])
