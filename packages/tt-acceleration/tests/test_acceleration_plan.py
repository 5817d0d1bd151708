"""Compiled inference plans and batched inference equal the plain models."""

from __future__ import annotations

import numpy as np
import pytest
from tt_acceleration import ConvAutotuner, batched_inference, compile_inference
from tt_activations import GELU, ReLU, Sigmoid, Tanh
from tt_autograd import no_grad
from tt_layers import Dropout, Flatten, Linear, Module, Sequential
from tt_spatial import AdaptiveAvgPool2d, BatchNorm2d, CifarResNet, Conv2d, MaxPool2d, SimpleCNN
from tt_tensor import Tensor, manual_seed, randn
from tt_transformers import LayerNorm


def _plain(model: Module, x: Tensor) -> np.ndarray:
    model.eval()
    with no_grad():
        return np.asarray(model(x).data)


@pytest.fixture
def tuner() -> ConvAutotuner:
    return ConvAutotuner(repeats=1, warmup=0)


def test_resnet_plan_equals_model(tuner: ConvAutotuner) -> None:
    manual_seed(0)
    model = CifarResNet(widths=(4, 8, 8, 16))
    x = randn(3, 3, 32, 32)
    model(x)  # training step: running statistics move away from 0 / 1
    plan = compile_inference(model, autotuner=tuner)
    assert plan.fallbacks == [] and len(plan.folded) == 8
    np.testing.assert_allclose(plan(x).data, _plain(model, x), rtol=1e-4, atol=1e-5)


