"""Activation modules: `ReLU()`, `Softmax(dim=1)`, ... as in `torch.nn`.

They cannot subclass tt-layers' `Module`: module 02 comes before module 03 in
the learning path. `Activation` gives them what tt-layers needs of a
submodule instead (a "module-like"): `forward`, `__call__` running forward
hooks, `training` with `train()`/`eval()`, and PyTorch's `repr`. They hold no
parameters, so `parameters()` is empty. `Sequential(Linear(2, 3), ReLU())`
works and prints like PyTorch; only `isinstance(ReLU(), Module)` is False.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self

from tt_tensor import Tensor

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

ForwardHook = Callable[[Any, tuple[Any, ...], Any], Any]
ForwardPreHook = Callable[[Any, tuple[Any, ...]], Any]


class RemovableHandle:
    """Returned by `register_forward_hook`: `handle.remove()` unregisters the hook."""

    _ids: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, hooks: dict[int, Any]) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Activation:
    """A parameter-free module: forward, hooks, train/eval and repr, as tt-layers expects."""

    training: bool

    def __init__(self) -> None:
        self.training = True
        self._forward_hooks: dict[int, ForwardHook] = {}
        self._forward_pre_hooks: dict[int, ForwardPreHook] = {}

    def forward(self, input: Tensor) -> Tensor:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, input: Tensor) -> Tensor:
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(input)
        args: tuple[Any, ...] = (input,)
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

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; a non-None return replaces output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> RemovableHandle:
        """`hook(module, args)` runs before forward; a non-None return replaces args."""
        handle = RemovableHandle(self._forward_pre_hooks)
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
        """None: activations have no parameters (here so standalone use reads like PyTorch)."""
        return iter(())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


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
