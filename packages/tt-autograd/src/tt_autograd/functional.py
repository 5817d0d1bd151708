"""`grad` and `gradcheck`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tt_tensor import Tensor

from .engine import run_backward
from .grad_mode import no_grad


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, without touching `.grad`."""
    if create_graph:
        raise ValueError(
            "create_graph=True asks for higher-order gradients, which TinyTorch's NumPy "
            "backward rules do not record; compute them by finite differences instead"
        )
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gouts: list[Tensor | None] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gouts = [grad_outputs]
    else:
        gouts = list(grad_outputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    captured = run_backward(outs, gouts, bool(retain_graph), accumulate=False, capture=ins)
    result: list[Tensor | None] = []
    for t in ins:
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        result.append(None if g is None else Tensor(np.asarray(g, dtype=t.data.dtype)))
    return tuple(result)


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare autograd's gradients with float64 central differences.

    Every input that requires grad must be float64: float32 finite differences
    are too noisy to tell a wrong gradient from rounding. The output is reduced
    with a fixed random projection so each input needs one backward pass.
    """
    tensors = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not tensors:
        raise ValueError("gradcheck: no input requires grad")
    for t in tensors:
        if t.data.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs, got {t.data.dtype}")
    out = fn(*inputs)
    rng = np.random.default_rng(0)
    proj = rng.standard_normal(out.shape)
    analytic = grad((out * Tensor(proj)).sum(), tensors, allow_unused=True)
    with no_grad():
        for t, a in zip(tensors, analytic, strict=True):
            num = np.zeros_like(t.data)
            flat = t.data.reshape(-1)
            nflat = num.reshape(-1)
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                plus = float((fn(*inputs).data * proj).sum())
                flat[i] = orig - eps
                minus = float((fn(*inputs).data * proj).sum())
                flat[i] = orig
                nflat[i] = (plus - minus) / (2 * eps)
            got = np.zeros_like(t.data) if a is None else a.data
            if not np.allclose(got, num, atol=atol, rtol=rtol):
                if raise_exception:
                    worst = np.unravel_index(np.argmax(np.abs(got - num)), num.shape)
                    raise AssertionError(
                        f"gradcheck failed for input of shape {t.shape}: analytic "
                        f"{got[worst]:.6g} vs numerical {num[worst]:.6g} at index {worst} "
                        f"(max abs diff {np.abs(got - num).max():.3g})"
                    )
                return False
    return True
