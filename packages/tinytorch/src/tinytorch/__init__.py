"""TinyTorch: `import tinytorch as torch` for the covered subset of PyTorch.

Each module of the learning path is its own package (`tt_tensor`,
`tt_autograd`, `tt_layers`, ...); this meta-package gathers them into
PyTorch's namespaces.
"""

from tt_autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tt_tensor import (
    Tensor,
    arange,
    cat,
    empty,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    int32,
    int64,
    linspace,
    load,
    long,
    manual_seed,
    matmul,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    save,
    stack,
    tensor,
    uint8,
    where,
    zeros,
    zeros_like,
)
from tt_tensor import (
    bool_ as bool,  # torch.bool
)

from . import autograd, models, nn, optim, text, training, utils

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "arange",
    "autograd",
    "bool",
    "cat",
    "empty",
    "enable_grad",
    "eye",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "int32",
    "int64",
    "is_grad_enabled",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "matmul",
    "models",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randint",
    "randn",
    "randperm",
    "save",
    "set_grad_enabled",
    "stack",
    "tensor",
    "text",
    "training",
    "uint8",
    "utils",
    "where",
    "zeros",
    "zeros_like",
]
