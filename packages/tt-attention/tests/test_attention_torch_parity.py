from typing import Any

import numpy as np
import pytest
from tt_attention import MultiheadAttention, scaled_dot_product_attention
from tt_tensor import Tensor

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")
F = torch.nn.functional
rng = np.random.default_rng(0)


def pair(*shape: int) -> tuple[Tensor, Any]:
    x = rng.standard_normal(shape)
    return Tensor(x, dtype=np.float64, requires_grad=True), torch.tensor(x, requires_grad=True)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal", "bool_batched"])
def test_sdpa_forward_and_gradients(mask: str) -> None:
    (q, tq), (k, tk), (v, tv) = pair(2, 3, 5, 4), pair(2, 3, 5, 4), pair(2, 3, 5, 6)
    kwargs: dict[str, object] = {}
    tkwargs: dict[str, object] = {}
    if mask == "bool":
        m = rng.random((5, 5)) > 0.3
        m[:, 0] = True
        kwargs["attn_mask"], tkwargs["attn_mask"] = Tensor(m), torch.tensor(m)
    elif mask == "bool_batched":
        m = rng.random((2, 1, 5, 5)) > 0.5
        m[..., 1] = True
        kwargs["attn_mask"], tkwargs["attn_mask"] = Tensor(m), torch.tensor(m)
    elif mask == "float":
        f = rng.standard_normal((5, 5))
        kwargs["attn_mask"], tkwargs["attn_mask"] = Tensor(f, dtype=np.float64), torch.tensor(f)
    elif mask == "causal":
        kwargs["is_causal"] = tkwargs["is_causal"] = True
    out = scaled_dot_product_attention(q, k, v, **kwargs)  # type: ignore[arg-type]
    ref = F.scaled_dot_product_attention(tq, tk, tv, **tkwargs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    ref.backward(torch.tensor(g))
    for ours, theirs in ((q, tq), (k, tk), (v, tv)):
        assert ours.grad is not None
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-10)


def copy_mha(ref: Any, ours: MultiheadAttention) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_outputs_weights_and_gradients(batch_first: bool, average: bool) -> None:
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=batch_first)
    ours = MultiheadAttention(16, 4, batch_first=batch_first)
    copy_mha(ref, ours)
    shape = (3, 7, 16) if batch_first else (7, 3, 16)
    x = rng.standard_normal(shape).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ox = Tensor(x, requires_grad=True)
    pad = np.zeros((3, 7), dtype=bool)
    pad[1, 5:] = True
    causal = np.triu(np.ones((7, 7), dtype=bool), 1)
    ref_out, ref_w = ref(
        tx,
        tx,
        tx,
        key_padding_mask=torch.tensor(pad),
        attn_mask=torch.tensor(causal),
        average_attn_weights=average,
    )
    out, w = ours(
        ox,
        ox,
        ox,
        key_padding_mask=Tensor(pad),
        attn_mask=Tensor(causal),
        average_attn_weights=average,
    )
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=2e-6)
    assert w is not None
    np.testing.assert_allclose(w.data, ref_w.detach().numpy(), atol=2e-6)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(Tensor(g))
    ref_out.backward(torch.tensor(g))
    assert ox.grad is not None
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), atol=2e-5)
    for name, p in ours.named_parameters():
        tp = dict(ref.named_parameters())[name]
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), atol=5e-5, err_msg=name)


def test_mha_cross_attention_float_masks_unbatched() -> None:
    torch.manual_seed(1)
    ref = torch.nn.MultiheadAttention(8, 2, bias=False)
    ours = MultiheadAttention(8, 2, bias=False)
    copy_mha(ref, ours)
    q, k = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((6, 8))
    k = k.astype(np.float32)
    bias = rng.standard_normal((4, 6)).astype(np.float32)
    ref_out, ref_w = ref(
        torch.tensor(q), torch.tensor(k), torch.tensor(k), attn_mask=torch.tensor(bias)
    )
    out, w = ours(Tensor(q), Tensor(k), Tensor(k), attn_mask=Tensor(bias))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=2e-6)
    assert w is not None
    np.testing.assert_allclose(w.data, ref_w.detach().numpy(), atol=2e-6)
