"""tt_tensor.hooks: the forward-hook machinery every layer-like class shares."""

from __future__ import annotations

from typing import Any

import pytest
from tt_tensor.hooks import HookedModuleLike, RemovableHandle, add_hook, call_with_hooks


class Double(HookedModuleLike):
    def forward(self, x: int, plus: int = 0) -> int:
        return 2 * x + plus

    def __call__(self, x: int) -> int:
        out: int = self._call(x)
        return out


def test_hooks_rewrite_arguments_and_outputs_in_registration_order() -> None:
    m = Double()
    seen: list[Any] = []
    first = m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    m.register_forward_pre_hook(lambda mod, args: seen.append(("pre", args)))  # None: keep
    m.register_forward_hook(lambda mod, args, out: out * 10)
    m.register_forward_hook(lambda mod, args, out: seen.append(("post", args, out)))
    assert m(1) == 40  # (1 + 1) * 2, then * 10
    assert seen == [("pre", (2,)), ("post", (2,), 40)]
    first.remove()
    first.remove()  # removing twice is harmless
    assert m(1) == 20
    assert isinstance(first, RemovableHandle)


def test_a_handle_used_as_a_context_manager_removes_its_hook() -> None:
    m = Double()
    with m.register_forward_hook(lambda mod, args, out: -out):
        assert m(3) == -6
    assert m(3) == 6
    assert not m._forward_hooks


def test_call_with_hooks_passes_keyword_arguments_to_forward() -> None:
    m = Double()
    pre: dict[int, Any] = {}
    post: dict[int, Any] = {}
    add_hook(pre, lambda mod, args: 5)  # a single value becomes the new args tuple
    assert call_with_hooks(m, pre, post, (1,), {"plus": 1}) == 11


def test_train_eval_parameters_and_repr() -> None:
    m = Double()
    assert m.training and not m.eval().training and m.train().training
    assert list(m.parameters()) == []
    assert repr(m) == "Double()"
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="missing"):
        HookedModuleLike()._call(1)
