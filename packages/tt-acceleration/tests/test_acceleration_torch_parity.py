"""Accelerated kernels against PyTorch (skipped when PyTorch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")

from tt_acceleration import CANDIDATES, bias_gelu, layer_norm_inference  # noqa: E402


@pytest.mark.parametrize("name", sorted(CANDIDATES))
@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"), [(1, 1, 1, 1), (2, 0, 1, 2), (1, 2, 2, 4)]
)
def test_conv_candidates_match_torch(
    name: str, stride: int, padding: int, dilation: int, groups: int
) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 11, 10), dtype=np.float32)
    w = rng.standard_normal((12, 8 // groups, 3, 3), dtype=np.float32)
    b = rng.standard_normal(12, dtype=np.float32)
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        torch.from_numpy(b),
        stride,
        padding,
        dilation,
        groups,
    ).numpy()
    got = CANDIDATES[name](
        x, w, b, (stride, stride), (padding, padding), (dilation, dilation), groups
    )
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_bias_gelu_matches_torch(approximate: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 32), dtype=np.float32) * 4
    b = rng.standard_normal(32, dtype=np.float32)
    ref = torch.nn.functional.gelu(torch.from_numpy(x + b), approximate=approximate).numpy()
    np.testing.assert_allclose(bias_gelu(x, b, approximate), ref, rtol=1e-5, atol=2e-6)


def test_layer_norm_matches_torch() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 32), dtype=np.float32) * 3 + 1
    w = rng.standard_normal(32, dtype=np.float32)
    b = rng.standard_normal(32, dtype=np.float32)
    ref = torch.nn.functional.layer_norm(
        torch.from_numpy(x), (32,), torch.from_numpy(w), torch.from_numpy(b)
    ).numpy()
    np.testing.assert_allclose(layer_norm_inference(x, 1, w, b), ref, rtol=1e-5, atol=1e-5)
