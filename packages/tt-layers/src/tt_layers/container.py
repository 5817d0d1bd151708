"""Containers: `Sequential`, `ModuleList`, `ModuleDict`.

Children are registered under their position ("0", "1", ...) or key, so
`state_dict()` keys read `0.weight`, `1.bias`, ... exactly as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from .module import Module, ModuleLike

__all__ = ["ModuleDict", "ModuleList", "Sequential"]

Child = Module | ModuleLike


def _index(idx: int, n: int, kind: str) -> int:
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {kind} of length {n}")
    return idx % n


def _renumber(container: Module, modules: list[Child | None]) -> None:
    """Re-register `modules` under keys 0..n-1, as PyTorch does after a delete or insert."""
    for key in list(container._modules):
        delattr(container, key)
    for i, m in enumerate(modules):
        container.add_module(str(i), m)


class Sequential(Module):
    """Modules applied one after another: `Sequential(Linear(2, 8), ReLU(), Linear(8, 1))`.

    Also takes a mapping of names to modules, e.g. an `OrderedDict`. Any object
    with a `forward` is accepted as a step (tt-activations' modules are such objects).
    """

    def __init__(self, *args: Child | Mapping[str, Child]) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], Mapping):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, step in enumerate(args):
                if isinstance(step, Mapping):
                    raise TypeError("Sequential takes modules, or one mapping of names to modules")
                self.add_module(str(i), step)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            if module is not None:
                input = module(input)
        return input

    @overload
    def __getitem__(self, idx: int) -> Child: ...
    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...
    def __getitem__(self, idx: int | slice) -> Child | Sequential:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(dict(items[idx]))  # type: ignore[arg-type]
        module = items[_index(idx, len(items), "Sequential")][1]
        assert module is not None
        return module

    def __setitem__(self, idx: int, module: Child) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        setattr(self, key, module)

    def __delitem__(self, idx: int) -> None:
        kept = list(self._modules.values())
        del kept[_index(idx, len(kept), "Sequential")]
        _renumber(self, kept)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Child]:
        return (m for m in self._modules.values() if m is not None)

    def append(self, module: Child) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Child]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Child) -> Sequential:
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for Sequential of length {n}")
        kept = list(self._modules.values())
        kept.insert(index, module)
        _renumber(self, kept)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent sees (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Child] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "ModuleList has no forward(): iterate over it and call its modules in your own forward"
        )

    @overload
    def __getitem__(self, idx: int) -> Child: ...
    @overload
    def __getitem__(self, idx: slice) -> ModuleList: ...
    def __getitem__(self, idx: int | slice) -> Child | ModuleList:
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList([m for m in values[idx] if m is not None])
        module = values[_index(idx, len(values), "ModuleList")]
        assert module is not None
        return module

    def __setitem__(self, idx: int, module: Child) -> None:
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int) -> None:
        kept = list(self._modules.values())
        del kept[_index(idx, len(kept), "ModuleList")]
        _renumber(self, kept)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Child]:
        return (m for m in self._modules.values() if m is not None)

    def __iadd__(self, modules: Iterable[Child]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Child) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Child]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Child) -> None:
        kept = list(self._modules.values())
        kept.insert(index, module)
        _renumber(self, kept)


class ModuleDict(Module):
    """A dict of named modules whose parameters the parent sees."""

    def __init__(self, modules: Mapping[str, Child] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): pick a module by key and call it")

    def __getitem__(self, key: str) -> Child:
        module = self._modules.get(key)
        if module is None:
            raise KeyError(f"{key!r} (ModuleDict keys: {list(self._modules)})")
        return module

    def __setitem__(self, key: str, module: Child) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Child]:
        return [m for m in self._modules.values() if m is not None]

    def items(self) -> list[tuple[str, Child]]:
        return [(k, m) for k, m in self._modules.items() if m is not None]

    def update(self, modules: Mapping[str, Child]) -> None:
        for key, module in modules.items():
            self.add_module(key, module)

    def pop(self, key: str) -> Child:
        module = self[key]
        delattr(self, key)
        return module
