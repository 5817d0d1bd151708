"""Forward values and gradients against PyTorch on random inputs."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_autograd  # noqa: F401  (registers the engine)
import tt_tensor as tt

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")

SHAPES: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...], tuple[int, ...]]] = {
    "add": (lambda a, b: a + b, (4, 1, 3), (5, 3)),
    "mul": (lambda a, b: a * b, (4, 5), (5,)),
    "div": (lambda a, b: a / (b * b + 1), (3, 4), (1, 4)),
    "matmul": (lambda a, b: a @ b, (2, 3, 4), (4, 5)),
    "tanh_sigmoid": (lambda a, b: a.tanh() * b.sigmoid(), (3, 4), (3, 4)),
    "reductions": (
        lambda a, b: a.sum(1, keepdim=True) * b.mean(0) + a.var(1, keepdim=True),
        (3, 4),
        (2, 4),
    ),
    "max_dim": (lambda a, b: a.max(1).values + b.amax(), (3, 4), (4,)),
    "softmax_chain": (
        lambda a, b: ((a - a.amax(-1, keepdim=True)).exp() * b).sum(-1),
        (3, 4),
        (3, 4),
    ),
    "pow_exp_log": (lambda a, b: (a * a + 1).log() + (b.clamp(-1, 1) ** 2).exp(), (6,), (6,)),
    "index": (lambda a, b: a[[0, 2, 2]] * b[1:4], (3, 4), (5, 4)),
    "relu_where": (lambda a, b: a.relu() + (a > 0).float() * b, (4, 4), (4,)),
}


def to_torch(x: np.ndarray[Any, Any]) -> Any:
    return torch.tensor(x, requires_grad=True)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_forward_and_gradients_match_pytorch(name: str) -> None:
    fn, sa, sb = SHAPES[name]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    ta, tb = tt.tensor(a, requires_grad=True), tt.tensor(b, requires_grad=True)
    pa, pb = to_torch(a), to_torch(b)
    out, pout = fn(ta, tb), fn(pa, pb)
    np.testing.assert_allclose(out.data, pout.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(tt.tensor(g))
    pout.backward(torch.tensor(g))
    assert ta.grad is not None and tb.grad is not None
    np.testing.assert_allclose(ta.grad.data, pa.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tb.grad.data, pb.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_extreme_values_match_pytorch() -> None:
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)
    t = tt.tensor(x, requires_grad=True)
    p = to_torch(x)
    t.sigmoid().sum().backward()
    p.sigmoid().sum().backward()
    assert t.grad is not None
    np.testing.assert_allclose(t.grad.data, p.grad.numpy(), atol=1e-7)
    np.testing.assert_allclose(tt.tensor(x).tanh().data, torch.tensor(x).tanh().numpy())
