"""Loss modules: `CrossEntropyLoss()`, `MSELoss()`, ... as in `torch.nn`.

Like tt-activations' modules they are *module-likes* rather than subclasses of
tt-layers' `Module` (module 04 does not depend on module 03): they have
`forward`, a `__call__` that runs forward hooks, `training` with
`train()`/`eval()`, and PyTorch's repr, which is all tt-layers asks of a submodule.
The class `weight`/`pos_weight` are plain attributes, not registered buffers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self

from tt_tensor import Tensor

from . import functional as F

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Loss",
    "MSELoss",
    "NLLLoss",
]

ForwardHook = Callable[[Any, tuple[Any, ...], Any], Any]
ForwardPreHook = Callable[[Any, tuple[Any, ...]], Any]


class _Handle:
    """Returned by `register_forward_hook`: `handle.remove()` unregisters the hook."""

    _ids: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, hooks: dict[int, Any]) -> None:
        self.hooks = hooks
        self.id = next(_Handle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Loss:
    """Base of the loss modules: `reduction`, forward hooks, train/eval, repr."""

    training: bool

    def __init__(self, reduction: str = "mean") -> None:
        F._check_reduction(reduction)
        self.reduction = reduction
        self.training = True
        self._forward_hooks: dict[int, ForwardHook] = {}
        self._forward_pre_hooks: dict[int, ForwardPreHook] = {}

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, input: Tensor, target: Tensor) -> Tensor:
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(input, target)
        args: tuple[Any, ...] = (input, target)
        for pre in list(self._forward_pre_hooks.values()):
            new = pre(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        out = self.forward(*args)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out

    def register_forward_hook(self, hook: ForwardHook) -> _Handle:
        handle = _Handle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> _Handle:
        handle = _Handle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def train(self, mode: bool = True) -> Self:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        return self

    def eval(self) -> Self:
        return self.train(False)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """None: losses have no parameters."""
        return iter(())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MSELoss(Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(Loss):
    def __init__(
        self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(Loss):
    """Logits (N, C, ...) against class indices (N, ...) or class probabilities (N, C, ...)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class BCELoss(Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(Loss):
    def __init__(
        self,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
