"""The basic layers: `Linear`, `Dropout`, `Flatten`, `Unflatten`, `Identity`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from tt_tensor import Tensor

from . import init
from .functional import _check_p, dropout
from .module import Module, Parameter

__all__ = ["Dropout", "Flatten", "Identity", "Linear", "Unflatten"]


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features), as `torch.nn.Linear`.

    PyTorch's default initialisation: W ~ kaiming_uniform(a=sqrt(5)), which is
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and b from the same range.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        self.bias: Parameter | None
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        out = input @ self.weight.T
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Dropout(Module):
    """Inverted dropout while training (`model.train()`), the identity in `model.eval()`.

    `inplace` is accepted for compatibility; the result is always a new tensor.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = _check_p(p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`: the inverse of Flatten."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        shape = input.shape
        d = self.dim % input.ndim
        if math.prod(self.unflattened_size) != shape[d] and -1 not in self.unflattened_size:
            raise RuntimeError(
                f"Unflatten: cannot split dim {self.dim} of size {shape[d]} into "
                f"{self.unflattened_size} (input shape {tuple(shape)})"
            )
        return input.reshape(shape[:d] + self.unflattened_size + shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input; takes (and ignores) any constructor arguments, as in PyTorch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input
