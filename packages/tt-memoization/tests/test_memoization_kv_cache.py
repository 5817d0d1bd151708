import numpy as np
import pytest
from tt_memoization import KVCache, forward_cached, offset_causal_mask
from tt_tensor import Tensor, manual_seed
from tt_transformers import GPT

rng = np.random.default_rng(0)


def tiny(**kw: object) -> GPT:
    manual_seed(0)
    args: dict[str, object] = {
        "vocab_size": 11,
        "block_size": 12,
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 16,
    }
    args.update(kw)
    model = GPT(**args)  # type: ignore[arg-type]
    model.eval()
    return model


def kv(b: int, t: int, h: int = 2, d: int = 4) -> np.ndarray:
    return rng.standard_normal((b, h, t, d)).astype(np.float32)


def test_preallocated_layout_and_positions() -> None:
    cache = KVCache(n_layer=3, batch_size=2, n_head=2, max_len=6, head_dim=4)
    assert len(cache.keys) == len(cache.values) == 3
    assert all(a.shape == (2, 2, 6, 4) and a.dtype == np.float32 for a in cache.keys)
    assert cache.nbytes == 2 * 3 * 2 * 2 * 6 * 4 * 4
    first_k, first_v = kv(2, 3), kv(2, 3)
    storage = cache.keys[0]
    k, v = cache.update(0, first_k, first_v)
    assert cache.keys[0] is storage  # written in place, no reallocation
    assert k.shape == (2, 2, 3, 4) and np.shares_memory(k, storage)
    np.testing.assert_array_equal(k, first_k)
    np.testing.assert_array_equal(v, first_v)
    assert cache.lengths == (3, 0, 0) and cache.seq_len == 0  # layer 0 ahead mid-pass
    for layer in (1, 2):
        cache.update(layer, kv(2, 3), kv(2, 3))
    assert cache.seq_len == len(cache) == 3 and cache.remaining == 3
    nk, nv = kv(2, 1), kv(2, 1)
    k, v = cache.update(0, nk, nv)
    assert k.shape == (2, 2, 4, 4)
    np.testing.assert_array_equal(k[:, :, :3], first_k)  # earlier positions untouched
    np.testing.assert_array_equal(k[:, :, 3:], nk)  # the new one at position 3
    np.testing.assert_array_equal(v[:, :, 3:], nv)
    gk, gv = cache.get(0)
    np.testing.assert_array_equal(gk, k)
    np.testing.assert_array_equal(gv, v)
    cache.crop(2)
    assert cache.lengths == (2, 2, 2)
    cache.reset()
    assert cache.lengths == (0, 0, 0) and cache.get(1)[0].shape == (2, 2, 0, 4)


def test_overflow_names_the_lengths_and_changes_nothing() -> None:
    cache = KVCache(1, 1, 2, 5, 4)
    cache.update(0, kv(1, 4), kv(1, 4))
    with pytest.raises(ValueError, match=r"4 cached \+ 2 new positions = 6 > max_len=5"):
        cache.update(0, kv(1, 2), kv(1, 2))
    assert cache.lengths == (4,)
    cache.update(0, kv(1, 1), kv(1, 1))
    assert cache.remaining == 0
    with pytest.raises(ValueError, match="max_len=5"):
        cache.check_fits(1)


def test_shape_and_argument_errors() -> None:
    cache = KVCache(2, 2, 2, 5, 4)
    with pytest.raises(ValueError, match=r"batch=2, heads=2, T, head_dim=4.*\(1, 2, 1, 4\)"):
        cache.update(0, kv(1, 1), kv(1, 1))
    with pytest.raises(ValueError, match="differ"):
        cache.update(0, kv(2, 1), kv(2, 2))
    with pytest.raises(IndexError, match="layer 2 out of range"):
        cache.update(2, kv(2, 1), kv(2, 1))
    with pytest.raises(ValueError, match="max_len"):
        KVCache(1, 1, 1, 0, 1)
    with pytest.raises(TypeError, match="floating"):
        KVCache(1, 1, 1, 1, 1, dtype=np.int32)
    with pytest.raises(ValueError, match="crop"):
        cache.crop(1)


def test_for_model() -> None:
    model = tiny(n_layer=3, n_head=4, n_embd=32)
    cache = KVCache.for_model(model, batch_size=5)
    assert (cache.n_layer, cache.batch_size, cache.n_head, cache.max_len, cache.head_dim) == (
        3,
        5,
        4,
        12,
        8,
    )
    assert KVCache.for_model(model, 1, max_len=7).max_len == 7
    with pytest.raises(ValueError, match="max_len=13 exceeds the model's block_size=12"):
        KVCache.for_model(model, 1, max_len=13)


def test_offset_causal_mask() -> None:
    np.testing.assert_array_equal(offset_causal_mask(3, 0), np.tril(np.ones((3, 3), bool)))
    m = offset_causal_mask(2, 3)
    np.testing.assert_array_equal(m, [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    assert not m.flags.writeable
    assert offset_causal_mask(2, 3) is m  # memoized


@pytest.mark.parametrize("batch", [1, 3])
def test_forward_cached_matches_full_forward(batch: int) -> None:
    """Prefill 5 positions, then 1, then 3, then 1: every position's logits equal the full
    forward's, so positions and the causal mask are right at every offset."""
    model = tiny()
    ids = rng.integers(0, 11, (batch, 10))
    full, _ = model(Tensor(ids))
    cache = KVCache.for_model(model, batch)
    pieces = []
    start = 0
    for size in (5, 1, 3, 1):
        logits = forward_cached(model, Tensor(ids[:, start : start + size]), cache)
        assert logits.shape == (batch, size, 11)
        pieces.append(logits.data)
        start += size
        assert cache.lengths == (start, start)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full.data, atol=1e-5, rtol=0)
    # keys really are stored per position: layer 0's keys equal a fresh 10-token prefill's
    fresh = KVCache.for_model(model, batch)
    forward_cached(model, Tensor(ids), fresh)
    np.testing.assert_allclose(cache.get(0)[0], fresh.get(0)[0], atol=1e-6)
    last = forward_cached(model, Tensor(ids[:, :2]), KVCache.for_model(model, batch), True)
    assert last.shape == (batch, 1, 11)
    np.testing.assert_allclose(last.data[:, 0], full.data[:, 1], atol=1e-5, rtol=0)


def test_forward_cached_refuses_cleanly() -> None:
    model = tiny()
    cache = KVCache.for_model(model, 2, max_len=4)
    forward_cached(model, Tensor(rng.integers(0, 11, (2, 3))), cache)
    with pytest.raises(ValueError, match=r"3 cached \+ 2 new positions = 5 > max_len=4"):
        forward_cached(model, Tensor(rng.integers(0, 11, (2, 2))), cache)
    assert cache.lengths == (3, 3)  # nothing was written
    with pytest.raises(ValueError, match="batch size 1 but the KV cache was built for 2"):
        forward_cached(model, Tensor(rng.integers(0, 11, (1, 1))), cache)
    with pytest.raises(ValueError, match="3 blocks but the cache 2"):
        forward_cached(tiny(n_layer=3), Tensor(rng.integers(0, 11, (2, 1))), cache)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        forward_cached(model, Tensor(rng.integers(0, 11, (2,))), cache)
