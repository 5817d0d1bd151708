import math
from pathlib import Path

import numpy as np
import pytest
import tt_autograd
from tt_tensor import Tensor, load, manual_seed, save
from tt_transformers import GPT, Block

rng = np.random.default_rng(0)


def small(**kw: object) -> GPT:
    manual_seed(0)
    args: dict[str, object] = {
        "vocab_size": 11,
        "block_size": 8,
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 16,
    }
    args.update(kw)
    return GPT(**args)  # type: ignore[arg-type]


def test_forward_shapes_and_initial_loss() -> None:
    model = small()
    idx = Tensor(rng.integers(0, 11, (3, 8)))
    logits, loss = model(idx, Tensor(rng.integers(0, 11, (3, 8))))
    assert logits.shape == (3, 8, 11)
    assert loss is not None
    assert abs(loss.item() - math.log(11)) < 0.1  # N(0, 0.02) init: nearly uniform
    logits2, none = model(Tensor(rng.integers(0, 11, (2, 5))))
    assert logits2.shape == (2, 5, 11) and none is None


def test_ignored_targets() -> None:
    model = small()
    idx = Tensor(rng.integers(0, 11, (2, 6)))
    tgt = idx.data.copy()
    tgt[:, 3:] = -1
    _, full = model(Tensor(idx.data[:, :3]), Tensor(tgt[:, :3]))
    _, masked = model(idx, Tensor(tgt))
    assert full is not None and masked is not None
    assert masked.item() == pytest.approx(full.item(), rel=1e-5)  # causal: later ids don't matter


def test_nanogpt_initialisation_and_tying() -> None:
    model = small(n_layer=3, n_embd=64, vocab_size=300)
    assert model.lm_head.weight is model.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # shared, listed once
    assert "lm_head.weight" in model.state_dict()
    assert abs(float(model.wte.weight.data.std()) - 0.02) < 0.002
    block = model.blocks()[0]
    resid = 0.02 / math.sqrt(2 * 3)
    assert abs(float(block.mlp.c_proj.weight.data.std()) - resid) < 0.1 * resid
    assert abs(float(block.attn.out_proj.weight.data.std()) - resid) < 0.1 * resid
    assert abs(float(block.attn.in_proj_weight.data.std()) - 0.02) < 0.002
    assert block.mlp.c_fc.bias is not None and not block.mlp.c_fc.bias.data.any()
    untied = small(tie_weights=False)
    assert untied.lm_head.weight is not untied.wte.weight
    counted = model.num_parameters(non_embedding=False) - model.num_parameters()
    assert counted == model.wpe.weight.numel()


def test_block_is_causal() -> None:
    manual_seed(0)
    block = Block(16, 4)
    x = rng.standard_normal((2, 6, 16)).astype(np.float32)
    y = x.copy()
    y[:, 4:] += 1.0
    a, b = block(Tensor(x)).data, block(Tensor(y)).data
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_block_gradcheck() -> None:
    manual_seed(0)
    block = Block(8, 2).double()
    x = Tensor(rng.standard_normal((1, 4, 8)), dtype=np.float64, requires_grad=True)
    params = [block.ln_1.weight, block.attn.in_proj_weight, block.mlp.c_fc.weight]
    assert tt_autograd.gradcheck(lambda a, *ps: block(a), [x, *params])


def test_a_few_steps_overfit_one_batch() -> None:
    model = small(dropout=0.1)
    idx = Tensor(rng.integers(0, 11, (4, 8)))
    tgt = Tensor(np.roll(idx.data, -1, axis=1))
    params = list(model.parameters())
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    losses = []
    for step in range(1, 51):
        _, loss = model(idx, tgt)
        assert loss is not None
        model.zero_grad()
        loss.backward()
        for i, p in enumerate(params):  # Adam, written out (no optimizer dependency here)
            assert p.grad is not None
            m[i] = 0.9 * m[i] + 0.1 * p.grad.data
            v[i] = 0.999 * v[i] + 0.001 * p.grad.data**2
            p.data -= 0.01 * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_generate_is_seedable_and_respects_block_size() -> None:
    model = small()
    start = Tensor(np.zeros((2, 1), dtype=np.int64))
    a = model.generate(start, 20, generator=1)
    b = model.generate(start, 20, generator=np.random.default_rng(1))
    assert a.shape == (2, 21) and a.dtype == np.int64
    np.testing.assert_array_equal(a.data, b.data)
    manual_seed(5)
    c = model.generate(start, 20)
    manual_seed(5)
    np.testing.assert_array_equal(c.data, model.generate(start, 20).data)
    assert model.training  # restored after generation
    assert ((a.data >= 0) & (a.data < 11)).all()


def test_greedy_and_top_k() -> None:
    model = small()
    start = Tensor(np.array([[3, 4]]))
    greedy = model.generate(start, 5, temperature=0)
    top1 = model.generate(start, 5, top_k=1, generator=0)
    np.testing.assert_array_equal(greedy.data, top1.data)
    logits, _ = model(start)
    assert greedy.data[0, 2] == int(logits.data[0, -1].argmax())
    with pytest.raises(ValueError, match="top_k"):
        model.generate(start, 1, top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(start, 1, temperature=-1)


def test_too_long_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="block size is only 8"):
        small()(Tensor(np.zeros((1, 9), dtype=np.int64)))
    with pytest.raises(ValueError, match="divisible"):
        GPT(10, 8, 1, 3, 16)


def test_weights_roundtrip_through_safetensors(tmp_path: Path) -> None:
    model = small()
    path = tmp_path / "gpt.safetensors"
    save(model.state_dict(), path)
    other = small()
    for p in other.parameters():
        p.data[...] = 0
    other.load_state_dict(load(path))
    idx = Tensor(rng.integers(0, 11, (1, 8)))
    np.testing.assert_array_equal(model(idx)[0].data, other(idx)[0].data)


def test_param_groups_split_matrices_from_vectors() -> None:
    model = small()
    decay, no_decay = model.param_groups(0.1)
    assert all(p.ndim >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.ndim == 1 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
