"""clip_grad_norm_ against torch.nn.utils.clip_grad_norm_."""

import math

import numpy as np
import pytest
from tt_tensor import Tensor
from tt_training import clip_grad_norm_

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1e3])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3,), (2, 2, 2))]
    mine, theirs = [], []
    for g in grads:
        p = Tensor(np.zeros_like(g), requires_grad=True)
        p.grad = Tensor(g.copy())
        mine.append(p)
        q = torch.zeros(g.shape, requires_grad=True)
        q.grad = torch.tensor(g.copy())
        theirs.append(q)
    total = clip_grad_norm_(mine, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert float(total.item()) == pytest.approx(float(expected), rel=1e-6)
    for p, q in zip(mine, theirs, strict=True):
        assert p.grad is not None
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-6, atol=1e-7)
