"""Adam (with AMSGrad) and AdamW, rule for rule as `torch.optim.Adam` / `AdamW`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tt_tensor import Tensor

from .optimizer import Optimizer, ParamGroup, ParamsT, check_nonnegative


class Adam(Optimizer):
    """Adaptive moment estimation (Kingma & Ba, 2015), as PyTorch computes it.

    Per parameter, at step t (starting at 1)::

        g = ∇p + λ·p                 (L2 weight decay: Adam; AdamW decays p instead)
        m = β1·m + (1-β1)·g          (first moment, computed as a lerp like torch)
        v = β2·v + (1-β2)·g²         (second moment; AMSGrad keeps v_max = max(v_max, v))
        denom = √v / √(1-β2^t) + eps     (eps added *after* the bias correction)
        p = p - lr/(1-β1^t) · m / denom
    """

    _decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: ParamGroup) -> None:
        check_nonnegative("lr", group["lr"], "learning rate")
        check_nonnegative("eps", group["eps"], "epsilon value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        betas = group["betas"]
        if not isinstance(betas, Sequence) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, int | float) or not 0 <= beta < 1:
                raise ValueError(
                    f"Invalid beta parameter at index {i}: {beta!r} (must be in [0, 1))"
                )
        group["betas"] = tuple(betas)

    def _update(self, group: ParamGroup, params: list[Tensor]) -> None:
        lr: Any = group["lr"]
        beta1, beta2 = group["betas"]
        eps, weight_decay, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {
                    "step": 0,
                    "exp_avg": Tensor(np.zeros_like(p.data)),
                    "exp_avg_sq": Tensor(np.zeros_like(p.data)),
                }
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = Tensor(np.zeros_like(p.data))
            state["step"] += 1
            step = state["step"]

            if weight_decay != 0:
                if self._decoupled_weight_decay:
                    p.data *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * p.data

            m, v = state["exp_avg"].data, state["exp_avg_sq"].data
            w = p.data.dtype.type(1 - beta1)  # torch's lerp, in the parameter's precision
            if w < 0.5:
                m += w * (g - m)
            else:
                m[...] = g - (g - m) * (1 - w)
            v *= beta2
            v += (1 - beta2) * g * g

            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            step_size = lr / bias_correction1
            if amsgrad:
                v_max = state["max_exp_avg_sq"].data
                np.maximum(v_max, v, out=v_max)
                v = v_max
            denom = np.sqrt(v) / bias_correction2_sqrt + eps
            p.data += -step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p ← p·(1 - lr·λ) each step.

    Unlike Adam's L2 term, the decay never passes through the moment
    estimates, so it shrinks every weight at the same relative rate.
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
