"""Forward hooks, shared by every layer-like class (PyTorch keeps them in `torch.utils.hooks`).

tt-layers' `Module` and the parameter-free module-likes of tt-activations and
tt-losses all let a caller watch or rewrite a forward pass (the profiler of
module 14 does). Modules 02 and 04 come before module 03 and cannot subclass
its `Module`, so the one implementation lives here, below all three:
`RemovableHandle`, `add_hook`, `call_with_hooks`, and `HookedModuleLike`, the
base of `ReLU()`, `MSELoss()` and the other module-likes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self, TypeVar

from .tensor import Tensor

ForwardHook = Callable[[Any, tuple[Any, ...], Any], Any]
ForwardPreHook = Callable[[Any, tuple[Any, ...]], Any]
H = TypeVar("H")


class RemovableHandle:
    """Returned by the `register_*_hook` methods: `handle.remove()` unregisters the hook
    (also on leaving a `with` block)."""

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


def add_hook(hooks: dict[int, H], hook: H) -> RemovableHandle:
    """Register `hook` in `hooks` (run in registration order) and return its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def call_with_hooks(
    module: Any,
    pre_hooks: dict[int, ForwardPreHook],
    hooks: dict[int, ForwardHook],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """`module.forward(*args, **kwargs)` with PyTorch's hook semantics: a pre-hook
    `hook(module, args)` may return new args, a hook `hook(module, args, output)`
    a new output (None keeps what there was)."""
    for pre in list(pre_hooks.values()):
        new = pre(module, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    out = module.forward(*args, **kwargs)
    for hook in list(hooks.values()):
        new = hook(module, args, out)
        if new is not None:
            out = new
    return out


class HookedModuleLike:
    """What tt-layers asks of a parameter-free submodule: `forward`, a `__call__` that
    runs forward hooks, `training` with `train()`/`eval()`, and PyTorch's repr."""

    training: bool

    def __init__(self) -> None:
        self.training = True
        self._forward_hooks: dict[int, ForwardHook] = {}
        self._forward_pre_hooks: dict[int, ForwardPreHook] = {}

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def _call(self, *args: Any) -> Any:
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(*args)
        return call_with_hooks(self, self._forward_pre_hooks, self._forward_hooks, args, {})

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; a non-None return replaces output."""
        return add_hook(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> RemovableHandle:
        """`hook(module, args)` runs before forward; a non-None return replaces args."""
        return add_hook(self._forward_pre_hooks, hook)

    def train(self, mode: bool = True) -> Self:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        return self

    def eval(self) -> Self:
        return self.train(False)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """None: module-likes hold no parameters (here so standalone use reads like PyTorch)."""
        return iter(())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
