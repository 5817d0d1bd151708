"""TinyTorch module 05: automatic differentiation.

Importing this package registers its engine with `tt_tensor.extension`; from
then on every operation of modules 01-04 records a graph and `backward()` works,
although none of those packages depends on this one.
"""

from tt_tensor import extension as _extension

from .engine import Node, run_backward
from .engine import _Engine as _EngineType
from .function import Function, FunctionCtx
from .functional import grad, gradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .rules import RULES, unbroadcast

_ENGINE = _EngineType(RULES)
_extension.register_autograd(_ENGINE)

__all__ = [
    "RULES",
    "Function",
    "FunctionCtx",
    "Node",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "run_backward",
    "set_grad_enabled",
    "unbroadcast",
]
