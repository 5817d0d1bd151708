"""Forward values and gradients against PyTorch on random inputs and extreme logits."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_activations as A
from tt_tensor import Tensor

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient parity skipped"
)

Fn = Callable[[Any], Any]
# (tinytorch version, torch version)
PAIRS: dict[str, tuple[Fn, Fn]] = {
    "relu": (A.relu, lambda x: torch.relu(x)),
    "sigmoid": (A.sigmoid, lambda x: torch.sigmoid(x)),
    "tanh": (A.tanh, lambda x: torch.tanh(x)),
    "gelu": (A.gelu, lambda x: torch.nn.functional.gelu(x)),
    "gelu_tanh": (
        lambda x: A.gelu(x, approximate="tanh"),
        lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    ),
    "softmax_1": (lambda x: A.softmax(x, 1), lambda x: torch.softmax(x, 1)),
    "softmax_-1": (lambda x: A.softmax(x, -1), lambda x: torch.softmax(x, -1)),
    "log_softmax_0": (lambda x: A.log_softmax(x, 0), lambda x: torch.log_softmax(x, 0)),
    "log_softmax_-1": (lambda x: A.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1)),
    "ReLU": (A.ReLU(), torch.nn.ReLU()),
    "GELU": (A.GELU(), torch.nn.GELU()),
    "Softmax": (A.Softmax(dim=2), torch.nn.Softmax(dim=2)),
    "LogSoftmax": (A.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
}


def compare(name: str, x: np.ndarray[Any, Any], atol: float = 1e-5) -> None:
    ours, theirs = PAIRS[name]
    a = Tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), theirs(b)
    np.testing.assert_allclose(ya.data, yb.detach().numpy(), rtol=1e-5, atol=atol)
    proj = np.random.default_rng(1).standard_normal(x.shape).astype(x.dtype)
    (ya * Tensor(proj)).sum().backward()
    (yb * torch.tensor(proj)).sum().backward()
    assert a.grad is not None
    np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-4, atol=atol)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_random_inputs(name: str) -> None:
    x = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 3).astype(np.float32)
    compare(name, x)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_extreme_inputs(name: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.choice(np.array([-1e4, -30.0, -1.0, 0.5, 30.0, 1e4], dtype=np.float32), (3, 4, 5))
    compare(name, x, atol=1e-4)


@pytest.mark.parametrize("name", ["gelu", "softmax_1", "log_softmax_-1"])
def test_float64(name: str) -> None:
    x = np.random.default_rng(3).standard_normal((4, 6)) * 4
    compare(name, x, atol=1e-6)
