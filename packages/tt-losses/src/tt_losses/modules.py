"""Loss modules: `CrossEntropyLoss()`, `MSELoss()`, ... as in `torch.nn`.

Like tt-activations' modules they are *module-likes* rather than subclasses of
tt-layers' `Module` (module 04 does not depend on module 03): they have
`forward`, a `__call__` that runs forward hooks, `training` with
`train()`/`eval()`, and PyTorch's repr, which is all tt-layers asks of a submodule
(the same `tt_tensor.hooks.HookedModuleLike` base).
The class `weight`/`pos_weight` are plain attributes, not registered buffers.
"""

from __future__ import annotations

from tt_tensor import Tensor
from tt_tensor.hooks import HookedModuleLike

from . import functional as F

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Loss",
    "MSELoss",
    "NLLLoss",
]


class Loss(HookedModuleLike):
    """Base of the loss modules: `reduction`, forward hooks, train/eval, repr."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, input: Tensor, target: Tensor) -> Tensor:
        out: Tensor = self._call(input, target)
        return out


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
