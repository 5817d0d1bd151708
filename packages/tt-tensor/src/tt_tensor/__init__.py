"""TinyTorch module 01: the Tensor.

An n-dimensional array with PyTorch's semantics on top of NumPy. Autograd
(module 05) plugs in through `tt_tensor.extension` without this package ever
importing it.
"""

from . import extension
from .creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    generator,
    get_rng_state,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from .serialization import (
    atomic_write_bytes,
    load_file,
    load_metadata,
    load_tensors,
    save,
    save_tensors,
)
from .tensor import (
    MinMax,
    Tensor,
    bool_,
    cat,
    float16,
    float32,
    float64,
    int32,
    int64,
    long,
    matmul,
    stack,
    uint8,
    where,
)

load = load_file

__all__ = [
    "MinMax",
    "Tensor",
    "arange",
    "atomic_write_bytes",
    "bool_",
    "cat",
    "empty",
    "extension",
    "eye",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "generator",
    "get_rng_state",
    "int32",
    "int64",
    "linspace",
    "load",
    "load_file",
    "load_metadata",
    "load_tensors",
    "long",
    "manual_seed",
    "matmul",
    "ones",
    "ones_like",
    "rand",
    "randint",
    "randn",
    "randperm",
    "save",
    "save_tensors",
    "set_rng_state",
    "stack",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]
