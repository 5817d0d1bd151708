"""Linear, Dropout, Flatten, Unflatten, Identity, functional, and the containers."""

import math
from collections import OrderedDict

import numpy as np
import pytest
import tt_layers as L
import tt_tensor as tt
from tt_layers import functional as F
from tt_tensor import Tensor


def test_linear_shapes_and_value() -> None:
    lin = L.Linear(3, 5)
    assert lin.weight.shape == (5, 3) and lin.bias is not None and lin.bias.shape == (5,)
    assert lin.weight.dtype == np.float32 and lin.weight.requires_grad
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out = lin(Tensor(x))
    np.testing.assert_allclose(out.data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-6)
    assert out.dtype == np.float32


def test_linear_batch_dims_and_1d_input() -> None:
    lin = L.Linear(3, 2)
    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    expected = x @ lin.weight.data.T + lin.bias.data  # type: ignore[union-attr]
    np.testing.assert_allclose(lin(Tensor(x)).data, expected, rtol=1e-5)
    assert lin(Tensor(x[0, 0])).shape == (2,)


def test_linear_without_bias_and_repr() -> None:
    lin = L.Linear(3, 2, bias=False)
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]
    assert repr(lin) == "Linear(in_features=3, out_features=2, bias=False)"
    x = tt.randn(2, 3)
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T, rtol=1e-6)


def test_linear_default_init_range() -> None:
    tt.manual_seed(0)
    lin = L.Linear(64, 256)
    bound = 1 / math.sqrt(64)
    assert lin.bias is not None
    for p in (lin.weight, lin.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound  # really uniform on the whole range
    # U(-b, b) has standard deviation b / sqrt(3)
    assert abs(lin.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_linear_init_reproducible_with_manual_seed() -> None:
    tt.manual_seed(7)
    a = L.Linear(4, 4)
    tt.manual_seed(7)
    b = L.Linear(4, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_linear_errors() -> None:
    with pytest.raises(ValueError, match="in_features must be a non-negative integer, got -1"):
        L.Linear(-1, 2)
    with pytest.raises(ValueError, match="out_features"):
        L.Linear(2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(4x2 and 3x5\)"):
        L.Linear(3, 5)(tt.randn(4, 2))


def test_linear_dtype_argument() -> None:
    lin = L.Linear(2, 2, dtype=np.float64)
    assert lin.weight.dtype == np.float64


def test_functional_linear() -> None:
    x, w, b = tt.randn(3, 4), tt.randn(2, 4), tt.randn(2)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data, rtol=1e-5)
    np.testing.assert_allclose(F.linear(x, w).data, x.data @ w.data.T, rtol=1e-5)


def test_dropout_train_statistics_and_scaling() -> None:
    tt.manual_seed(0)
    x = tt.ones(200, 500)
    out = F.dropout(x, 0.3, training=True).data
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    assert out.dtype == np.float32


def test_dropout_seeded_and_modes() -> None:
    drop = L.Dropout(0.5)
    x = tt.randn(10, 10)
    tt.manual_seed(3)
    a = drop(x).data
    tt.manual_seed(3)
    b = drop(x).data
    np.testing.assert_array_equal(a, b)
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).data.any()
    assert repr(L.Dropout(0.1)) == "Dropout(p=0.1, inplace=False)"


def test_dropout_float64_keeps_dtype() -> None:
    assert F.dropout(tt.randn(3, 3, dtype=np.float64), 0.5).dtype == np.float64


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_bad_p(p: float) -> None:
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        L.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tt.ones(2), p)


def test_flatten_unflatten_identity() -> None:
    x = tt.randn(2, 3, 4, 5)
    assert L.Flatten()(x).shape == (2, 60)
    assert L.Flatten(0, 2)(x).shape == (24, 5)
    assert L.Flatten(2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(L.Flatten()(x).data, x.data.reshape(2, 60))
    assert repr(L.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    y = L.Unflatten(1, (3, 20))(L.Flatten()(x))
    assert y.shape == (2, 3, 20)
    with pytest.raises(RuntimeError, match=r"cannot split dim 1 of size 60 into \(7, 8\)"):
        L.Unflatten(1, (7, 8))(L.Flatten()(x))
    assert L.Identity(54, unused="x")(x) is x


def test_sequential_indexing_len_iter_append() -> None:
    a, b, c = L.Linear(2, 3), L.Identity(), L.Linear(3, 1)
    seq = L.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert seq[2] is c and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    sub = seq[1:]
    assert isinstance(sub, L.Sequential) and list(sub) == [b, c]
    assert [n for n, _ in sub.named_children()] == ["1", "2"]  # keys kept, as in PyTorch
    x = tt.randn(4, 2)
    np.testing.assert_allclose(seq(x).data, c(a(x)).data, rtol=1e-6)
    with pytest.raises(IndexError, match="index 3 is out of range for Sequential of length 3"):
        seq[3]
    del seq[1]
    assert list(seq) == [a, c] and [n for n, _ in seq.named_children()] == ["0", "1"]
    seq.insert(1, b)
    assert list(seq) == [a, b, c]
    seq.insert(-1, L.Identity())
    assert isinstance(seq[2], L.Identity) and seq[3] is c
    seq[0] = L.Linear(2, 3)
    assert seq[0] is not a
    seq.extend([L.Identity()])
    assert len(seq) == 5


def test_sequential_from_ordered_dict() -> None:
    seq = L.Sequential(OrderedDict([("fc", L.Linear(2, 2)), ("out", L.Linear(2, 1))]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert seq.fc is seq[0]  # type: ignore[attr-defined]
    assert repr(seq).startswith("Sequential(\n  (fc): Linear(")
    with pytest.raises(TypeError, match="not a Module"):
        L.Sequential(L.Linear(1, 1), 3)  # type: ignore[arg-type]


def test_module_list() -> None:
    layers = L.ModuleList([L.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(L.Linear(2, 1))
    layers += [L.Identity()]
    assert len(layers) == 5 and isinstance(layers[-1], L.Identity)
    assert isinstance(layers[1:3], L.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    layers.insert(0, L.Identity())
    assert isinstance(layers[0], L.Identity)
    with pytest.raises(NotImplementedError, match="iterate over it"):
        layers(tt.ones(1))

    class Stack(L.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = L.ModuleList([L.Linear(2, 2), L.Linear(2, 2)])

    assert list(Stack().state_dict()) == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"
    ]  # fmt: skip


def test_module_dict() -> None:
    d = L.ModuleDict({"enc": L.Linear(2, 3), "dec": L.Linear(3, 2)})
    assert list(d) == ["enc", "dec"] and len(d) == 2 and "enc" in d
    assert list(d.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    d["act"] = L.Identity()
    assert [k for k, _ in d.items()] == ["enc", "dec", "act"] and len(d.values()) == 3
    with pytest.raises(KeyError, match="'nope'"):
        d["nope"]
    assert isinstance(d.pop("act"), L.Identity) and "act" not in d
    del d["dec"]
    assert d.keys() == ["enc"]
