"""The PyTorch twin used for the reference timing computes what the TinyTorch model computes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

from tt_autograd import no_grad  # noqa: E402
from tt_capstone import to_torch  # noqa: E402
from tt_capstone.models import build_mlp  # noqa: E402
from tt_compression import prune_channels  # noqa: E402
from tt_layers import Module  # noqa: E402
from tt_spatial import CifarResNet, SimpleCNN  # noqa: E402
from tt_tensor import Tensor, manual_seed  # noqa: E402


def check(model: Module, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32)
    twin, why = to_torch(model)
    assert twin is not None, why
    with no_grad():
        ours = model(Tensor(x)).data
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_cifar_resnet_twin_with_trained_batchnorm_statistics() -> None:
    manual_seed(0)
    model = CifarResNet((4, 8, 8, 16))
    model.train()
    model(Tensor(np.random.default_rng(1).standard_normal((8, 3, 32, 32)).astype(np.float32)))
    check(model.eval(), (3, 32, 32))


def test_pruned_and_other_models() -> None:
    manual_seed(1)
    pruned, _ = prune_channels(CifarResNet((4, 8, 8, 16)).eval(), 0.5)
    check(pruned, (3, 32, 32))
    check(SimpleCNN(width=4).eval(), (1, 28, 28))
    check(build_mlp((16, 8)).eval(), (1, 28, 28))


def test_unsupported_layer_is_reported_not_guessed() -> None:
    class Odd(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    twin, why = to_torch(Odd())
    assert twin is None and "cannot store a Odd" in why


def test_pipeline_times_the_same_model_in_pytorch(tmp_path: object) -> None:
    from tt_capstone import optimize

    manual_seed(2)
    model = CifarResNet((4, 4, 8, 8)).eval()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 3, 16, 16)).astype(np.float32)
    r = optimize(
        model, x, (x, rng.integers(0, 10, 16)), sparsity=0.0, repeats=4, warmup=0,
        out_dir=str(tmp_path), log=None, profile=False,
    )  # fmt: skip
    assert r.torch is not None and r.torch.n == 4 * 10  # rounds x the default burst
    assert "torch" in r.torch_note and "max |logit difference|" in r.torch_note
    assert "PyTorch (same float32 model" in r.table()
    names = [c.baseline.name for c in r.benchmark.comparisons]
    assert "pytorch" in names  # PyTorch against the deployed model, Mann-Whitney tested
