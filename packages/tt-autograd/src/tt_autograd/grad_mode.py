"""`no_grad` and `enable_grad`: switch graph recording off and on."""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import Any

from tt_tensor import extension

from .engine import _Engine


def _engine() -> _Engine:
    eng = extension.autograd_engine()
    assert isinstance(eng, _Engine)
    return eng


class _GradMode(ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.prev: list[bool] = []

    def __enter__(self) -> None:
        eng = _engine()
        self.prev.append(eng.grad_enabled)
        eng.grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        _engine().grad_enabled = self.prev.pop()


class no_grad(_GradMode):
    """Record nothing inside this block (inference, optimizer updates)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Record again inside a `no_grad` block."""

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradMode):
    def __init__(self, mode: bool) -> None:
        super().__init__(mode)


def is_grad_enabled() -> bool:
    return _engine().grad_enabled
