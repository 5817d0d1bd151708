"""Low-rank factorization of Linear layers by truncated SVD.

A weight W (out x in) = U S V^T. Keeping the r largest singular values gives
the best rank-r approximation (Eckart-Young), and

    x @ W^T  ~  (x @ (sqrt(S_r) V_r^T)^T) @ (U_r sqrt(S_r))^T

is two Linears, in -> r (no bias) and r -> out (with W's bias), costing
r * (in + out) weights instead of in * out. The split of S between the two
factors is symmetric so neither factor has a huge scale (better for fine-tuning).
The rank is given outright or chosen as the smallest r that keeps a fraction
`energy` of sum(S^2), i.e. of the squared Frobenius norm of W.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from tt_layers import Linear, Module, Parameter, Sequential

M = TypeVar("M", bound=Module)


@dataclass(frozen=True)
class Factorization:
    """What `low_rank_factorize` did to one layer."""

    name: str
    in_features: int
    out_features: int
    rank: int
    energy_kept: float
    relative_error: float  # ||W - W_r||_F / ||W||_F

    @property
    def params_before(self) -> int:
        return self.in_features * self.out_features

    @property
    def params_after(self) -> int:
        return self.rank * (self.in_features + self.out_features)


def choose_rank(
    singular_values: np.ndarray[tuple[int], np.dtype[np.floating]], energy: float
) -> int:
    """Smallest r whose top-r singular values keep `energy` of sum(S^2)."""
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    s2 = singular_values.astype(np.float64) ** 2
    total = s2.sum()
    if total == 0:
        return 1
    kept = np.cumsum(s2) / total
    return int(np.searchsorted(kept, energy - 1e-12) + 1)


def factorize_linear(
    linear: Linear, rank: int | None = None, energy: float = 0.9, name: str = ""
) -> tuple[Sequential, Factorization]:
    """Two Linears (in -> r -> out) approximating `linear` with a rank-r weight."""
    w = linear.weight.data
    u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
    r = choose_rank(s, energy) if rank is None else rank
    if not isinstance(r, int) or not 1 <= r <= s.size:
        raise ValueError(
            f"rank must be an int in [1, {s.size}] for a weight of shape {tuple(w.shape)}, "
            f"got {r!r}"
        )
    root = np.sqrt(s[:r])
    first = Linear(linear.in_features, r, bias=False)
    second = Linear(r, linear.out_features, bias=linear.bias is not None)
    first.weight = Parameter((root[:, None] * vt[:r]).astype(w.dtype))
    second.weight = Parameter((u[:, :r] * root[None, :]).astype(w.dtype))
    if linear.bias is not None:
        second.bias = Parameter(linear.bias.data.copy())
    norm = float(np.sqrt((s**2).sum()))
    tail = float(np.sqrt((s[r:] ** 2).sum()))
    kept = 1.0 if norm == 0 else float((s[:r] ** 2).sum() / (s**2).sum())
    info = Factorization(
        name, linear.in_features, linear.out_features, r, kept, 0.0 if norm == 0 else tail / norm
    )
    return Sequential(first, second), info


def low_rank_factorize(
    model: M,
    rank: int | None = None,
    energy: float = 0.9,
    *,
    only_if_smaller: bool = True,
    inplace: bool = False,
) -> tuple[M, list[Factorization]]:
    """Replace every Linear of `model` by its rank-r factorization.

    With `only_if_smaller` a layer is left alone when r * (in + out) >= in * out
    (the factorization would not save anything). Returns the new model and one
    `Factorization` record per replaced layer.
    """
    root: Module = model if inplace else copy.deepcopy(model)
    targets = [(n, m) for n, m in root.named_modules() if type(m) is Linear]
    done: list[Factorization] = []
    for name, layer in targets:
        r = rank if rank is None else min(rank, layer.in_features, layer.out_features)
        new, info = factorize_linear(layer, r, energy, name)
        if only_if_smaller and info.params_after >= info.params_before:
            continue
        done.append(info)
        if name == "":
            root = new
        else:
            parent, _, leaf = name.rpartition(".")
            setattr(root.get_submodule(parent), leaf, new)
    return root, done  # type: ignore[return-value]
