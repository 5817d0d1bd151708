"""Against PyTorch: state_dict keys and shapes, outputs and gradients with copied weights,
default initialisation statistics, dropout behaviour."""

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import tt_layers as L
import tt_tensor as tt
from tt_layers import init

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
pytest.importorskip(
    "tt_autograd", reason="tt-autograd not installed (isolated run): gradient parity skipped"
)
nn = torch.nn


class Square:
    """A parameter-free module-like step (stands in for an activation module)."""

    def forward(self, x: Any) -> Any:
        return x * x

    def __call__(self, x: Any) -> Any:
        return self.forward(x)


def tt_model() -> L.Module:
    return L.Sequential(
        OrderedDict(
            [
                ("fc1", L.Linear(6, 8)),
                ("sq", Square()),
                ("drop", L.Dropout(0.2)),
                ("blocks", L.ModuleList([L.Linear(8, 8, bias=False), L.Linear(8, 8)])),
                ("flat", L.Flatten()),
                ("out", L.Linear(8, 3)),
            ]
        )
    )


def torch_model() -> Any:
    class Sq(nn.Module):  # type: ignore[misc,name-defined]
        def forward(self, x: Any) -> Any:
            return x * x

    return nn.Sequential(
        OrderedDict(
            [
                ("fc1", nn.Linear(6, 8)),
                ("sq", Sq()),
                ("drop", nn.Dropout(0.2)),
                ("blocks", nn.ModuleList([nn.Linear(8, 8, bias=False), nn.Linear(8, 8)])),
                ("flat", nn.Flatten()),
                ("out", nn.Linear(8, 3)),
            ]
        )
    )


def test_state_dict_keys_and_shapes_match() -> None:
    ours = {k: v.shape for k, v in tt_model().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in torch_model().state_dict().items()}
    assert list(ours) == list(theirs)
    assert ours == theirs


def test_copied_weights_give_same_outputs_and_gradients() -> None:
    tm = torch_model().eval()
    ours = tt_model().eval()
    ours.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)

    def run(model: Any, xt: Any) -> Any:
        h = model.fc1(xt)
        h = model.sq(h)
        h = model.drop(h)
        for block in model.blocks:
            h = block(h)
        return model.out(model.flat(h))

    ya = run(ours, tt.Tensor(x))
    yb = run(tm, torch.tensor(x))
    np.testing.assert_allclose(ya.data, yb.detach().numpy(), rtol=1e-5, atol=1e-5)
    ya.sum().backward()
    yb.sum().backward()
    grads_b = {n: p.grad.numpy() for n, p in tm.named_parameters()}
    for name, p in ours.named_parameters():
        assert p.grad is not None
        np.testing.assert_allclose(p.grad.data, grads_b[name], rtol=1e-4, atol=1e-5)


def test_linear_batched_matches() -> None:
    tl = nn.Linear(4, 3)
    ours = L.Linear(4, 3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 5, 4)).astype(np.float32)
    a = tt.Tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), tl(b)
    np.testing.assert_allclose(ya.data, yb.detach().numpy(), rtol=1e-5, atol=1e-6)
    (ya * ya).sum().backward()
    (yb * yb).sum().backward()
    assert a.grad is not None and ours.bias is not None and ours.bias.grad is not None
    np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.bias.grad.data, tl.bias.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_default_init_statistics_match() -> None:
    torch.manual_seed(0)
    tt.manual_seed(0)
    tl, ours = nn.Linear(200, 300), L.Linear(200, 300)
    for name in ("weight", "bias"):
        a = getattr(ours, name).data
        b = getattr(tl, name).detach().numpy()
        assert abs(np.abs(a).max() - np.abs(b).max()) < 0.01 * np.abs(b).max()
        assert abs(a.std() - b.std()) < 0.05 * b.std()


@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    [
        (init.kaiming_uniform_, nn.init.kaiming_uniform_, {"nonlinearity": "relu"}),
        (init.kaiming_normal_, nn.init.kaiming_normal_, {"mode": "fan_out"}),
        (init.xavier_uniform_, nn.init.xavier_uniform_, {"gain": 0.5}),
        (init.xavier_normal_, nn.init.xavier_normal_, {}),
    ],
)
def test_init_std_matches(ours: Any, theirs: Any, kwargs: dict[str, Any]) -> None:
    a = ours(tt.zeros(64, 32, 3, 3), **kwargs).data
    b = theirs(torch.zeros(64, 32, 3, 3), **kwargs).numpy()
    assert abs(a.std() / b.std() - 1) < 0.03


def test_calculate_gain_matches() -> None:
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("selu", None)]:
        expected = nn.init.calculate_gain(name, param)
        assert init.calculate_gain(name, param) == pytest.approx(expected)


def test_dropout_expectation_matches() -> None:
    x = np.ones((400, 400), dtype=np.float32)
    a = L.Dropout(0.25)(tt.Tensor(x)).data
    b = nn.Dropout(0.25)(torch.tensor(x)).numpy()
    assert set(np.unique(a)) == set(np.unique(b))  # {0, 1/(1-p)}
    assert abs((a == 0).mean() - (b == 0).mean()) < 0.01


def test_repr_matches() -> None:
    for ours, theirs in [
        (L.Linear(3, 4), nn.Linear(3, 4)),
        (L.Linear(3, 4, bias=False), nn.Linear(3, 4, bias=False)),
        (L.Dropout(0.3), nn.Dropout(0.3)),
        (L.Flatten(), nn.Flatten()),
        (L.Identity(), nn.Identity()),
        (L.Sequential(L.Linear(1, 2), L.Flatten()), nn.Sequential(nn.Linear(1, 2), nn.Flatten())),
        (L.ModuleList([L.Linear(1, 1)]), nn.ModuleList([nn.Linear(1, 1)])),
    ]:
        assert repr(ours) == repr(theirs)
