"""quantize_model, save_quantized / load_quantized on small real models."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from tt_layers import Flatten, Linear, Module, Sequential
from tt_quantization import (
    QConfig,
    QuantizedConv2d,
    QuantizedLinear,
    load_quantized,
    quantize_model,
    quantized_layers,
    save_quantized,
)
from tt_spatial import BatchNorm2d, Conv2d, MaxPool2d
from tt_tensor import Tensor, manual_seed, save


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * (x > 0)


def _mlp(sizes: tuple[int, ...] = (20, 64, 32, 4)) -> Sequential:
    manual_seed(0)
    layers: list[Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def _cnn() -> Sequential:
    manual_seed(0)
    return Sequential(
        Conv2d(3, 8, 3, padding=1),
        BatchNorm2d(8),
        ReLU(),
        MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, stride=2),
        ReLU(),
        Flatten(),
        Linear(16 * 2 * 2, 5),
    )


def _batches(shape: tuple[int, ...], n: int, seed: int) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(shape).astype(np.float32)) for _ in range(n)]


def _agreement(a: Module, b: Module, x: Tensor) -> float:
    return float(np.mean(a(x).data.argmax(1) == b(x).data.argmax(1)))


@pytest.mark.parametrize(
    "cfg",
    [
        QConfig(),
        QConfig(observer="percentile"),
        QConfig(per_channel=False),
        QConfig(requantize_output=False),
    ],
    ids=["default", "percentile", "per-tensor", "no-requant"],
)
def test_mlp_quantized_predictions_agree_with_float(cfg: QConfig) -> None:
    model = _mlp()
    model.eval()
    qmodel = quantize_model(model, _batches((64, 20), 4, seed=1), cfg)
    assert [type(m) for m in qmodel] == [
        QuantizedLinear,
        ReLU,
        QuantizedLinear,
        ReLU,
        QuantizedLinear,
    ]
    assert all(isinstance(m, Linear) for m in model[::2])  # the original is untouched
    x = _batches((512, 20), 1, seed=2)[0]
    assert _agreement(model, qmodel, x) >= 0.97
    rel = np.abs(qmodel(x).data - model(x).data).mean() / model(x).data.std()
    assert rel < 0.03


def test_cnn_with_batchnorm_and_pooling() -> None:
    model = _cnn()
    model.train()
    for b in _batches((16, 3, 8, 8), 3, seed=3):  # give BatchNorm non-trivial statistics
        model(b)
    model.eval()
    qmodel = quantize_model(model, _batches((16, 3, 8, 8), 4, seed=4))
    kinds = [type(m).__name__ for m in qmodel]
    assert kinds.count("QuantizedConv2d") == 2 and kinds.count("QuantizedLinear") == 1
    x = _batches((256, 3, 8, 8), 1, seed=5)[0]
    assert _agreement(model, qmodel, x) >= 0.95


def test_calibration_accepts_pairs_and_arrays_and_leaves_model_mode() -> None:
    model = _mlp()
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal((8, 20)).astype(np.float32), np.zeros(8, np.int64))]
    qmodel = quantize_model(model, iter(pairs))
    assert len(quantized_layers(qmodel)) == 3
    assert model.training  # the float model's mode is not touched (a copy was calibrated)


def test_inplace_and_root_layer() -> None:
    lin = Linear(5, 3)
    q = quantize_model(lin, _batches((4, 5), 1, seed=0))
    assert isinstance(q, QuantizedLinear)
    model = _mlp()
    same = quantize_model(model, _batches((4, 20), 1, seed=0), inplace=True)
    assert same is model and isinstance(model[0], QuantizedLinear)


def test_errors_on_bad_calibration() -> None:
    model = _mlp()
    with pytest.raises(ValueError, match="no batch"):
        quantize_model(model, [])
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        quantize_model(Sequential(ReLU()), _batches((2, 3), 1, seed=0))
    with pytest.raises(TypeError, match="calibration batch"):
        quantize_model(model, ["not a tensor"])

    class Skips(Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = Linear(3, 3)
            self.unused = Linear(3, 3)

        def forward(self, x: Tensor) -> Tensor:
            return self.used(x)

    with pytest.raises(RuntimeError, match="never ran"):
        quantize_model(Skips(), _batches((2, 3), 1, seed=0))


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _cnn()
    model.eval()
    qmodel = quantize_model(model, _batches((8, 3, 8, 8), 2, seed=6))
    path = tmp_path / "q.safetensors"
    save_quantized(qmodel, path)
    raw = load_file(str(path))
    assert raw["0.weight"].dtype == np.int8 and raw["7.weight"].dtype == np.int8
    assert raw["0.weight_scale"].dtype == np.float32
    loaded = load_quantized(_cnn(), path)
    assert isinstance(loaded[0], QuantizedConv2d) and isinstance(loaded[7], QuantizedLinear)
    x = _batches((4, 3, 8, 8), 1, seed=7)[0]
    np.testing.assert_array_equal(loaded(x).data, qmodel(x).data)


def test_load_errors(tmp_path: Path) -> None:
    model = _mlp()
    float_path = tmp_path / "float.safetensors"
    save(model.state_dict(), float_path)
    with pytest.raises(ValueError, match="not a quantized model"):
        load_quantized(model, float_path)
    q_path = tmp_path / "q.safetensors"
    save_quantized(quantize_model(model, _batches((4, 20), 1, seed=0)), q_path)
    with pytest.raises(ValueError, match="lacks"):
        load_quantized(Sequential(Linear(20, 4)), q_path)
    with pytest.raises(ValueError, match="no quantized layer"):
        save_quantized(model, tmp_path / "x.safetensors")


def test_file_is_at_least_3_9x_smaller_on_a_real_size_mlp(tmp_path: Path) -> None:
    """The MNIST MLP shape (784-256-128-10, 235k parameters), saved both ways."""
    model = _mlp((784, 256, 128, 10))
    qmodel = quantize_model(model, _batches((32, 784), 2, seed=8))
    float_path, q_path = tmp_path / "f.safetensors", tmp_path / "q.safetensors"
    save(model.state_dict(), float_path)
    save_quantized(qmodel, q_path)
    ratio = float_path.stat().st_size / q_path.stat().st_size
    assert ratio >= 3.9, f"float {float_path.stat().st_size} B / int8 {q_path.stat().st_size} B"
