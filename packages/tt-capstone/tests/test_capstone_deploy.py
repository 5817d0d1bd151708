"""Architecture descriptions, the deployed file format, and the milestone model loaders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tt_autograd import no_grad
from tt_capstone import build, dequantize_model, describe, load_deployed, save_deployed
from tt_capstone.deploy import deploy
from tt_capstone.models import (
    build_mlp,
    cifar_resnet_from_state,
    load_cifar_resnet,
    load_mnist_mlp,
    mlp_from_state,
    train_classifier,
)
from tt_compression import prune_channels
from tt_layers import Module
from tt_quantization import quantize_model, quantized_layers
from tt_spatial import CifarResNet, SimpleCNN
from tt_tensor import Tensor, manual_seed, save_tensors


def run(model: Module, x: np.ndarray) -> np.ndarray:
    with no_grad():
        return np.asarray(model(Tensor(x)).data)


@pytest.mark.parametrize(
    "make",
    [lambda: CifarResNet((4, 8, 8, 16)), lambda: SimpleCNN(width=4), lambda: build_mlp((8,))],
)
def test_describe_build_round_trip(make: object) -> None:
    manual_seed(0)
    model = make().eval()  # type: ignore[operator]
    spec = describe(model)
    json.dumps(spec)  # plain JSON
    twin = build(json.loads(json.dumps(spec)))
    twin.load_state_dict(model.state_dict())
    twin.eval()
    x = np.random.default_rng(0).standard_normal((2, *_input_shape(model))).astype(np.float32)
    np.testing.assert_array_equal(run(twin, x), run(model, x))
    assert describe(twin) == spec


def _input_shape(model: Module) -> tuple[int, ...]:
    return (3, 32, 32) if isinstance(model, CifarResNet) else (1, 28, 28)


def test_describe_refuses_unknown_layers() -> None:
    class Odd(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    with pytest.raises(ValueError, match="cannot store a Odd"):
        describe(Odd())
    with pytest.raises(ValueError, match="unknown layer type"):
        build({"type": "Teleport"})


def test_pruned_model_round_trips_through_the_deployed_files(tmp_path: Path) -> None:
    manual_seed(1)
    model, _ = prune_channels(CifarResNet((4, 8, 8, 16)).eval(), 0.5)
    x = np.random.default_rng(1).standard_normal((16, 3, 32, 32)).astype(np.float32)
    q = quantize_model(model, [Tensor(x)])
    files = save_deployed(q, tmp_path / "d", input_shape=(3, 32, 32), metadata={"k": [1, 2]})
    assert files.size_bytes == files.weights.stat().st_size + files.manifest.stat().st_size
    loaded = load_deployed(files.directory)
    assert loaded.metadata == {"k": [1, 2]} and loaded.input_shape == (3, 32, 32)
    np.testing.assert_array_equal(loaded.run_int8(x).data, run(q, x))  # bit for bit
    np.testing.assert_allclose(loaded(x).data, run(dequantize_model(q), x), rtol=1e-4, atol=1e-4)
    assert loaded.plan.fallbacks == []
    with pytest.raises(ValueError, match=r"inputs of shape \(N, 3, 32, 32\)"):
        loaded(x[:, :2])


def test_dequantized_model_is_close_to_the_float_model() -> None:
    manual_seed(2)
    model = build_mlp((64,)).eval()
    x = np.random.default_rng(2).random((32, 1, 28, 28)).astype(np.float32)
    q = quantize_model(model, [Tensor(x)])
    deq = dequantize_model(q)
    assert not quantized_layers(deq)
    ref, got = run(model, x), run(deq, x)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


def test_save_deployed_needs_an_int8_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no quantized layer"):
        save_deployed(build_mlp((4,)), tmp_path, input_shape=(1, 28, 28))


def test_load_deployed_checks_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a deployed model"):
        load_deployed(tmp_path)
    manual_seed(3)
    x = np.random.default_rng(3).random((8, 1, 28, 28)).astype(np.float32)
    deploy(build_mlp((4,)), x, tmp_path / "d")
    manifest = tmp_path / "d" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format"] = "something-else"
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format 'something-else'"):
        load_deployed(tmp_path / "d")


def test_milestone_model_loaders(tmp_path: Path) -> None:
    manual_seed(4)
    cnn = CifarResNet((4, 8, 16, 16), num_classes=7).eval()
    save_tensors(cnn.state_dict(), tmp_path / "cnn.safetensors")
    back = load_cifar_resnet(tmp_path / "cnn.safetensors")
    x = np.random.default_rng(4).standard_normal((2, 3, 32, 32)).astype(np.float32)
    np.testing.assert_array_equal(run(back, x), run(cnn, x))
    mlp = build_mlp((12, 6)).eval()
    save_tensors(mlp.state_dict(), tmp_path / "mlp.safetensors")
    back_mlp = load_mnist_mlp(tmp_path / "mlp.safetensors")
    xm = x[:, :1, :28, :28].copy()
    np.testing.assert_array_equal(run(back_mlp, xm), run(mlp, xm))
    with pytest.raises(ValueError, match="not a CifarResNet"):
        cifar_resnet_from_state(mlp.state_dict())
    with pytest.raises(ValueError, match="not an MLP"):
        mlp_from_state({})


def test_train_classifier_learns() -> None:
    from tt_dataloader.fixtures import synthetic_digits

    images, labels = synthetic_digits(400, seed=0)
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    before = float((run(build_mlp((32,)), x).argmax(axis=1) == labels).mean())
    model = train_classifier(build_mlp((32,)), x, labels, epochs=8, batch_size=32)
    acc = float((run(model, x).argmax(axis=1) == labels).mean())
    assert acc > 0.7 > before  # seven-segment digits are easy
