from typing import Any

import numpy as np
import pytest
from tt_tensor import Tensor
from tt_transformers import GPT, Block, LayerNorm

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")
nn = torch.nn
rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(8,), (3, 8)])
def test_layer_norm_forward_and_gradients(shape: tuple[int, ...]) -> None:
    ref = nn.LayerNorm(shape)
    with torch.no_grad():
        ref.weight.normal_()
        ref.bias.normal_()
    ours = LayerNorm(shape)
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = (rng.standard_normal((4, 3, 8)) * 3 + 1).astype(np.float32)
    tx, ox = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out, ref_out = ours(ox), ref(tx)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-5)
    out.backward(Tensor(g))
    ref_out.backward(torch.tensor(g))
    assert ox.grad is not None and ours.weight is not None and ours.bias is not None
    assert ours.weight.grad is not None and ours.bias.grad is not None
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(ours.weight.grad.data, ref.weight.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(ours.bias.grad.data, ref.bias.grad.numpy(), atol=1e-4)


class TorchBlock(nn.Module):  # type: ignore[misc,name-defined]
    """The same pre-norm block written with PyTorch modules (nanoGPT's, with nn.MHA)."""

    def __init__(self, c: int, h: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c)
        self.attn = nn.MultiheadAttention(c, h, batch_first=True)
        self.ln_2 = nn.LayerNorm(c)
        self.mlp = nn.ModuleDict({"c_fc": nn.Linear(c, 4 * c), "c_proj": nn.Linear(4 * c, c)})

    def forward(self, x: Any) -> Any:
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        h = self.ln_1(x)
        a, _ = self.attn(h, h, h, need_weights=False, attn_mask=mask, is_causal=True)
        x = x + a
        mlp = self.mlp["c_proj"](nn.functional.gelu(self.mlp["c_fc"](self.ln_2(x))))
        return x + mlp


def test_block_forward_and_gradients() -> None:
    torch.manual_seed(0)
    ref = TorchBlock(32, 4)
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.2)
    ours = Block(32, 4)
    missing = ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert missing.missing_keys == [] and missing.unexpected_keys == []
    x = rng.standard_normal((3, 10, 32)).astype(np.float32)
    tx, ox = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    out, ref_out = ours(ox), ref(tx)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=2e-5)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out.backward(Tensor(g))
    ref_out.backward(torch.tensor(g))
    assert ox.grad is not None
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), atol=1e-4)
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        scale = float(np.abs(theirs[name].grad.numpy()).max())
        np.testing.assert_allclose(
            p.grad.data, theirs[name].grad.numpy(), atol=1e-4 * scale, err_msg=name
        )


def test_gpt_loss_matches_torch_model_with_copied_weights() -> None:
    ours = GPT(13, 8, n_layer=2, n_head=2, n_embd=16)
    blocks = [TorchBlock(16, 2) for _ in range(2)]
    wte = nn.Embedding(13, 16)
    wpe = nn.Embedding(8, 16)
    ln_f = nn.LayerNorm(16)
    sd = ours.state_dict()
    with torch.no_grad():
        wte.weight.copy_(torch.tensor(sd["wte.weight"].data))
        wpe.weight.copy_(torch.tensor(sd["wpe.weight"].data))
        for i, b in enumerate(blocks):
            for k, v in b.state_dict().items():
                v.copy_(torch.tensor(sd[f"h.{i}.{k}"].data))
    idx = rng.integers(0, 13, (2, 8))
    ti = torch.tensor(idx)
    x = wte(ti) + wpe(torch.arange(8))
    for b in blocks:
        x = b(x)
    logits = ln_f(x) @ wte.weight.T
    ref_loss = nn.functional.cross_entropy(logits.reshape(-1, 13), ti.reshape(-1))
    out, loss = ours(Tensor(idx), Tensor(idx))
    np.testing.assert_allclose(out.data, logits.detach().numpy(), atol=1e-5)
    assert loss is not None
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)


@pytest.mark.parametrize(("norm_first", "activation"), [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_layer(norm_first: bool, activation: str) -> None:
    from tt_transformers import TransformerEncoderLayer

    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(
        16, 4, dim_feedforward=32, dropout=0.0, activation=activation, norm_first=norm_first
    )
    ref.eval()
    ours = TransformerEncoderLayer(
        16, 4, dim_feedforward=32, dropout=0.0, activation=activation, norm_first=norm_first
    )
    keys = ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert keys.missing_keys == [] and keys.unexpected_keys == []
    x = rng.standard_normal((6, 2, 16)).astype(np.float32)  # (L, N, E): batch_first=False
    pad = np.zeros((2, 6), dtype=bool)
    pad[1, 4:] = True
    tx, ox = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    ref_out = ref(tx, src_key_padding_mask=torch.tensor(pad))  # requires grad: no fast path
    out = ours(ox, src_key_padding_mask=Tensor(pad))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=2e-5)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out.backward(Tensor(g))
    ref_out.backward(torch.tensor(g))
    assert ox.grad is not None
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), atol=1e-4)
