"""Loss values against NumPy references, extreme inputs, errors, and the modules.

These need only tt-tensor: they run in the isolated environment too.
"""

import warnings
from typing import Any

import numpy as np
import pytest
import tt_losses as L
from tt_tensor import Tensor

Arr = np.ndarray[Any, Any]


def rand(*shape: int, seed: int = 0, scale: float = 2.0) -> Arr:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def np_log_softmax(x: Arr, axis: int) -> Arr:
    x = x.astype(np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    out: Arr = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return out


def np_nll(logp: Arr, t: Arr, w: Arr | None, ignore: int, reduction: str, eps: float = 0.0) -> Any:
    """Reference: class axis 1 moved last, one row per element."""
    c = logp.shape[1]
    rows = np.moveaxis(logp, 1, -1).reshape(-1, c)
    tf = t.reshape(-1)
    w = np.ones(c) if w is None else w.astype(np.float64)
    valid = tf != ignore
    safe = np.where(valid, tf, 0)
    nll = -rows[np.arange(len(tf)), safe] * w[safe] * valid
    smooth = -(rows * w).sum(1) * valid
    per = (1 - eps) * nll + eps / c * smooth
    if reduction == "none":
        return per.reshape(t.shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / (w[safe] * valid).sum()


def test_mse_values_and_reductions() -> None:
    a, b = rand(3, 4), rand(3, 4, seed=1)
    d2 = (a - b) ** 2
    np.testing.assert_allclose(L.mse_loss(Tensor(a), Tensor(b)).data, d2.mean(), rtol=1e-6)
    np.testing.assert_allclose(L.mse_loss(Tensor(a), Tensor(b), "sum").data, d2.sum(), rtol=1e-6)
    np.testing.assert_allclose(L.mse_loss(Tensor(a), Tensor(b), "none").data, d2, rtol=1e-6)
    np.testing.assert_allclose(L.MSELoss()(Tensor(a), Tensor(b)).data, d2.mean(), rtol=1e-6)


def test_mse_broadcast_warns_and_bad_shape_errors() -> None:
    a = rand(3, 1)
    with pytest.warns(UserWarning, match=r"target size \(3,\) that is different to the input"):
        L.mse_loss(Tensor(a), Tensor(rand(3)))
    with pytest.raises(ValueError, match=r"target of shape \(4,\) cannot be broadcast to input"):
        L.mse_loss(Tensor(rand(3, 2)), Tensor(rand(4)))
    with pytest.raises(TypeError, match="floating point"):
        L.mse_loss(Tensor(np.arange(3)), Tensor(rand(3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction: str, weighted: bool) -> None:
    x, t = rand(6, 5), np.array([0, 4, 2, 2, -100, 1])
    w = np.linspace(0.5, 2.0, 5).astype(np.float32) if weighted else None
    out = L.cross_entropy(
        Tensor(x), Tensor(t), None if w is None else Tensor(w), reduction=reduction
    )
    expected = np_nll(np_log_softmax(x, 1), t, w, -100, reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_spatial_with_smoothing_weight_ignore(reduction: str) -> None:
    x = rand(2, 4, 3, 5)
    t = np.random.default_rng(1).integers(0, 4, (2, 3, 5))
    t[0, 1, 2] = 7  # ignore_index
    w = np.array([1.0, 0.5, 2.0, 1.5], dtype=np.float32)
    out = L.cross_entropy(
        Tensor(x), Tensor(t), Tensor(w), ignore_index=7, reduction=reduction, label_smoothing=0.2
    )
    expected = np_nll(np_log_softmax(x, 1), t, w, 7, reduction, eps=0.2)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    assert out.shape == (() if reduction != "none" else (2, 3, 5))


def test_cross_entropy_unbatched() -> None:
    x = rand(5)
    out = L.cross_entropy(Tensor(x), Tensor(np.array(3)))
    np.testing.assert_allclose(out.data, -np_log_softmax(x, 0)[3], rtol=1e-6)
    none = L.cross_entropy(Tensor(x), Tensor(np.array(3)), reduction="none")
    assert none.shape == ()


def test_cross_entropy_probabilities() -> None:
    x = rand(4, 3)
    p = np.random.default_rng(2).random((4, 3)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    logp = np_log_softmax(x, 1)
    out = L.cross_entropy(Tensor(x), Tensor(p))
    np.testing.assert_allclose(out.data, -(logp * p).sum(1).mean(), rtol=1e-5)
    # weight and label smoothing: target becomes (1 - eps) p + eps / C, mean over N (not weights)
    out = L.cross_entropy(Tensor(x), Tensor(p), Tensor(w), label_smoothing=0.3, reduction="sum")
    q = p * 0.7 + 0.1
    np.testing.assert_allclose(out.data, -(logp * q * w).sum(), rtol=1e-5)
    none = L.cross_entropy(Tensor(x), Tensor(p), reduction="none")
    np.testing.assert_allclose(none.data, -(logp * p).sum(1), rtol=1e-5)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_extreme_logits_are_finite_and_exact(scale: float) -> None:
    x = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=np.float32) * scale
    t = np.array([0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = L.cross_entropy(Tensor(x), Tensor(t), reduction="none").data
        smooth = L.cross_entropy(Tensor(x), Tensor(t), label_smoothing=0.1).data
    assert np.isfinite(out).all() and np.isfinite(smooth)
    np.testing.assert_allclose(out, -np_log_softmax(x, 1)[[0, 1], t], rtol=1e-6)


def test_cross_entropy_all_ignored_is_nan_like_pytorch() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = L.cross_entropy(Tensor(rand(2, 3)), Tensor(np.array([-100, -100])))
    assert np.isnan(out.data)
    s = L.cross_entropy(Tensor(rand(2, 3)), Tensor(np.array([-100, -100])), reduction="sum")
    assert s.data == 0


def test_cross_entropy_errors() -> None:
    x = Tensor(rand(3, 5))
    with pytest.raises(
        ValueError,
        match=r"expected target of shape \(3,\) for input of shape "
        r"\(3, 5\), got target of shape \(2,\)",
    ):
        L.cross_entropy(x, Tensor(np.array([0, 1])))
    with pytest.raises(IndexError, match=r"Target 5 is out of bounds.*\[0, 5\)"):
        L.cross_entropy(x, Tensor(np.array([0, 5, 1])))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        L.cross_entropy(x, Tensor(np.array([0, -1, 1])))
    with pytest.raises(ValueError, match=r"must have the input's shape \(3, 5\), got \(3,\)"):
        L.cross_entropy(x, Tensor(np.array([0.0, 1.0, 2.0], dtype=np.float32)))
    with pytest.raises(ValueError, match="ignore_index is not supported"):
        L.cross_entropy(x, Tensor(rand(3, 5)), ignore_index=0)
    with pytest.raises(ValueError, match=r"weight tensor should be defined .* shape: \(4,\)"):
        L.cross_entropy(x, Tensor(np.array([0, 1, 2])), weight=Tensor(np.ones(4)))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        L.cross_entropy(x, Tensor(np.array([0, 1, 2])), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="floating point"):
        L.cross_entropy(Tensor(np.ones((2, 2), dtype=np.int64)), Tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match="expected an input of shape"):
        L.cross_entropy(Tensor(np.float32(1.0)), Tensor(np.array(0)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_values(reduction: str) -> None:
    logp = np_log_softmax(rand(5, 4), 1).astype(np.float32)
    t = np.array([3, 0, 1, 1, 2])
    w = np.array([0.2, 1.0, 3.0, 1.0], dtype=np.float32)
    out = L.nll_loss(Tensor(logp), Tensor(t), Tensor(w), ignore_index=1, reduction=reduction)
    np.testing.assert_allclose(out.data, np_nll(logp, t, w, 1, reduction), rtol=1e-5)
    np.testing.assert_allclose(
        L.NLLLoss(reduction=reduction)(Tensor(logp), Tensor(t)).data,
        np_nll(logp, t, None, -100, reduction),
        rtol=1e-5,
    )


def test_nll_loss_errors() -> None:
    logp = Tensor(rand(3, 4))
    with pytest.raises(TypeError, match=r"integer tensor .* got dtype float32; for class prob"):
        L.nll_loss(logp, Tensor(rand(3)))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        L.nll_loss(logp, Tensor(np.array([0, 4, 1])))
    with pytest.raises(ValueError, match="expected target of shape"):
        L.nll_loss(logp, Tensor(np.array([[0, 1, 2]])))


def np_bce(p: Arr, t: Arr) -> Arr:
    p = p.astype(np.float64)
    with np.errstate(divide="ignore"):
        out: Arr = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_values(reduction: str) -> None:
    p = np.random.default_rng(0).random((4, 3)).astype(np.float32)
    t = (np.random.default_rng(1).random((4, 3)) > 0.5).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    ref = np_bce(p, t) * w
    expected = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    out = L.binary_cross_entropy(Tensor(p), Tensor(t), Tensor(w), reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5)
    np.testing.assert_allclose(
        L.BCELoss(weight=Tensor(w), reduction=reduction)(Tensor(p), Tensor(t)).data,
        expected,
        rtol=1e-5,
    )


def test_bce_clamps_log_at_minus_100() -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-45], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = L.binary_cross_entropy(Tensor(p), Tensor(t), reduction="none").data
    np.testing.assert_allclose(out, [100.0, 100.0, 0.0, 0.0, 100.0], rtol=1e-6)


def test_bce_errors() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        L.binary_cross_entropy(Tensor(np.array([1.5], dtype=np.float32)), Tensor(rand(1)))
    with pytest.raises(
        ValueError,
        match=r"target size \(3,\) that is different to the input size "
        r"\(3, 1\)",
    ):
        L.binary_cross_entropy(Tensor(np.full((3, 1), 0.5, np.float32)), Tensor(rand(3)))
    with pytest.raises(TypeError, match="target must be a floating point tensor, got dtype int64"):
        L.binary_cross_entropy(Tensor(np.full(2, 0.5, np.float32)), Tensor(np.array([0, 1])))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_values(reduction: str) -> None:
    x, t = rand(4, 3, scale=5.0), np.random.default_rng(1).random((4, 3)).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    pw = np.array([3.0, 1.0, 0.25], dtype=np.float32)
    x64 = x.astype(np.float64)
    log_sig = -np.logaddexp(0, -x64)
    log_one_minus = -np.logaddexp(0, x64)
    ref = -(pw * t * log_sig + (1 - t) * log_one_minus) * w
    expected = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    out = L.binary_cross_entropy_with_logits(
        Tensor(x), Tensor(t), Tensor(w), reduction=reduction, pos_weight=Tensor(pw)
    )
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    module = L.BCEWithLogitsLoss(Tensor(w), reduction, pos_weight=Tensor(pw))
    np.testing.assert_allclose(module(Tensor(x), Tensor(t)).data, expected, rtol=1e-5, atol=1e-6)


def test_bce_with_logits_extremes() -> None:
    x = np.array([-1e4, -1e4, 1e4, 1e4, 0.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 0.0, 1.0, 1.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = L.binary_cross_entropy_with_logits(Tensor(x), Tensor(t), reduction="none").data
    np.testing.assert_allclose(out, [0.0, 1e4, 1e4, 0.0, np.log(2)], rtol=1e-6)
    with pytest.raises(ValueError, match="different to the input size"):
        L.binary_cross_entropy_with_logits(Tensor(rand(2, 1)), Tensor(rand(2)))


def test_module_reprs_and_attributes() -> None:
    ce = L.CrossEntropyLoss(ignore_index=3, label_smoothing=0.1)
    assert repr(ce) == "CrossEntropyLoss()" and ce.ignore_index == 3 and ce.reduction == "mean"
    assert repr(L.MSELoss()) == "MSELoss()"
    assert list(ce.parameters()) == [] and not ce.eval().training and ce.train().training
    with pytest.raises(ValueError, match="'bad' is not a valid value"):
        L.MSELoss(reduction="bad")


def test_loss_module_hooks() -> None:
    loss = L.MSELoss()
    with loss.register_forward_hook(lambda m, args, out: out * 2):
        doubled = loss(Tensor(np.ones(2, np.float32)), Tensor(np.zeros(2, np.float32)))
    assert doubled.data == 2.0
    h = loss.register_forward_pre_hook(lambda m, args: (args[0] * 0, args[1]))
    assert loss(Tensor(np.ones(2, np.float32)), Tensor(np.zeros(2, np.float32))).data == 0.0
    h.remove()
    assert loss(Tensor(np.ones(2, np.float32)), Tensor(np.zeros(2, np.float32))).data == 1.0


def test_targets_may_be_arrays_or_lists() -> None:
    x = Tensor(rand(3, 4))
    a = L.cross_entropy(x, Tensor(np.array([0, 1, 2])))
    b = L.cross_entropy(x, [0, 1, 2])  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.data, b.data)
