"""`Function`: custom operations with a hand-written backward.

Packages that need a fused, fast operation (convolution, pooling, norms,
attention) subclass `Function`, exactly as with `torch.autograd.Function`:

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return Tensor(x.data ** 2)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return Tensor(2 * x.data * grad.data)

    y = Square.apply(x)
"""

from __future__ import annotations

from typing import Any

from tt_tensor import Tensor, extension

from .engine import Array, Grads, Node, _Engine


class FunctionCtx:
    """Carries what `forward` saves to `backward`; any attribute may be set on it."""

    saved_tensors: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]

    def __init__(self) -> None:
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors: Tensor) -> None:
        self.saved_tensors = tensors

    def __getattr__(self, name: str) -> Any:  # attributes set by forward, typed loosely
        raise AttributeError(f"ctx has no attribute {name!r}: set it in forward()")


def _function_rule(node: Node, g: Array) -> Grads:
    cls: type[Function] = node.saved["cls"]
    ctx: FunctionCtx = node.saved["ctx"]
    positions: list[int] = node.saved["positions"]
    n_args: int = node.saved["n_args"]
    result = cls.backward(ctx, Tensor(g))
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != n_args:
        raise RuntimeError(
            f"{cls.__name__}.backward returned {len(grads)} gradients but forward took "
            f"{n_args} arguments"
        )
    out: list[Array | None] = []
    for p in positions:
        gi = grads[p]
        out.append(None if gi is None else (gi.data if isinstance(gi, Tensor) else gi))
    return out


class Function:
    """Base class for differentiable operations with their own backward."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Tensor:
        raise TypeError("Function subclasses must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Any:
        raise TypeError("Function subclasses must define a static backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run forward without recording, then record one node for the whole op."""
        eng = extension.autograd_engine()
        assert isinstance(eng, _Engine)
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        enabled = eng.grad_enabled
        eng.grad_enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            eng.grad_enabled = enabled
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out)}")
        if enabled and any(ctx.needs_input_grad):
            positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
            inputs = tuple(args[i] for i in positions)
            node = Node(
                cls.__name__,
                _function_rule,
                inputs,
                {"cls": cls, "ctx": ctx, "positions": positions, "n_args": len(args)},
            )
            out.grad_fn = node
            out.requires_grad = True
        return out
