"""The engine: accumulation, graph freeing, no_grad, grad(), Function, deep graphs."""

import numpy as np
import pytest
import tt_autograd as ag
import tt_tensor as tt
from tt_tensor import Tensor


def test_backward_accumulates_into_leaf_grad_tensors() -> None:
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, Tensor)
    np.testing.assert_allclose(x.grad.data, [2, 4, 6])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5, 7, 9])
    assert x.grad.dtype == np.float32


def test_shared_subexpressions_sum_their_gradients() -> None:
    x = tt.tensor(2.0, requires_grad=True)
    y = x * x
    z = y * x + y  # x^3 + x^2
    z.backward()
    assert x.grad is not None
    assert x.grad.item() == pytest.approx(3 * 4 + 2 * 2)


def test_broadcast_gradients_are_reduced_to_the_input_shape() -> None:
    b = tt.zeros(4, requires_grad=True)
    x = tt.ones(8, 4)
    (x + b).sum().backward()
    assert b.grad is not None
    np.testing.assert_allclose(b.grad.data, np.full(4, 8.0))


def test_a_100000_operation_chain_needs_no_recursion() -> None:
    x = tt.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.item() == 1.0


def test_graph_is_freed_after_backward_unless_retained() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, [4, 8])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_non_scalar_backward_needs_a_gradient() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(tt.tensor([1.0, 10.0]))
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, [2, 20])


def test_backward_on_a_tensor_without_grad_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_and_enable_grad_restores() -> None:
    x = tt.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = x * 2
        assert not ag.is_grad_enabled()
        with ag.enable_grad():
            z = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert z.requires_grad
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def infer(t: Tensor) -> Tensor:
        return t * 2

    assert infer(x).grad_fn is None


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    w = tt.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    out = (h * h).sum()
    gx, gh = ag.grad(out, [x, h])
    assert x.grad is None
    assert gx is not None and gh is not None
    np.testing.assert_allclose(gx.data, 2 * (x.data * w.data) * w.data)
    np.testing.assert_allclose(gh.data, 2 * h.data)
    unused = tt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used"):
        ag.grad((x * 2).sum(), [unused])
    assert ag.grad((x * 2).sum(), [unused], allow_unused=True) == (None,)


def test_retain_grad_keeps_intermediate_gradients() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad is not None
    np.testing.assert_allclose(h.grad.data, 2 * h.data)


def test_only_retained_outputs_are_referenced_by_their_node() -> None:
    """A node refers to its output only after retain_grad(), and then weakly."""
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    h, k = x * 3, x * 4
    assert h.grad_fn.retained is None and k.grad_fn.retained is None
    h.retain_grad()
    ref = h.grad_fn.retained
    assert h.retains_grad and ref is not None and ref() is h
    (h + k).sum().backward()
    assert h.grad is not None and k.grad is None  # k was not retained
    x.retain_grad()  # a leaf: nothing to do, its .grad is always kept
    assert x.grad is not None


def test_custom_function_and_its_context() -> None:
    class Cube(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, x: Tensor, scale: float) -> Tensor:
            ctx.save_for_backward(x)
            ctx.scale = scale
            return Tensor(scale * x.data**3)

        @staticmethod
        def backward(ctx: ag.FunctionCtx, g: Tensor) -> tuple[Tensor, None]:
            (x,) = ctx.saved_tensors
            return Tensor(ctx.scale * 3 * x.data**2 * g.data), None

    x = tt.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    assert ag.gradcheck(lambda t: Cube.apply(t, 0.5), [x])
    y = Cube.apply(x, 2.0)
    assert y.requires_grad and repr(y.grad_fn) == "<CubeBackward>"
    with ag.no_grad():
        assert Cube.apply(x, 2.0).grad_fn is None


def test_function_returning_wrong_number_of_grads_is_an_error() -> None:
    class Bad(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, x: Tensor, y: Tensor) -> Tensor:
            return Tensor(x.data + y.data)

        @staticmethod
        def backward(ctx: ag.FunctionCtx, g: Tensor) -> Tensor:
            return g

    a = tt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradients but forward took 2"):
        Bad.apply(a, a).sum().backward()


def test_inplace_assignment_into_a_grad_tensor_is_refused() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 5.0
    with ag.no_grad():
        x[0] = 5.0
    assert x.data[0] == 5.0


