"""tt-tensor alone: no graph, and backward() says how to get autograd."""

import importlib.util

import pytest
import tt_tensor as tt


@pytest.mark.skipif(
    importlib.util.find_spec("tt_autograd") is not None,
    reason="tt-autograd is installed here; this checks the isolated tt-tensor environment",
)
def test_backward_without_autograd_says_to_install_it() -> None:
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    assert y.grad_fn is None
    with pytest.raises(RuntimeError, match="pip install tt-autograd"):
        y.backward()


def test_plain_tensors_record_nothing() -> None:
    x = tt.tensor([1.0, 2.0])
    assert (x * 3).grad_fn is None
    assert not (x * 3).requires_grad
