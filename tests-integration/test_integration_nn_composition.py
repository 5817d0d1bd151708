"""Modules from different packages compose the way PyTorch's do."""

import numpy as np
import pytest
import tinytorch as torch
from tinytorch import nn


def test_sequential_of_layers_and_activations_behaves_like_pytorch() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5), nn.Softmax(dim=1))
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
    assert "(1): ReLU()" in repr(model)
    model.eval()
    assert not any(m.training for m in model.modules())
    out = model(torch.randn(4, 2))
    np.testing.assert_allclose(out.data.sum(1), np.ones(4), rtol=1e-6)
    model.train()
    assert all(m.training for m in model.modules())


def test_gradients_flow_through_layers_activations_and_losses() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(
        model(torch.randn(5, 3)), torch.tensor([0, 1, 1, 0, 1])
    )
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.abs(p.grad.data).sum() > 0, name


def test_pytorch_weights_give_the_same_outputs() -> None:
    t = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")
    ref = t.nn.Sequential(t.nn.Linear(3, 8), t.nn.Tanh(), t.nn.Linear(8, 2))
    ours = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    ours.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(torch.tensor(x)).data, ref(t.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