def test_detach_cuts_the_graph() -> None:
    x = tt.tensor([1.0], requires_grad=True)
    y = (x * 2).detach() * x
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.item() == 2.0


def test_adopted_gradients_never_alias_other_arrays() -> None:
    """Leaf `.grad` may adopt a rule's fresh array, but never one somebody else holds."""
    x = Tensor(np.ones((3, 3)), dtype=tt.float64, requires_grad=True)
    w = Tensor(np.full((3, 3), 2.0), dtype=tt.float64, requires_grad=True)
    y = x @ w  # fresh arrays from the matmul rule: adopted
    h = y * 1.0  # a non-leaf sharing `add`'s gradient with the leaf x below
    (h + x).sum().backward()
    assert x.grad is not None and w.grad is not None
    np.testing.assert_allclose(x.grad.data, np.full((3, 3), 7.0))  # 1 + w.sum(1)
    np.testing.assert_allclose(w.grad.data, np.full((3, 3), 3.0))
    before = x.grad.data.copy()
    (x * 1.0).sum().backward()  # a second backward accumulates in place
    np.testing.assert_allclose(x.grad.data, before + 1.0)
    assert not np.shares_memory(x.grad.data, w.grad.data)


def test_grad_from_a_broadcast_gradient_is_its_own_writable_array() -> None:
    """sum() hands back one value viewed everywhere (strides 0); each leaf gets a real copy."""
    a = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    (a + b).sum().backward()
    for t in (a, b):
        assert t.grad is not None and t.grad.dtype == np.float32
        g = t.grad.data
        assert g.flags.writeable and g.flags.c_contiguous and g.strides == (12, 4)
    assert a.grad is not None and b.grad is not None
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[0, 0] = 5.0  # writing one element changes only that element
    np.testing.assert_array_equal(a.grad.data.ravel(), [5.0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(b.grad.data, np.ones((2, 3)))


def test_custom_function_results_are_copied_into_grad() -> None:
    """A Function may hand back an array it keeps; `.grad` must not alias it."""
    kept = np.full(3, 5.0)

    class Leak(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, a: Tensor) -> Tensor:
            return Tensor(a.data * 2)

        @staticmethod
        def backward(ctx: ag.FunctionCtx, grad_output: Tensor) -> Tensor:
            return Tensor(kept)

    x = Tensor(np.zeros(3), dtype=tt.float64, requires_grad=True)
    Leak.apply(x).sum().backward()
    assert x.grad is not None
    assert not np.shares_memory(x.grad.data, kept)
    Leak.apply(x).sum().backward()
    np.testing.assert_allclose(kept, 5.0)  # accumulation wrote into x.grad, not `kept`
    np.testing.assert_allclose(x.grad.data, 10.0)


def test_each_node_runs_once_after_all_its_consumers() -> None:
    """A node fed by a short and a long path runs once, with both gradients summed."""
    calls: list[np.ndarray] = []

    class Spy(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, a: Tensor) -> Tensor:
            return Tensor(a.data.copy())

        @staticmethod
        def backward(ctx: ag.FunctionCtx, grad_output: Tensor) -> Tensor:
            calls.append(grad_output.data.copy())
            return grad_output

    x = tt.tensor([1.0, 2.0], requires_grad=True)
    f = Spy.apply(x)
    long = ((f + 1.0) * 1.0 + 1.0) * 1.0
    (f * 2.0 + long).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [3.0, 3.0])
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_the_implicit_seed_is_never_shared_with_a_grad() -> None:
    x = tt.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad is not None
    x.grad.data += 41.0  # must not change the 1 that seeds the next backward
    y = tt.tensor(3.0, requires_grad=True)
    (y * 1.0).backward()
    assert y.grad is not None and y.grad.item() == 1.0


def test_a_custom_function_gradient_of_the_wrong_shape_is_an_error() -> None:
    class Wrong(ag.Function):
        @staticmethod
        def forward(ctx: ag.FunctionCtx, a: Tensor) -> Tensor:
            return Tensor(a.data * 2)

        @staticmethod
        def backward(ctx: ag.FunctionCtx, grad_output: Tensor) -> Tensor:
            return Tensor(np.ones(5))

    x = tt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned shape \(5,\) for an input of shape \(2,\)"):
        Wrong.apply(x).sum().backward()
