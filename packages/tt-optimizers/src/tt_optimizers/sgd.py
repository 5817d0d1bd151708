"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD)."""

from __future__ import annotations

from typing import Any

from tt_tensor import Tensor

from .optimizer import Optimizer, ParamGroup, ParamsT, check_nonnegative


class SGD(Optimizer):
    """Stochastic gradient descent, rule for rule as `torch.optim.SGD`.

    With momentum μ, dampening τ and weight decay λ, each step does::

        g = ∇p + λ·p                       (weight decay folded into the gradient)
        b = g                    on the first step, else   b = μ·b + (1-τ)·g
        g = g + μ·b  (nesterov)  or   g = b
        p = p - lr·g

    so the momentum buffer starts at the first gradient, not at zero.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: ParamGroup) -> None:
        check_nonnegative("lr", group["lr"], "learning rate")
        check_nonnegative("momentum", group["momentum"], "momentum value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, group: ParamGroup, params: list[Tensor]) -> None:
        lr: Any = group["lr"]
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p in params:
            g = self._grad(p, group["maximize"])
            if weight_decay != 0:
                g = g + weight_decay * p.data
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor(g.copy())
                else:
                    b = buf.data
                    b *= momentum
                    b += (1 - dampening) * g
                g = g + momentum * buf.data if nesterov else buf.data
            p.data -= lr * g
