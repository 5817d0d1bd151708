"""A GPT: token + position embeddings, a stack of pre-norm decoder blocks, a head.

The layout and initialisation follow nanoGPT (Karpathy, 2022), itself GPT-2:
every block is

    x = x + Dropout(CausalSelfAttention(LayerNorm(x)))
    x = x + MLP(LayerNorm(x))           MLP = Linear(C, 4C) -> GELU -> Linear(4C, C) -> Dropout

Normalising *before* each sub-layer keeps the residual stream an untouched
sum, which is why deep stacks train without warm-up tricks. Weights start at
N(0, 0.02), and the two projections that write into the residual stream start
at N(0, 0.02 / sqrt(2 * n_layer)) so the stream's variance does not grow with depth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from tt_activations import GELU
from tt_attention import MultiheadAttention
from tt_autograd import no_grad
from tt_embeddings import Embedding, LearnedPositionalEmbedding
from tt_layers import Dropout, Linear, Module, ModuleList, init
from tt_losses import cross_entropy
from tt_tensor import Tensor, generator

from .layer_norm import LayerNorm


class MLP(Module):
    """The feed-forward half of a block: expand 4x, GELU, project back."""

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = GELU()
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])  # (B*T, C): one matrix product per Linear, not B
        out: Tensor = self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
        return out.reshape(shape)


class Block(Module):
    """A pre-norm decoder block: causal self-attention and an MLP, each on a residual.

    Attention is tt-attention's `MultiheadAttention` (PyTorch's parameter layout,
    batch first) with the causal mask, so a block maps to PyTorch modules one to one.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = MultiheadAttention(n_embd, n_head, dropout=dropout, bias=bias, batch_first=True)
        self.resid_dropout = Dropout(dropout)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.ln_1(x)
        a, _ = self.attn(h, h, h, need_weights=False, is_causal=True)
        x = x + self.resid_dropout(a)
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out


class GPT(Module):
    """A decoder-only transformer language model.

    ``forward(idx, targets=None)`` maps ids (B, T) with T <= block_size to logits
    (B, T, vocab_size) and, given targets (B, T), the mean cross-entropy (targets
    equal to -1 are ignored, as in nanoGPT). ``tie_weights`` shares the token
    embedding with the output head (GPT-2 does; it saves vocab_size * n_embd weights).
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int = 4,
        n_head: int = 4,
        n_embd: int = 128,
        dropout: float = 0.0,
        bias: bool = True,
        tie_weights: bool = True,
    ) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd={n_embd} must be divisible by n_head={n_head}")
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.wte = Embedding(vocab_size, n_embd)
        self.wpe = LearnedPositionalEmbedding(block_size, n_embd)
        self.drop = Dropout(dropout)
        self.h = ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd, bias=bias)
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        self.tie_weights = tie_weights
        if tie_weights:
            self.lm_head.weight = self.wte.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nanoGPT's initialisation (see the module docstring)."""
        for m in self.modules():
            if isinstance(m, Linear):
                init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, Embedding | LearnedPositionalEmbedding):
                init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, MultiheadAttention):
                init.normal_(m.in_proj_weight, 0.0, 0.02)
                if m.in_proj_bias is not None:
                    init.zeros_(m.in_proj_bias)
        resid_std = 0.02 / math.sqrt(2 * self.n_layer)
        for block in self.blocks():
            init.normal_(block.attn.out_proj.weight, 0.0, resid_std)
            init.normal_(block.mlp.c_proj.weight, 0.0, resid_std)

    def blocks(self) -> list[Block]:
        return [b for b in self.h if isinstance(b, Block)]

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count; by default without the position table (nanoGPT's convention)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if idx.ndim != 2:
            raise ValueError(f"GPT expects token ids of shape (B, T), got {tuple(idx.shape)}")
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(
                f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
            )
        x = self.drop(self.wte(idx) + self.wpe(idx))
        for block in self.h:
            x = block(x)
        b, c = x.shape[0], x.shape[-1]
        logits: Tensor = self.lm_head(self.ln_f(x).reshape(b * t, c)).reshape(b, t, -1)
        if targets is None:
            return logits, None
        loss = cross_entropy(
            logits.reshape(-1, self.vocab_size), targets.reshape(-1), ignore_index=-1
        )
        return logits, loss

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """Parameter groups for AdamW, as nanoGPT's configure_optimizers builds them:
        matrices (2-D and up: weights, embeddings) decay, biases and norm gains do not."""
        params = list(self.parameters())
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: np.random.Generator | int | None = None,
    ) -> Tensor:
        """Extend each row of `idx` (B, T) by sampling `max_new_tokens` ids, one at a time.

        `temperature` divides the logits (0 means greedy), `top_k` keeps only the k
        most likely ids. Sampling draws from `generator` (a NumPy Generator or a
        seed), else from tt-tensor's global generator, so `manual_seed` makes it
        repeatable. Runs in evaluation mode (no dropout) and restores the mode after.
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if top_k is not None and top_k <= 0:
            raise ValueError(f"top_k must be positive, got {top_k}")
        rng = _rng(generator)
        ids = np.asarray(idx.data, dtype=np.int64)
        if ids.ndim != 2:
            raise ValueError(f"generate expects ids of shape (B, T), got {ids.shape}")
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits, _ = self(Tensor(ids[:, -self.block_size :]))
                    nxt = sample_next(logits.data[:, -1, :], temperature, top_k, rng)
                    ids = np.concatenate([ids, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor(ids)

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
            f"tie_weights={self.tie_weights}"
        )


def _rng(seed: np.random.Generator | int | None) -> np.random.Generator:
    if seed is None:
        return generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def sample_next(
    logits: np.ndarray[Any, Any],
    temperature: float,
    top_k: int | None,
    rng: np.random.Generator,
) -> np.ndarray[Any, Any]:
    """One id per row of `logits` (B, vocab) from softmax(logits / temperature) restricted
    to the top k; temperature 0 is greedy. One uniform draw from `rng` per row (inverse
    CDF), in float64, so any generator that samples with it (GPT.generate, tt-memoization's
    cached generation) gives the same ids for the same logits and seed."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return np.asarray(logits.argmax(axis=-1))
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((logits.shape[0], 1)) * cdf[:, -1:]
    return np.asarray(np.minimum((cdf <= u).sum(axis=-1), logits.shape[-1] - 1))


__all__ = ["GPT", "MLP", "Block", "sample_next"]
