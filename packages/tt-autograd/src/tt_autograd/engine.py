"""Reverse-mode automatic differentiation over the graph that tensors record.

Each recorded operation becomes a `Node`: the rule that maps the output's
gradient to its inputs' gradients, the inputs, and what the rule saved. The
engine walks the nodes newest first (creation order is a topological order),
taking them from a heap of the nodes that have received a gradient (no
recursion, so a 100,000-op chain is fine), summing gradients per node and
accumulating them into the leaves' `.grad`.
"""

from __future__ import annotations

import heapq
import itertools
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

    `seq` numbers nodes in the order they were recorded (see `run_backward`).
    `retained` refers (weakly) to the output once `retain_grad()` asked for its
    `.grad`; most outputs never do, so no reference is made for them.
    """

    __slots__ = ("inputs", "name", "retained", "rule", "saved", "seq")

    def __init__(
        self, name: str, rule: Rule, inputs: tuple[Tensor, ...], saved: dict[str, Any]
    ) -> None:
        self.name = name
        self.rule = rule
        self.inputs = inputs
        self.saved = saved
        self.retained: weakref.ref[Tensor] | None = None
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
        out.grad_fn = Node(op, rule, inputs, saved)
        out.requires_grad = True

    def retain_grad(self, tensor: Tensor) -> None:
        node = tensor.grad_fn
        if isinstance(node, Node):
            node.retained = weakref.ref(tensor)

    def backward(self, tensor: Tensor, gradient: Tensor | None, retain_graph: bool) -> None:
        run_backward([tensor], [gradient], retain_graph, accumulate=True, self_made=self.own_rules)


_ONES: dict[np.dtype[Any], Array] = {}


def _one(dtype: np.dtype[Any]) -> Array:
    """A read-only 1 of `dtype`: the implicit seed of `loss.backward()`, made once."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = np.ones((), dtype=dtype)
        one.flags.writeable = False
    return one


def _accumulate_leaf(t: Tensor, g: Array, steal: bool = False) -> None:
    """Add `g` into `t.grad`; `steal` adopts `g` itself when nothing else can see it."""
    grad = t.grad
    if grad is None:
        dtype = t.data.dtype
        if g.dtype != dtype:
            t.grad = Tensor(g.astype(dtype))
        else:  # copy() is cheaper to call than astype(copy=True), and makes it contiguous
            t.grad = Tensor(g if steal else g.copy())
    elif grad.data.flags.writeable and grad.data.shape == g.shape:
        np.add(grad.data, g, out=grad.data, casting="unsafe")
    else:
        grad.data = grad.data + g


def _adoptable(gi: Array, g: Array, grads: Grads) -> bool:
    """Is `gi` an array the rule just made, owned by nothing else?"""
    if gi is g or gi.base is not None or not gi.flags.writeable:
        return False  # the incoming gradient, a view, or read-only
    return len(grads) == 1 or sum(x is gi for x in grads) == 1


def _seed(out: Tensor, seed: Tensor | None) -> Array:
    """The gradient that starts the walk at `out`: 1 for a scalar, else `seed`."""
    if seed is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, got shape "
                f"{out.shape}: pass a gradient tensor of that shape"
            )
        one = _one(out.data.dtype)
        return one if out.data.ndim == 0 else one.reshape(out.data.shape)
    garr = np.asarray(seed.data, dtype=out.data.dtype)
    if garr.shape != out.shape:
        raise RuntimeError(f"gradient has shape {garr.shape} but the output has shape {out.shape}")
    return garr


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
    heap: list[tuple[int, Node]] = []
    for out, seed in zip(outputs, grad_outputs, strict=True):
        garr = _seed(out, seed)
        node = out.grad_fn
        if node is None:  # a leaf: its gradient is the seed itself
            if id(out) in leaf_targets:
                prev_seed = captured.get(id(out))
                captured[id(out)] = garr if prev_seed is None else prev_seed + garr
            if accumulate:
                _accumulate_leaf(out, garr)
        elif node in pending:
            pending[node] = pending[node] + garr
        else:
            pending[node] = garr
            heap.append((-node.seq, node))

    # Newest node first: an operation is recorded only after its inputs exist, so
    # creation order is a topological order and every consumer of a node has run
    # before it (PyTorch's engine orders by the same sequence numbers). A heap of
    # the nodes that have received a gradient so far yields exactly that order.
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        node = pop(heap)[1]
        g = pending.pop(node)
        if node.saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Specify retain_graph=True on the "
                "first backward() call if you need to backward through the graph again."
            )
        if node_targets and node in node_targets:
            captured[id(node_targets[node])] = g
        if accumulate and node.retained is not None:
            produced = node.retained()
            if produced is not None:
                _accumulate_leaf(produced, g)
        rule = node.rule
        grads = rule(node, g)
        # The built-in rules return either views of `g` or arrays they just made;
        # a just-made array that no other input receives can become a leaf's
        # `.grad` without a copy (as PyTorch's AccumulateGrad steals). Custom
        # `Function`s may return anything, so their results are checked and copied.
        trusted = rule in self_made
        for t, gi in zip(node.inputs, grads, strict=True):
            if gi is None or not t.requires_grad:
                continue
            if not trusted and gi.shape != t.data.shape:
                raise RuntimeError(
                    f"gradient rule of {node.name} returned shape {gi.shape} for an input of "
                    f"shape {t.shape}"
                )
            fn = t.grad_fn
            if fn is not None:  # an operation's output: gather its gradient
                if fn in pending:
                    pending[fn] = pending[fn] + gi
                else:
                    pending[fn] = gi
                    push(heap, (-fn.seq, fn))
                continue
            if leaf_targets and id(t) in leaf_targets:
                prev = captured.get(id(t))
                captured[id(t)] = gi.copy() if prev is None else prev + gi
            if accumulate:
                steal = trusted and t.grad is None and _adoptable(gi, g, grads)
                _accumulate_leaf(t, gi, steal)
        if not retain_graph:
            node.saved = None  # type: ignore[assignment]
            node.inputs = ()
    return captured
