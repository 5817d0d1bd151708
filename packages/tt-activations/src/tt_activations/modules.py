"""Activation modules: `ReLU()`, `Softmax(dim=1)`, ... as in `torch.nn`.

They cannot subclass tt-layers' `Module`: module 02 comes before module 03 in
the learning path. `Activation` gives them what tt-layers needs of a
submodule instead (a "module-like", from `tt_tensor.hooks`, shared with
tt-losses): `forward`, `__call__` running forward hooks, `training` with
`train()`/`eval()`, and PyTorch's `repr`. They hold no
parameters, so `parameters()` is empty. `Sequential(Linear(2, 3), ReLU())`
works and prints like PyTorch; only `isinstance(ReLU(), Module)` is False.
"""

from __future__ import annotations

from tt_tensor import Tensor
from tt_tensor.hooks import HookedModuleLike, RemovableHandle

from . import functional as F

__all__ = [
    "GELU",
    "Activation",
    "LogSoftmax",
    "ReLU",
    "RemovableHandle",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class Activation(HookedModuleLike):
    """A parameter-free module: forward, hooks, train/eval and repr, as tt-layers expects."""

    def forward(self, input: Tensor) -> Tensor:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, input: Tensor) -> Tensor:
        out: Tensor = self._call(input)
        return out


class ReLU(Activation):
    """`inplace` is accepted for compatibility; the result is always a new tensor."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return input.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Activation):
    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()


class Tanh(Activation):
    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class GELU(Activation):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"approximate argument must be either 'none' or 'tanh', got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Activation):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Activation):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
