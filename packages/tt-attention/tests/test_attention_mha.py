import numpy as np
import pytest
import tt_autograd
from tt_attention import AttentionTagger, MultiheadAttention
from tt_tensor import Tensor, manual_seed

rng = np.random.default_rng(1)


def rand(*shape: int, grad: bool = False, dtype: type = np.float32) -> Tensor:
    return Tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=grad)


def reference_mha(
    mha: MultiheadAttention,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    blocked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-head loops in float64: the definition, written the slow obvious way."""
    e, h = mha.embed_dim, mha.num_heads
    hd = e // h
    w = mha.in_proj_weight.data.astype(np.float64)
    b = np.zeros(3 * e) if mha.in_proj_bias is None else mha.in_proj_bias.data
    qp = q @ w[:e].T + b[:e]
    kp = k @ w[e : 2 * e].T + b[e : 2 * e]
    vp = v @ w[2 * e :].T + b[2 * e :]
    heads, weights = [], []
    for i in range(h):
        sl = slice(i * hd, (i + 1) * hd)
        s = qp[..., sl] @ np.swapaxes(kp[..., sl], -1, -2) / np.sqrt(hd)
        if blocked is not None:
            s = np.where(blocked, -np.inf, s)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        heads.append(p @ vp[..., sl])
        weights.append(p)
    out = np.concatenate(heads, -1) @ mha.out_proj.weight.data.T
    if mha.out_proj.bias is not None:
        out = out + mha.out_proj.bias.data
    return out, np.mean(weights, axis=0)


def test_parameters_have_pytorch_names_and_shapes() -> None:
    mha = MultiheadAttention(8, 2)
    shapes = {k: tuple(v.shape) for k, v in mha.state_dict().items()}
    assert shapes == {
        "in_proj_weight": (24, 8),
        "in_proj_bias": (24,),
        "out_proj.weight": (8, 8),
        "out_proj.bias": (8,),
    }
    assert not mha.in_proj_bias.data.any() and not mha.out_proj.bias.data.any()  # type: ignore[union-attr]
    bound = np.sqrt(6 / (8 + 24))
    assert np.abs(mha.in_proj_weight.data).max() <= bound
    assert list(MultiheadAttention(8, 2, bias=False).state_dict()) == [
        "in_proj_weight",
        "out_proj.weight",
    ]


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_matches_per_head_reference(batch_first: bool) -> None:
    mha = MultiheadAttention(12, 3, batch_first=batch_first)
    x = rng.standard_normal((2, 5, 12)).astype(np.float32)
    inp = Tensor(x if batch_first else x.transpose(1, 0, 2))
    out, weights = mha(inp, inp, inp)
    ref_out, ref_w = reference_mha(mha, x.astype(np.float64), x, x)
    got = out.data if batch_first else out.data.transpose(1, 0, 2)
    np.testing.assert_allclose(got, ref_out, atol=1e-5)
    assert weights is not None and weights.shape == (2, 5, 5)
    np.testing.assert_allclose(weights.data, ref_w, atol=1e-6)


def test_cross_attention_and_per_head_weights() -> None:
    mha = MultiheadAttention(8, 4, batch_first=True)
    q, k, v = rand(3, 2, 8), rand(3, 6, 8), rand(3, 6, 8)
    out, w = mha(q, k, v, average_attn_weights=False)
    ref_out, ref_w = reference_mha(mha, q.data.astype(np.float64), k.data, v.data)
    np.testing.assert_allclose(out.data, ref_out, atol=1e-5)
    assert w is not None and w.shape == (3, 4, 2, 6)
    np.testing.assert_allclose(w.data.mean(1), ref_w, atol=1e-6)
    np.testing.assert_allclose(w.data.sum(-1), 1, atol=1e-6)
    _, none = mha(q, k, v, need_weights=False)
    assert none is None


def test_unbatched_input() -> None:
    mha = MultiheadAttention(6, 2)
    x = rand(4, 6)
    out, w = mha(x, x, x)
    assert out.shape == (4, 6) and w is not None and w.shape == (4, 4)
    batched, _ = mha(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1))
    np.testing.assert_allclose(out.data, batched.data[:, 0], atol=1e-6)


def test_masks_use_pytorch_mha_convention_true_means_ignore() -> None:
    mha = MultiheadAttention(8, 2, batch_first=True)
    x = rand(2, 5, 8)
    pad = np.zeros((2, 5), dtype=bool)
    pad[0, 3:] = True  # last two keys of sample 0 are padding
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    out, w = mha(x, x, x, key_padding_mask=Tensor(pad), attn_mask=Tensor(causal))
    assert w is not None
    np.testing.assert_array_equal(w.data[0, :, 3:], 0)
    np.testing.assert_array_equal(w.data[:, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]], 0)
    blocked = causal[None] | pad[:, None, :]
    ref_out, _ = reference_mha(mha, x.data.astype(np.float64), x.data, x.data, blocked)
    np.testing.assert_allclose(out.data, ref_out, atol=1e-5)
    # the same masks as floats (-inf = ignore), per-head (N*H, L, S), and is_causal
    fpad = Tensor(np.where(pad, -np.inf, 0.0).astype(np.float32))
    fcausal = Tensor(np.where(np.repeat(causal[None], 4, 0), -np.inf, 0.0).astype(np.float32))
    out2, _ = mha(x, x, x, key_padding_mask=fpad, attn_mask=fcausal)
    np.testing.assert_allclose(out2.data, out.data, atol=1e-6)
    out3, _ = mha(x, x, x, key_padding_mask=Tensor(pad), is_causal=True)
    np.testing.assert_allclose(out3.data, out.data, atol=1e-6)


def test_dropout_only_in_training() -> None:
    mha = MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = rand(2, 6, 8)
    manual_seed(0)
    a, _ = mha(x, x, x)
    mha.eval()
    b, _ = mha(x, x, x)
    c, _ = mha(x, x, x)
    assert not np.allclose(a.data, b.data)
    np.testing.assert_array_equal(b.data, c.data)


def test_gradcheck_through_projections() -> None:
    manual_seed(0)
    mha = MultiheadAttention(4, 2, batch_first=True, dtype=np.float64)
    x = rand(2, 3, 4, grad=True, dtype=np.float64)
    mask = Tensor(np.array([[False, False, True], [False, False, False]]))
    params = [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight]

    def fn(inp: Tensor, *ps: Tensor) -> Tensor:
        out: Tensor = mha(inp, inp, inp, key_padding_mask=mask)[0]
        return out

    assert tt_autograd.gradcheck(fn, [x, *params])
    kv = rand(2, 5, 4, grad=True, dtype=np.float64)
    assert tt_autograd.gradcheck(lambda a, b: mha(a, b, b)[0], [x, kv])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="divisible by num_heads"):
        MultiheadAttention(10, 3)
    mha = MultiheadAttention(8, 2, batch_first=True)
    x = rand(2, 5, 8)
    with pytest.raises(ValueError, match="E=8"):
        mha(x, rand(2, 5, 6), rand(2, 5, 6))
    with pytest.raises(ValueError, match="key_padding_mask of shape"):
        mha(x, x, x, key_padding_mask=Tensor(np.zeros((2, 4), bool)))
    with pytest.raises(ValueError, match="attn_mask should have shape"):
        mha(x, x, x, attn_mask=Tensor(np.zeros((3, 5, 5), bool)))
    with pytest.raises(ValueError, match="batch size"):
        mha(x, rand(3, 5, 8), rand(3, 5, 8))


def test_attention_tagger_learns_to_reverse() -> None:
    """The attention proof in miniature: reversing length-5 sequences with plain SGD."""
    manual_seed(0)
    data = np.random.default_rng(0)
    model = AttentionTagger(vocab_size=6, max_len=5, embed_dim=24, num_heads=2)
    params = list(model.parameters())
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    losses = []
    for step in range(1, 151):
        ids = data.integers(0, 6, size=(32, 5))
        logits, _ = model(Tensor(ids))
        target = ids[:, ::-1]
        z = logits - Tensor(logits.data.max(-1, keepdims=True))
        logp = z - z.exp().sum(-1, keepdim=True).log()
        onehot = Tensor(np.eye(6, dtype=np.float32)[target])
        loss = -(logp * onehot).sum() / (32 * 5)
        model.zero_grad()
        loss.backward()
        for i, p in enumerate(params):  # Adam, written out (tt-attention has no optimizer)
            assert p.grad is not None
            m[i] = 0.9 * m[i] + 0.1 * p.grad.data
            v[i] = 0.999 * v[i] + 0.001 * p.grad.data**2
            p.data -= 0.02 * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
        losses.append(loss.item())
    ids = data.integers(0, 6, size=(200, 5))
    model.eval()
    logits, weights = model(Tensor(ids))
    acc = (logits.data.argmax(-1) == ids[:, ::-1]).mean()
    assert losses[-1] < 0.3 * losses[0]
    assert acc > 0.9
    assert weights is not None and weights.shape == (200, 5, 5)
