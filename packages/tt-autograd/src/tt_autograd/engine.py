"""Reverse-mode automatic differentiation over the graph that tensors record.

Each recorded operation becomes a `Node`: the rule that maps the output's
gradient to its inputs' gradients, the inputs, and what the rule saved. The
engine collects the nodes reachable from the output with an explicit stack (no
recursion, so a 100,000-op chain is fine), orders them newest first (creation
order is a topological order), then walks them once, summing gradients per
node and accumulating them into the leaves' `.grad`.
"""

from __future__ import annotations

import itertools
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_tensor import Tensor

Array: TypeAlias = npt.NDArray[Any]
Grads: TypeAlias = Sequence[Array | None]
Rule: TypeAlias = Callable[["Node", Array], Grads]


_SEQUENCE = itertools.count()


class Node:
    """One recorded operation: `rule(node, grad_out)` returns one gradient per input.

    `seq` numbers nodes in the order they were recorded (see `_topological`).
    """

    __slots__ = ("inputs", "name", "out", "rule", "saved", "seq")

    def __init__(
        self,
        name: str,
        rule: Rule,
        inputs: tuple[Tensor, ...],
        saved: dict[str, Any],
        out: Tensor,
    ) -> None:
        self.name = name
        self.rule = rule
        self.inputs = inputs
        self.saved = saved
        self.out: weakref.ref[Tensor] = weakref.ref(out)
        self.seq = next(_SEQUENCE)

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


class _Engine:
    """The engine registered with `tt_tensor.extension`."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self.own_rules = frozenset(rules.values())
        self.grad_enabled = True

    def record(
        self, op: str, out: Tensor, inputs: tuple[Tensor, ...], saved: dict[str, Any]
    ) -> None:
        try:
            rule = self.rules[op]
        except KeyError:
            raise RuntimeError(f"tt-autograd has no gradient rule for operation {op!r}") from None
        saved["out"] = out.data
        out.grad_fn = Node(op, rule, inputs, saved, out)
        out.requires_grad = True

    def backward(self, tensor: Tensor, gradient: Tensor | None, retain_graph: bool) -> None:
        run_backward([tensor], [gradient], retain_graph, accumulate=True, self_made=self.own_rules)


_SEQ_OF = operator.attrgetter("seq")


def _topological(roots: list[Node]) -> list[Node]:
    """Nodes reachable from `roots`, each after every node that consumes it.

    An operation is recorded only after its inputs exist, so creation order is
    already a topological order: newest first means every consumer comes before
    what it consumes (PyTorch's engine orders by the same sequence numbers).
    """
    seen = set(roots)
    stack = list(roots)
    while stack:
        for t in stack.pop().inputs:
            fn = t.grad_fn
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return sorted(seen, key=_SEQ_OF, reverse=True)


def _accumulate_leaf(t: Tensor, g: Array, steal: bool = False) -> None:
    """Add `g` into `t.grad`; `steal` adopts `g` itself when nothing else can see it."""
    if t.grad is None:
        if steal and g.dtype == t.data.dtype:
            t.grad = Tensor(g)
        else:
            t.grad = Tensor(g.astype(t.data.dtype, copy=True))
    elif t.grad.data.flags.writeable and t.grad.data.shape == g.shape:
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")
    else:
        t.grad.data = t.grad.data + g


def _adoptable(gi: Array, g: Array, grads: Grads) -> bool:
    """Is `gi` an array the rule just made, owned by nothing else?"""
    if gi is g or gi.base is not None or not gi.flags.writeable:
        return False
    return len(grads) == 1 or sum(x is gi for x in grads) == 1


def run_backward(
    outputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor | None],
    retain_graph: bool,
    accumulate: bool,
    capture: Sequence[Tensor] = (),
    self_made: frozenset[Rule] = frozenset(),
) -> dict[int, Array]:
    """Propagate from `outputs`; accumulate into leaves' `.grad` and/or capture grads.

    Returns the gradients of the `capture` tensors keyed by `id(tensor)`.
    `self_made` lists the rules whose fresh results may be adopted without a copy.
    """
    captured: dict[int, Array] = {}
    leaf_targets: set[int] = set()
    node_targets: dict[Node, Tensor] = {}
    for t in capture:
        if t.grad_fn is None:
            leaf_targets.add(id(t))
        else:
            node_targets[t.grad_fn] = t
    pending: dict[Node, Array] = {}
    roots: list[Node] = []
    for out, seed in zip(outputs, grad_outputs, strict=True):
        if seed is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, got shape "
                    f"{out.shape}: pass a gradient tensor of that shape"
                )
            garr = np.array(1, dtype=out.data.dtype).reshape(out.data.shape)
        else:
            garr = np.asarray(seed.data, dtype=out.data.dtype)
            if garr.shape != out.shape:
                raise RuntimeError(
                    f"gradient has shape {garr.shape} but the output has shape {out.shape}"
                )
        if out.grad_fn is None:  # a leaf: its gradient is the seed itself
            if id(out) in leaf_targets:
                prev_seed = captured.get(id(out))
                captured[id(out)] = garr if prev_seed is None else prev_seed + garr
            if accumulate:
                _accumulate_leaf(out, garr)
            continue
        node = out.grad_fn
        pending[node] = pending[node] + garr if node in pending else garr
        roots.append(node)

    for node in _topological(roots):
        g = pending.pop(node, None)
        if g is None:
            continue
        if node.saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Specify retain_graph=True on the "
                "first backward() call if you need to backward through the graph again."
            )
        if node_targets and node in node_targets:
            captured[id(node_targets[node])] = g
        if accumulate:
            produced = node.out()
            if produced is not None and produced._retain:
                _accumulate_leaf(produced, g)
        grads = node.rule(node, g)
        # The built-in rules return either views of `g` or arrays they just made;
        # a just-made array that no other input receives can become a leaf's
        # `.grad` without a copy (as PyTorch's AccumulateGrad steals). Custom
        # `Function`s may return anything, so their results are always copied.
        trusted = node.rule in self_made
        for t, gi in zip(node.inputs, grads, strict=True):
            if gi is None or not t.requires_grad:
                continue
            if gi.shape != t.data.shape:
                raise RuntimeError(
                    f"gradient rule of {node.name} returned shape {gi.shape} for an input of "
                    f"shape {t.shape}"
                )
            fn = t.grad_fn
            if fn is None:
                if leaf_targets and id(t) in leaf_targets:
                    prev = captured.get(id(t))
                    captured[id(t)] = gi.copy() if prev is None else prev + gi
                if accumulate:
                    steal = trusted and t.grad is None and _adoptable(gi, g, grads)
                    _accumulate_leaf(t, gi, steal)
            else:
                prev = pending.get(fn)
                pending[fn] = gi if prev is None else prev + gi
        if not retain_graph:
            node.saved = None  # type: ignore[assignment]
            node.inputs = ()
    return captured
