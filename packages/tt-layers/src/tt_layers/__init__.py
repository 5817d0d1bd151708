"""TinyTorch module 03: Module, Parameter, Linear, Sequential, Dropout, init.

`Module` registers the parameters, buffers and submodules you assign to it;
`Linear` is the first layer built on it. `tt_layers.init` holds PyTorch's
initialisers and `tt_layers.functional` the stateless `linear` and `dropout`.
"""

from . import functional, init
from .container import ModuleDict, ModuleList, Sequential
from .functional import dropout, linear
from .layers import Dropout, Flatten, Identity, Linear, Unflatten
from .module import IncompatibleKeys, Module, ModuleLike, Parameter, RemovableHandle, is_module_like

__all__ = [
    "Dropout",
    "Flatten",
    "Identity",
    "IncompatibleKeys",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleLike",
    "ModuleList",
    "Parameter",
    "RemovableHandle",
    "Sequential",
    "Unflatten",
    "dropout",
    "functional",
    "init",
    "is_module_like",
    "linear",
]
