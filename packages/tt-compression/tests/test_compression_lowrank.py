"""Low-rank factorization of Linear layers by truncated SVD."""

from __future__ import annotations

import numpy as np
import pytest
from tt_compression import choose_rank, factorize_linear, low_rank_factorize
from tt_layers import Linear, Module, Sequential
from tt_tensor import Tensor, manual_seed


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def _rank3_linear() -> Linear:
    manual_seed(0)
    lin = Linear(40, 30)
    rng = np.random.default_rng(0)
    lin.weight.data[...] = (rng.standard_normal((30, 3)) @ rng.standard_normal((3, 40))).astype(
        np.float32
    )
    return lin


def test_exactly_low_rank_weight_is_recovered() -> None:
    lin = _rank3_linear()
    seq, info = factorize_linear(lin, energy=0.9999)
    assert info.rank == 3 and info.relative_error < 1e-6
    first, second = seq[0], seq[1]
    assert first.weight.shape == (3, 40) and first.bias is None
    assert second.weight.shape == (30, 3) and second.bias is not None
    x = Tensor(np.random.default_rng(1).standard_normal((5, 40)).astype(np.float32))
    np.testing.assert_allclose(seq(x).data, lin(x).data, rtol=1e-4, atol=1e-4)
    assert info.params_after == 3 * 70 < info.params_before == 1200


def test_explicit_rank_error_is_the_svd_tail() -> None:
    manual_seed(1)
    lin = Linear(20, 16)
    s = np.linalg.svd(lin.weight.data.astype(np.float64), compute_uv=False)
    seq, info = factorize_linear(lin, rank=5)
    approx = seq[1].weight.data.astype(np.float64) @ seq[0].weight.data.astype(np.float64)
    err = np.linalg.norm(approx - lin.weight.data) / np.linalg.norm(lin.weight.data)
    assert err == pytest.approx(np.sqrt((s[5:] ** 2).sum() / (s**2).sum()), rel=1e-4)
    assert info.relative_error == pytest.approx(err, rel=1e-4)
    assert info.energy_kept == pytest.approx((s[:5] ** 2).sum() / (s**2).sum())


def test_choose_rank_by_energy() -> None:
    s = np.array([3.0, 2.0, 1.0, 0.0])  # energies 9, 4, 1 of 14
    assert choose_rank(s, 0.5) == 1
    assert choose_rank(s, 9 / 14) == 1
    assert choose_rank(s, 0.9) == 2
    assert choose_rank(s, 1.0) == 3
    with pytest.raises(ValueError, match="energy"):
        choose_rank(s, 0.0)


def test_model_factorization_replaces_only_layers_that_shrink() -> None:
    manual_seed(2)
    model = Sequential(Linear(64, 64), ReLU(), Linear(64, 4))
    small, done = low_rank_factorize(model, rank=8)
    assert [d.name for d in done] == ["0"]  # 8 * (64 + 4) > 64 * 4: the head is kept
    assert isinstance(small[0], Sequential) and isinstance(small[2], Linear)
    assert isinstance(model[0], Linear)  # original untouched
    x = Tensor(np.random.default_rng(3).standard_normal((4, 64)).astype(np.float32))
    assert small(x).shape == (4, 4)
    full, _ = low_rank_factorize(model, energy=1.0, only_if_smaller=False)
    np.testing.assert_allclose(full(x).data, model(x).data, rtol=1e-4, atol=1e-4)


def test_bad_rank() -> None:
    with pytest.raises(ValueError, match="rank"):
        factorize_linear(Linear(4, 3), rank=4)
    with pytest.raises(ValueError, match="rank"):
        factorize_linear(Linear(4, 3), rank=0)
