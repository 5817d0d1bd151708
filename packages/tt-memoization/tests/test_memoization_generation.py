import numpy as np
import pytest
from tt_autograd import no_grad
from tt_memoization import benchmark_generation, cached_generate, recompute_generate
from tt_tensor import Tensor, manual_seed
from tt_transformers import GPT

VOCAB = 13


def tiny(block_size: int = 24) -> GPT:
    manual_seed(0)
    model = GPT(VOCAB, block_size, n_layer=2, n_head=2, n_embd=16)
    # Weights 4x nanoGPT's init so the next-token distributions are far from
    # uniform and the sampled ids really depend on the logits.
    for p in model.parameters():
        p.data *= 4.0
    return model


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("prompt_len", [1, 7])
@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, None), (0.8, 5), (0.0, None)])
def test_cached_equals_uncached(
    batch: int, prompt_len: int, temperature: float, top_k: int | None
) -> None:
    model = tiny()
    prompt = Tensor(
        np.random.default_rng(batch * 10 + prompt_len).integers(0, VOCAB, (batch, prompt_len))
    )
    new = 24 - prompt_len  # fills the context exactly: the cache path all the way
    cached_logits: list[np.ndarray] = []
    full_logits: list[np.ndarray] = []
    cached = cached_generate(model, prompt, new, temperature, top_k, 7, step_logits=cached_logits)
    full = recompute_generate(model, prompt, new, temperature, top_k, 7, step_logits=full_logits)
    own = model.generate(prompt, new, temperature, top_k, 7)
    assert cached.shape == (batch, prompt_len + new)
    np.testing.assert_array_equal(cached.data, own.data)
    np.testing.assert_array_equal(cached.data, full.data)
    np.testing.assert_array_equal(cached.data[:, :prompt_len], prompt.data)
    assert len(cached_logits) == len(full_logits) == new
    for step, (a, b) in enumerate(zip(cached_logits, full_logits, strict=True)):
        assert a.shape == (batch, VOCAB)
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0, err_msg=f"step {step}")
    # and against a plain loop written here: the model's full forward over each prefix
    model.eval()
    with no_grad():
        for step, a in enumerate(cached_logits):
            ref, _ = model(Tensor(cached.data[:, : prompt_len + step]))
            np.testing.assert_allclose(a, ref.data[:, -1], atol=1e-5, rtol=0)
    if temperature > 0:  # sampling really happened: not all rows/steps pick the argmax
        argmax = np.stack([lg.argmax(-1) for lg in full_logits], axis=1)
        assert (argmax != cached.data[:, prompt_len:]).any()


@pytest.mark.parametrize("prompt_len", [3, 30])
def test_beyond_block_size_slides_like_generate(prompt_len: int) -> None:
    model = tiny(block_size=10)
    prompt = Tensor(np.random.default_rng(3).integers(0, VOCAB, (2, prompt_len)))
    a: list[np.ndarray] = []
    b: list[np.ndarray] = []
    cached = cached_generate(model, prompt, 15, generator=11, step_logits=a)
    full = recompute_generate(model, prompt, 15, generator=11, step_logits=b)
    np.testing.assert_array_equal(cached.data, model.generate(prompt, 15, generator=11).data)
    np.testing.assert_array_equal(cached.data, full.data)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5, rtol=0)
    with pytest.raises(
        ValueError, match=r"prompt of 3 \+ 15 new tokens = 18 exceeds block_size=10"
    ):
        cached_generate(model, prompt[:, :3], 15, overflow="error")


def test_global_generator_and_modes() -> None:
    model = tiny()
    model.train()
    prompt = Tensor(np.array([[1, 2, 3]]))
    manual_seed(5)
    a = cached_generate(model, prompt, 6)
    manual_seed(5)
    b = model.generate(prompt, 6)
    np.testing.assert_array_equal(a.data, b.data)
    assert model.training  # mode restored
    # A Generator is used as is and advanced exactly as GPT.generate advances it.
    ours, theirs = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(2):
        c = cached_generate(model, prompt, 6, generator=ours)
        d = model.generate(prompt, 6, generator=theirs)
        np.testing.assert_array_equal(c.data, d.data)
    assert ours.random() == theirs.random()
    assert cached_generate(model, prompt, 0).data.tolist() == [[1, 2, 3]]


def test_argument_errors() -> None:
    model = tiny()
    prompt = Tensor(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="temperature"):
        cached_generate(model, prompt, 2, temperature=-1.0)
    with pytest.raises(ValueError, match="top_k"):
        cached_generate(model, prompt, 2, top_k=0)
    with pytest.raises(ValueError, match="overflow"):
        cached_generate(model, prompt, 2, overflow="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        cached_generate(model, Tensor(np.array([1, 2])), 2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        cached_generate(model, prompt, -1)


def test_benchmark_generation_measures_both_paths() -> None:
    model = tiny(block_size=40)
    prompt = Tensor(np.random.default_rng(0).integers(0, VOCAB, (2, 4)))
    (timing,) = benchmark_generation(model, prompt, (30,), rounds=2, seed=3)
    assert timing.same_tokens
    assert (timing.new_tokens, timing.batch_size, timing.prompt_len) == (30, 2, 4)
    assert timing.cached.count == timing.uncached.count == 2
    assert timing.cached_tokens_per_s == pytest.approx(60 / timing.cached.median)
    assert timing.speedup == pytest.approx(timing.uncached.median / timing.cached.median)
    assert timing.to_dict()["same_tokens"] is True
    with pytest.raises(ValueError, match="rounds"):
        benchmark_generation(model, prompt, (2,), rounds=0)
