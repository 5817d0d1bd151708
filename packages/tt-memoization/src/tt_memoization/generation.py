"""Cached generation for module 13's GPT, using the model's own weights and layers.

`forward_cached` runs the same computation as `GPT.forward`, layer by layer
(token + position embeddings, each block's LayerNorm, attention projections,
attention, output projection and MLP, the final LayerNorm and head), except
that each block's attention writes its new keys and values into a `KVCache`
and attends over everything stored. The GPT is walked, never modified.

Prompts are prefilled in one pass (all prompt positions at once, with a causal
mask aligned to their true positions), then tokens go through one at a time.

The context limit. GPT.generate feeds the last `block_size` tokens at every
step; once the sequence is longer, the window slides and every token changes
position, so every cached key and value (which depend on positions through
the learned position embeddings) becomes stale. `cached_generate` does the
same as GPT.generate by default (``overflow="slide"``): while the sequence
fits, one token per step through the cache; past `block_size`, it re-prefills
the last `block_size` tokens at each step, which gives the same tokens as
GPT.generate at the cost of uncached generation. ``overflow="error"`` refuses
instead, naming the lengths.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tt_attention import scaled_dot_product_attention
from tt_autograd import no_grad
from tt_tensor import Tensor
from tt_tensor import generator as global_generator
from tt_transformers import GPT, Block, sample_next

from .kv_cache import KVCache
from .memoize import memoize

Array = npt.NDArray[Any]


@memoize(maxsize=64)
def offset_causal_mask(new_len: int, past_len: int) -> Array:
    """Boolean (new_len, past_len + new_len) mask, True = may attend: query i (at absolute
    position past_len + i) sees keys 0..past_len + i. With past_len = 0 it is the usual
    lower triangle; tt-attention's `causal_mask` is top-left aligned, which is wrong once
    keys from earlier steps precede the queries. Read-only, since it is memoized."""
    q = np.arange(past_len, past_len + new_len)[:, None]
    k = np.arange(past_len + new_len)[None, :]
    mask = k <= q
    mask.flags.writeable = False
    return mask


def _attention_step(block: Block, h: Tensor, cache: KVCache, layer: int) -> Tensor:
    """`block.attn(h, h, h, is_causal=True)` for the T new positions in `h` (N, T, E),
    with the keys and values of earlier positions read from the cache."""
    attn = block.attn
    n, t, e = h.shape
    heads, hd = attn.num_heads, attn.head_dim
    past = cache.lengths[layer]
    # The in-projection exactly as MultiheadAttention._project computes it.
    qkv = h.reshape(n * t, e) @ attn.in_proj_weight.T
    if attn.in_proj_bias is not None:
        qkv = qkv + attn.in_proj_bias
    qkv = qkv.reshape(n, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
    keys, values = cache.update(layer, qkv[1].data, qkv[2].data)
    mask = None if t == 1 else Tensor(offset_causal_mask(t, past))  # one query sees all keys
    out = scaled_dot_product_attention(qkv[0], Tensor(keys), Tensor(values), attn_mask=mask)
    out = out.permute(0, 2, 1, 3).reshape(n * t, e)
    result: Tensor = attn.out_proj(out).reshape(n, t, e)
    return result


def forward_cached(model: GPT, idx: Tensor, cache: KVCache, last_only: bool = False) -> Tensor:
    """Logits (B, T, vocab) for T new ids (B, T) that follow the `cache.seq_len` positions
    already in `cache`, appending their keys and values. With `last_only`, only the last
    position's logits (B, 1, vocab): all that sampling needs.

    Call it in evaluation mode and under no_grad (as `cached_generate` does): the
    cache holds plain arrays, so nothing here is differentiable.
    """
    if not isinstance(model, GPT):
        raise TypeError(f"forward_cached expects a tt_transformers.GPT, got {type(model)}")
    if idx.ndim != 2:
        raise ValueError(f"forward_cached expects ids of shape (B, T), got {tuple(idx.shape)}")
    b, t = idx.shape
    if b != cache.batch_size:
        raise ValueError(
            f"ids have batch size {b} but the KV cache was built for {cache.batch_size}"
        )
    blocks = model.blocks()
    if len(blocks) != cache.n_layer:
        raise ValueError(f"the model has {len(blocks)} blocks but the cache {cache.n_layer} layers")
    if t == 0:
        raise ValueError("forward_cached needs at least one new token, got T=0")
    past = cache.seq_len
    if cache.lengths != (past,) * cache.n_layer:
        raise ValueError(f"KV cache layers are out of step: lengths {cache.lengths}")
    cache.check_fits(t)  # before any layer is touched, so a refused call changes nothing
    x = model.drop(model.wte(idx) + model.wpe(idx, offset=past))
    for layer, block in enumerate(blocks):
        x = x + block.resid_dropout(_attention_step(block, block.ln_1(x), cache, layer))
        x = x + block.mlp(block.ln_2(x))
    if last_only:
        x = x[:, -1:]
    tt, c = x.shape[1], x.shape[2]
    logits: Tensor = model.lm_head(model.ln_f(x).reshape(b * tt, c)).reshape(b, tt, -1)
    return logits


def resolve_generator(seed: np.random.Generator | int | None) -> np.random.Generator:
    """As GPT.generate: a Generator is used as is, an int seeds a new one, None means
    tt-tensor's global generator (so `manual_seed` makes sampling repeatable)."""
    if seed is None:
        return global_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_sampling(temperature: float, top_k: int | None, max_new_tokens: int) -> None:
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")


