"""TinyTorch: `import tinytorch as torch` for the covered subset of PyTorch."""

import tt_autograd as autograd
from tt_autograd import enable_grad, no_grad, set_grad_enabled
from tt_tensor import (
    Tensor,
    arange,
    cat,
    float32,
    float64,
    int64,
    load,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    save,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)

__all__ = [
    "Tensor",
    "arange",
    "autograd",
    "cat",
    "enable_grad",
    "float32",
    "float64",
    "int64",
    "load",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "save",
    "set_grad_enabled",
    "stack",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
