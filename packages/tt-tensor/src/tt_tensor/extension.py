"""The extension point through which autograd enhances `Tensor`.

`tt-tensor` knows nothing about derivatives. Every differentiable operation
calls `record(op, out, inputs, saved)` after computing its forward value; with
no autograd engine registered that call is a no-op, so plain tensors pay only
an attribute check. `tt-autograd` registers an engine (explicitly on import,
or found through the ``tt_tensor.autograd`` entry-point group when a tensor
first asks for gradients) and from then on the same operations build a graph.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .tensor import Tensor

ENTRY_POINT_GROUP = "tt_tensor.autograd"


class AutogradEngine(Protocol):
    """What an autograd engine provides to `Tensor`."""

    @property
    def grad_enabled(self) -> bool:
        """False inside `no_grad()`: operations must record nothing."""
        ...

    def record(
        self, op: str, out: Tensor, inputs: tuple[Tensor, ...], saved: dict[str, Any]
    ) -> None:
        """Attach a graph node for `op` to `out`; `saved` holds what backward needs."""
        ...

    def backward(self, tensor: Tensor, gradient: Tensor | None, retain_graph: bool) -> None:
        """Propagate gradients from `tensor` to the leaves of its graph."""
        ...

    def retain_grad(self, tensor: Tensor) -> None:
        """Fill `tensor.grad` during backward although `tensor` is not a leaf."""
        ...


class _Registry:
    __slots__ = ("engine", "searched")

    def __init__(self) -> None:
        self.engine: AutogradEngine | None = None
        self.searched = False


_registry = _Registry()


def register_autograd(engine: AutogradEngine) -> None:
    """Install `engine` as the autograd implementation for every `Tensor`."""
    _registry.engine = engine
    _registry.searched = True


def autograd_engine() -> AutogradEngine | None:
    """The registered engine, discovering an installed one through entry points once."""
    if _registry.engine is None and not _registry.searched:
        _registry.searched = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()  # importing the engine's module registers it
    return _registry.engine


def record(op: str, out: Tensor, inputs: tuple[Tensor, ...], **saved: Any) -> Tensor:
    """Let the engine (if any) record `op`; returns `out` for chaining."""
    engine = _registry.engine
    if engine is not None and engine.grad_enabled:
        for t in inputs:
            if t.requires_grad:
                engine.record(op, out, inputs, saved)
                break
    return out


def require_engine(action: str) -> AutogradEngine:
    """The engine, or an error that says how to get one."""
    engine = _registry.engine or autograd_engine()
    if engine is None:
        raise RuntimeError(
            f"{action} needs automatic differentiation, which tt-tensor does not provide "
            "on its own: install it with `pip install tt-autograd` (module 05) "
            "and `import tt_autograd`."
        )
    return engine
