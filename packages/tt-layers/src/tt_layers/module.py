"""`Module` and `Parameter`: how a network knows its own weights.

Assigning a `Parameter`, a buffer or a submodule to a module's attribute
registers it (in `_parameters`, `_buffers`, `_modules`), exactly as in
PyTorch; everything else (`parameters()`, `state_dict()`, `train()`, ...) is
a walk over those three registries. Registered values are also kept in the
instance `__dict__`, so reading `self.weight` in `forward` is a plain
attribute lookup with no `__getattr__` detour.

A submodule may also be a *module-like*: any object with a callable
`forward` that is not a `Module`, such as tt-activations' `ReLU` or
tt-losses' `MSELoss` (modules 02 and 04 cannot subclass a class defined in
module 03). Module-likes are leaves without parameters or buffers;
`train()`/`eval()` reach them through their own `train(mode)`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol, Self

import numpy as np
from tt_tensor import Tensor
from tt_tensor.hooks import (
    ForwardHook,
    ForwardPreHook,
    RemovableHandle,
    add_hook,
    call_with_hooks,
)

__all__ = [
    "IncompatibleKeys",
    "Module",
    "ModuleLike",
    "Parameter",
    "RemovableHandle",
    "is_module_like",
]


class Parameter(Tensor):
    """A Tensor that a `Module` registers as one of its weights (requires grad by default).

    It shares memory with the tensor or array it wraps, as `torch.nn.Parameter`.
    Operations on a Parameter return plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class ModuleLike(Protocol):
    """What a submodule that is not a `Module` must provide (e.g. tt_activations.ReLU).

    `train(mode)` is called by the parent's `train()`/`eval()` when the object has it.
    """

    def forward(self, *args: Any, **kwargs: Any) -> Any: ...

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def is_module_like(value: object) -> bool:
    """True for a `Module` or any (non-class) object with a callable `forward`."""
    if isinstance(value, Module):
        return True
    return not isinstance(value, type | Tensor) and callable(getattr(value, "forward", None))


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match, as in PyTorch."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')
    return name


def _shape(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))})"


