"""`Optimizer`: parameter groups, per-parameter state, and the state-dict format.

Every optimizer keeps `param_groups`, a list of dicts that each hold a list of
parameters (`"params"`) and that group's hyper-parameters, so one model can
train its layers with different learning rates. `state` maps each parameter
to what its update rule remembers between steps (momentum buffers, moment
estimates, step counts). `state_dict()` writes both in PyTorch's layout, with
parameters replaced by their position, so a checkpoint can be loaded into a
freshly built optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_autograd import enable_grad, no_grad
from tt_tensor import Tensor

Array: TypeAlias = npt.NDArray[Any]
ParamGroup: TypeAlias = dict[str, Any]
# Tensors, or dicts (parameter groups) each with a "params" entry. Checked at run
# time: typed more tightly, a list of groups with different value types would be
# rejected by mypy, which joins it to list[object].
ParamsT: TypeAlias = Iterable[Any]
StateDict: TypeAlias = dict[str, Any]


def check_nonnegative(name: str, value: Any, what: str | None = None) -> None:
    """Raise ValueError unless `value` is a real number >= 0 (PyTorch's messages)."""
    number = isinstance(value, int | float | np.integer | np.floating)
    if isinstance(value, bool) or not number or not float(value) >= 0:
        raise ValueError(f"Invalid {what or name}: {value!r} ({name} must be a number >= 0)")


class Optimizer:
    """Base class: holds parameter groups and state; subclasses implement `_update`.

    `defaults` are the constructor's hyper-parameters; a group given as a dict
    overrides any of them for its own parameters.
    """

    def __init__(self, params: ParamsT, defaults: Mapping[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}: wrap it in a list, e.g. [tensor]"
            )
        groups = [params] if isinstance(params, Mapping) else list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            if not isinstance(group, Mapping):
                raise TypeError(
                    "params must be all Tensors or all dicts (parameter groups), "
                    f"got a mix including {type(group).__name__}"
                )
            self.add_param_group(group)

    # ------------------------------------------------------------- groups
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters, filling the hyper-parameters it does not set."""
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        raw = param_group["params"]
        params = [raw] if isinstance(raw, Tensor) else list(raw)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but parameter {i} of group "
                    f"{len(self.param_groups)} is a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i})")
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"parameter {i} has dtype {p.data.dtype}: only floating point tensors "
                    "can be optimized"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        own = {k: v for k, v in param_group.items() if k != "params"}
        group: ParamGroup = {"params": params, **self.defaults, **own}
        self._validate_group(group)
        self.param_groups.append(group)

    def _validate_group(self, group: ParamGroup) -> None:
        """Subclasses check their hyper-parameters here (for every group, not only defaults)."""

    # ------------------------------------------------------------- the loop
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward (drop them, or zero them in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; `closure` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():  # an update is never part of a graph
            for group in self.param_groups:
                live = [p for p in group["params"] if p.grad is not None]
                if live:
                    self._update(group, live)
        return loss

    def _update(self, group: ParamGroup, params: list[Tensor]) -> None:
        raise NotImplementedError

    @staticmethod
    def _grad(p: Tensor, maximize: bool = False) -> Array:
        """The gradient as an array of the parameter's dtype (a copy when negated)."""
        assert p.grad is not None
        g = np.asarray(p.grad.data)
        if g.shape != p.data.shape:
            raise RuntimeError(
                f"gradient of shape {g.shape} does not match its parameter of shape {p.shape}"
            )
        g = g.astype(p.data.dtype, copy=False)
        return -g if maximize else g

    # ------------------------------------------------------------- state dict
    def state_dict(self) -> StateDict:
        """A snapshot in PyTorch's layout: `{'state': {index: {...}}, 'param_groups': [...]}`.

        Parameters become their index, counted across groups in order. Arrays
        in the state are copied Tensors; everything else is plain JSON data.
        """
        index: dict[int, int] = {}
        groups: list[ParamGroup] = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state: dict[int, dict[str, Any]] = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: Tensor(v.data.copy()) if isinstance(v, Tensor) else v
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a `state_dict()` into this optimizer (same groups, same sizes)."""
        saved_groups = state_dict.get("param_groups")
        if not isinstance(saved_groups, list) or "state" not in state_dict:
            raise ValueError(
                "not an optimizer state dict: expected keys 'state' and 'param_groups', "
                f"got {sorted(state_dict)}"
            )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded parameter group {i} has {len(saved['params'])} parameters, "
                    f"this optimizer's group {i} has {len(group['params'])}"
                )
            by_index.update(zip((int(j) for j in saved["params"]), group["params"], strict=True))

        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entries in state_dict["state"].items():
            idx = int(key)  # JSON turns integer keys into strings
            if idx not in by_index:
                raise ValueError(f"loaded state refers to parameter {idx}, which no group holds")
            p = by_index[idx]
            new_state[p] = {name: _restore(value, p, name) for name, value in entries.items()}

        new_groups: list[ParamGroup] = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            restored = {k: _like(group.get(k), v) for k, v in saved.items() if k != "params"}
            new_groups.append({"params": group["params"], **restored})
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join([*lines, ")"])


def _restore(value: Any, p: Tensor, name: str) -> Any:
    """A state entry as this optimizer keeps it: arrays become Tensors owned by the state."""
    if name == "step":  # a count (PyTorch keeps it as a 0-d tensor)
        return int(value.item() if isinstance(value, Tensor | np.ndarray) else value)
    if isinstance(value, Tensor | np.ndarray):
        arr = value.data if isinstance(value, Tensor) else value
        if arr.shape != p.data.shape and arr.ndim != 0:
            raise ValueError(
                f"state {name!r} has shape {arr.shape}, its parameter has shape {p.shape}"
            )
        dtype = p.data.dtype if arr.dtype.kind == "f" else arr.dtype
        return Tensor(np.array(arr, dtype=dtype, copy=True))
    return value


def _like(current: Any, loaded: Any) -> Any:
    """Undo JSON's tuple -> list (betas) so a loaded group looks like a fresh one."""
    if isinstance(current, tuple) and isinstance(loaded, list):
        return tuple(loaded)
    return loaded
