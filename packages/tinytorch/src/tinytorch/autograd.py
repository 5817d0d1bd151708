"""`tinytorch.autograd`: custom differentiable functions, `grad` and `gradcheck`."""

from tt_autograd import (
    Function,
    FunctionCtx,
    enable_grad,
    grad,
    gradcheck,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function",
    "FunctionCtx",
    "enable_grad",
    "grad",
    "gradcheck",
    "no_grad",
    "set_grad_enabled",
]