def test_cnn_plan_fuses_relu_and_keeps_input(tuner: ConvAutotuner) -> None:
    manual_seed(1)
    model = SimpleCNN(width=4)
    x = randn(2, 1, 28, 28)
    x_before = x.data.copy()
    plan = compile_inference(model, autotuner=tuner)
    # the ReLU between the convolution and the max-pooling moves after the pooling
    assert "Conv2d(4, 1, 5, 5)\n" in plan.describe()
    assert "MaxPool2d(2, 2) + relu" in plan.describe()
    first = plan(x)
    second = plan(x)
    np.testing.assert_array_equal(x.data, x_before)
    np.testing.assert_array_equal(first.data, second.data)
    assert first.data is not second.data  # results do not share the reused buffers
    np.testing.assert_allclose(first.data, _plain(model, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", [ReLU, GELU, Tanh])
def test_relu_moves_after_pooling_only_when_it_may(tuner: ConvAutotuner, act: type) -> None:
    manual_seed(4)
    pooled = Sequential(Conv2d(2, 3, 3, padding=1), act(), MaxPool2d(2))
    unpoolable = Sequential(Conv2d(2, 3, 3, padding=1), act(), MaxPool2d(2, padding=1))
    x = randn(2, 2, 8, 8) * 3
    for model in (pooled, unpoolable):
        plan = compile_inference(model, autotuner=tuner)
        moved = act is ReLU and model is pooled
        assert ("+ relu" in plan.steps[1].name) is moved
        assert (" + " in plan.steps[0].name) is (not moved)  # else fused into the conv
        np.testing.assert_allclose(plan(x).data, _plain(model, x), rtol=1e-5, atol=1e-6)


def test_average_pooling_folds_into_the_linear(
    tuner: ConvAutotuner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tt_acceleration.plan import PooledLinearStep

    manual_seed(5)
    model = Sequential(
        Sequential(Conv2d(2, 4, 3), ReLU()), AdaptiveAvgPool2d(1), Flatten(), Linear(4, 3), Tanh()
    )
    x = randn(3, 2, 7, 6) * 2
    plan = compile_inference(model, autotuner=tuner)
    assert plan.steps[-1].name == "AdaptiveAvgPool2d(1) + Flatten + Linear(4, 3) + tanh"
    want = _plain(model, x)
    np.testing.assert_allclose(plan(x).data, want, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(PooledLinearStep, "MAX_EXPANDED", 1)  # too big: pool, then matmul
    np.testing.assert_allclose(plan(x).data, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("act", [ReLU, GELU, Tanh, Sigmoid])
def test_mlp_plan_with_each_activation(act: type) -> None:
    manual_seed(2)
    model = Sequential(Linear(6, 12), act(), Dropout(0.3), Linear(12, 12), act(), Linear(12, 3))
    x = randn(5, 6) * 4
    plan = compile_inference(model)
    np.testing.assert_allclose(plan(x).data, _plain(model, x), rtol=1e-5, atol=2e-6)


def test_layernorm_pooling_and_standalone_batchnorm(tuner: ConvAutotuner) -> None:
    manual_seed(3)
    model = Sequential(
        BatchNorm2d(2),  # nothing before it to fold into: a per-channel affine step
        Conv2d(2, 4, 3, stride=2, padding=1),
        GELU(),
        MaxPool2d(3, stride=1),
        Flatten(),
        LayerNorm(4 * 4 * 4),
        Linear(64, 2),
    )
    x = randn(4, 2, 11, 11)
    model(x)
    plan = compile_inference(model, autotuner=tuner)
    assert plan.fallbacks == []
    np.testing.assert_allclose(plan(x).data, _plain(model, x), rtol=1e-4, atol=1e-5)


def test_unknown_layers_fall_back_and_are_listed() -> None:
    class Double(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * 2

    model = Sequential(Linear(3, 3), Double(), ReLU())
    plan = compile_inference(model)
    assert plan.fallbacks == ["Double"]
    x = randn(2, 3)
    np.testing.assert_allclose(plan(x).data, _plain(model, x), rtol=1e-6, atol=1e-6)


def test_batched_inference_equals_one_call() -> None:
    manual_seed(4)
    model = Sequential(Linear(8, 16), ReLU(), Linear(16, 4))
    x = randn(37, 8)
    full = _plain(model, x)
    for bs in (1, 5, 37, 100):
        np.testing.assert_allclose(batched_inference(model, x, bs).data, full, atol=1e-6)
    plan = compile_inference(model)
    np.testing.assert_allclose(batched_inference(plan, x.data, 8).data, full, atol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        batched_inference(model, x, 0)


def test_small_batches_use_buffered_convolutions_large_ones_the_autotuner(
    tuner: ConvAutotuner,
) -> None:
    from tt_acceleration.plan import BUFFERED_MAX_BATCH, ConvStep

    manual_seed(3)
    model = CifarResNet(widths=(4, 8, 8, 16)).eval()
    plan = compile_inference(model, autotuner=tuner)

    def convs(steps: list) -> list[ConvStep]:  # type: ignore[type-arg]
        found: list[ConvStep] = []
        for s in steps:
            found += [s] if isinstance(s, ConvStep) else convs(getattr(s, "body", []))
        return found

    one, many = randn(1, 3, 32, 32), randn(BUFFERED_MAX_BATCH + 1, 3, 32, 32)
    for _ in range(2):  # the second call runs the method chosen on the first
        np.testing.assert_allclose(plan(one).data, _plain(model, one), rtol=1e-4, atol=1e-5)
    steps = convs(plan.steps)
    assert len(steps) == 8
    for step in steps:
        assert step.buffered is not None and len(step.buffered.records) == 1
        (times,) = step.buffered.records.values()
        assert {"window", "gather", "autotuned"} <= set(times)
    np.testing.assert_allclose(plan(many).data, _plain(model, many), rtol=1e-4, atol=1e-5)
    assert all(len(s.buffered.records) == 1 for s in steps if s.buffered is not None)


def test_an_empty_batch_gives_an_empty_result(tuner: ConvAutotuner) -> None:
    manual_seed(4)
    plan = compile_inference(CifarResNet(widths=(4, 8, 8, 16), num_classes=5), autotuner=tuner)
    assert plan(np.zeros((0, 3, 32, 32), np.float32)).shape == (0, 5)