def _ids(idx: Tensor | Array) -> Array:
    ids = np.asarray(idx.data if isinstance(idx, Tensor) else idx, dtype=np.int64)
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"generate expects ids of shape (B, T) with T >= 1, got {ids.shape}")
    return ids


def cached_generate(
    model: GPT,
    idx: Tensor | Array,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: np.random.Generator | int | None = None,
    *,
    overflow: Literal["slide", "error"] = "slide",
    step_logits: list[Array] | None = None,
) -> Tensor:
    """`GPT.generate` with a KV cache: the same arguments, the same sampling, the same ids.

    The prompt (the last `block_size` ids of each row) is prefilled in one pass,
    then each new id costs one single-token pass. Past `block_size` tokens
    ``overflow="slide"`` re-prefills the sliding window (see the module docstring)
    and ``"error"`` raises. When `step_logits` is a list, the (B, vocab) logits
    each new id was sampled from are appended to it. Runs in evaluation mode
    under no_grad and restores the mode after.
    """
    _check_sampling(temperature, top_k, max_new_tokens)
    if overflow not in ("slide", "error"):
        raise ValueError(f"overflow must be 'slide' or 'error', got {overflow!r}")
    ids = _ids(idx)
    block = model.block_size
    total = ids.shape[1] + max_new_tokens
    if overflow == "error" and total > block:
        raise ValueError(
            f"prompt of {ids.shape[1]} + {max_new_tokens} new tokens = {total} exceeds "
            f"block_size={block} (use overflow='slide' to crop like GPT.generate)"
        )
    if max_new_tokens == 0:
        return Tensor(ids)
    rng = resolve_generator(generator)
    # The last id sampled is never fed back, so total - 1 positions are the most needed.
    cache = KVCache.for_model(model, ids.shape[0], max_len=min(total - 1, block))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits = forward_cached(model, Tensor(ids[:, -block:]), cache, last_only=True)
            for step in range(max_new_tokens):
                last = logits.data[:, -1, :]
                if step_logits is not None:
                    step_logits.append(last.copy())
                nxt = sample_next(last, temperature, top_k, rng)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
                if step == max_new_tokens - 1:
                    break
                if cache.remaining > 0:
                    logits = forward_cached(model, Tensor(nxt[:, None]), cache, last_only=True)
                else:  # the window slides: positions shift, every cached key is stale
                    cache.reset()
                    logits = forward_cached(model, Tensor(ids[:, -block:]), cache, last_only=True)
    finally:
        model.train(was_training)
    return Tensor(ids)


def recompute_generate(
    model: GPT,
    idx: Tensor | Array,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: np.random.Generator | int | None = None,
    *,
    step_logits: list[Array] | None = None,
) -> Tensor:
    """The reference without a cache: every step runs the full `model(ids[:, -block_size:])`
    and samples from the last position, as GPT.generate does, optionally recording the
    logits of every step in `step_logits` (the quantity the cached path must reproduce)."""
    _check_sampling(temperature, top_k, max_new_tokens)
    ids = _ids(idx)
    rng = resolve_generator(generator)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for _ in range(max_new_tokens):
                logits, _ = model(Tensor(ids[:, -model.block_size :]))
                last = logits.data[:, -1, :]
                if step_logits is not None:
                    step_logits.append(last.copy())
                nxt = sample_next(last, temperature, top_k, rng)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
    finally:
        model.train(was_training)
    return Tensor(ids)
