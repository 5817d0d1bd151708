"""What the training loop needs from a model, an optimizer and a scheduler.

tt-training depends neither on tt-layers (which defines `Module`) nor on
tt-optimizers: anything with the right methods works, checked structurally by
mypy through these protocols. Arguments are positional-only and results are
`object`, so any reasonable implementation matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from tt_tensor import Tensor


@runtime_checkable
class Model(Protocol):
    """A trainable model: `tt_layers.Module` (tinytorch.nn.Module) fits, so does a small class."""

    def parameters(self) -> Iterable[Tensor]: ...

    def train(self, mode: bool = True, /) -> object: ...

    def eval(self) -> object: ...

    def state_dict(self) -> Mapping[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any], /) -> object: ...

    def __call__(self, inputs: Any, /) -> Any: ...


@runtime_checkable
class OptimizerLike(Protocol):
    """`tt_optimizers.SGD`/`Adam`/`AdamW` (tinytorch.optim) or anything shaped like them.

    `param_groups` is read for the learning rate and the parameters to clip.
    """

    @property
    def param_groups(self) -> Sequence[Mapping[str, Any]]: ...

    def zero_grad(self) -> object: ...

    def step(self) -> object: ...

    def state_dict(self) -> Mapping[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> object: ...


@runtime_checkable
class SchedulerLike(Protocol):
    """A learning-rate scheduler whose state is JSON data (tinytorch.optim.lr_scheduler.*)."""

    def step(self) -> object: ...

    def state_dict(self) -> Mapping[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> object: ...