class Module:
    """Base class of every layer and model: subclass it, set attributes in `__init__`,
    write `forward`, and call the instance.

    `training` switches layers such as Dropout between training and evaluation
    behaviour; `train()`/`eval()` set it for the whole tree.
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | ModuleLike | None]
    _forward_hooks: dict[int, ForwardHook]
    _forward_pre_hooks: dict[int, ForwardPreHook]

    def __init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_hooks", {})
        setattr_(self, "_forward_pre_hooks", {})

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, self._forward_pre_hooks, self._forward_hooks, args, kwargs)

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; a non-None return replaces output."""
        return add_hook(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> RemovableHandle:
        """`hook(module, args)` runs before forward; a non-None return replaces args."""
        return add_hook(self._forward_pre_hooks, hook)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            if isinstance(value, Parameter) or is_module_like(value):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                    "call: call super().__init__() first"
                )
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Parameter):
            self._forget(name, keep="parameter")
            self.register_parameter(name, value)
        elif name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(Parameter or None expected)"
                )
            self.register_parameter(name, None)
        elif is_module_like(value):
            self._forget(name, keep="module")
            self.add_module(name, value)
        elif name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(Module, an object with forward(), or None expected)"
                )
            self._modules[name] = None
            object.__setattr__(self, name, None)
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} "
                    "(Tensor or None expected)"
                )
            self._buffers[name] = value
            object.__setattr__(self, name, value)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str = "") -> None:
        """Drop `name` from the registries other than `keep` (so re-assigning keeps its place)."""
        self.__dict__.pop(name, None)
        if keep != "parameter":
            self._parameters.pop(name, None)
        if keep != "buffer":
            self._buffers.pop(name, None)
            self._non_persistent_buffers.discard(name)
        if keep != "module":
            self._modules.pop(name, None)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add `param` under `name` (None keeps the slot, e.g. `bias=False`)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} object to parameter {name!r} "
                "(Parameter or None required)"
            )
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not a parameter (e.g. BatchNorm's running mean).

        Persistent buffers are saved in `state_dict()`; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} object to buffer {name!r} "
                "(Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | ModuleLike | None) -> None:
        """Register a child module (or module-like, or None) under `name`."""
        _check_name("module", name)
        if module is not None and not is_module_like(module):
            raise TypeError(
                f"{type(module).__name__} is not a Module subclass (nor an object with forward())"
            )
        if name in self.__dict__ and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module | ModuleLike:
        """The submodule at a dotted path such as `"encoder.0"`."""
        mod: Module | ModuleLike = self
        if target == "":
            return mod
        walked = type(self).__name__
        for item in target.split("."):
            children = mod._modules if isinstance(mod, Module) else {}
            child = children.get(item)
            if child is None:
                raise AttributeError(f"{walked} has no submodule {item!r} (path {target!r})")
            mod, walked = child, f"{walked}.{item}"
        return mod

    # ------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module | ModuleLike]]:
        """This module and every descendant with its dotted name, parents first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            if isinstance(child, Module):
                yield from child.named_modules(memo, sub, remove_duplicate)
            elif not remove_duplicate or id(child) not in memo:
                memo.add(id(child))
                yield sub, child

    def modules(self) -> Iterator[Module | ModuleLike]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module | ModuleLike]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module | ModuleLike]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for mod_prefix, mod in mods if recurse else [(prefix, self)]:
            if not isinstance(mod, Module):
                continue  # module-likes hold no parameters or buffers
            registry = mod._parameters if kind == "parameter" else mod._buffers
            for name, value in registry.items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name; a shared parameter appears once."""
        return self._named_members("parameter", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("buffer", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------ modes, grads, dtypes
    def train(self, mode: bool = True) -> Self:
        """Set training mode here and in every descendant (Dropout, BatchNorm care)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            set_mode = getattr(child, "train", None)
            if callable(set_mode):
                set_mode(mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: drop them (default) or fill them with zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data = np.zeros_like(p.grad.data)

    def apply(self, fn: Callable[[Any], Any]) -> Self:
        """Call `fn` on every submodule (children first) and then on this module."""
        for child in self.children():
            if isinstance(child, Module):
                child.apply(fn)
            else:
                fn(child)
        fn(self)
        return self

    def to(self, dtype: Any) -> Self:
        """Cast floating point parameters and buffers in place (the objects stay the same).

        Parameters keep their identity, so an optimizer built before still holds them.
        """
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"Module.to() only accepts floating point dtypes, got {target}")
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != target:
                t.data = t.data.astype(target)
                if t.grad is not None:
                    t.grad.data = t.grad.data.astype(target)
        return self

    def float(self) -> Self:
        return self.to(np.float32)

    def double(self) -> Self:
        return self.to(np.float64)

    # ------------------------------------------------------------ state dict
    def state_dict(
        self,
        *,
        destination: dict[str, Tensor] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, in registration order.

        The values share memory with the module (detached unless `keep_vars`),
        so save them right away or clone them.
        """
        out: dict[str, Tensor] = {} if destination is None else destination
        for mod_prefix, mod in self.named_modules(
            prefix=prefix.rstrip("."), remove_duplicate=False
        ):
            if not isinstance(mod, Module):
                continue
            head = f"{mod_prefix}." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[head + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    out[head + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Tensor | np.ndarray[Any, Any]], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy `state_dict`'s values into this module's parameters and buffers, in place.

        Everything is checked before anything is copied, so a failed load leaves
        the module untouched. A shape mismatch is always an error; missing and
        unexpected keys are errors when `strict` (the default).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors: list[str] = []
        if strict:
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.append(f"Missing key(s) in state_dict: {keys}.")
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.append(f"Unexpected key(s) in state_dict: {keys}.")
        pairs: list[tuple[Tensor, np.ndarray[Any, Any]]] = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            src = value.data if isinstance(value, Tensor) else np.asarray(value)
            if src.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {_shape(src.shape)} "
                    f"from checkpoint, the shape in current model is {_shape(target.shape)}."
                )
            else:
                pairs.append((target, src))
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for target, src in pairs:
            np.copyto(target.data, src, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (override it)."""
        return ""

    def __repr__(self) -> str:
        lines = [] if not self.extra_repr() else self.extra_repr().split("\n")
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        main = type(self).__name__ + "("
        if not self._modules and len(lines) <= 1:
            return main + "".join(lines) + ")"
        return main + "\n  " + "\n  ".join(lines) + "\n)"
