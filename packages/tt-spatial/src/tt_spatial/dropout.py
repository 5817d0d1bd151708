"""Channel dropout: zero whole feature maps, because neighbouring pixels are correlated.

Dropping single pixels barely regularizes a CNN (the neighbours carry the same
information); `dropout2d` zeroes entire channels instead and scales the rest
by 1 / (1 - p) so the expected activation is unchanged.
"""

from __future__ import annotations

import numpy as np
from tt_tensor import Tensor, generator


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each (sample, channel) map with probability `p`, as `torch.nn.functional.dropout2d`.

    Accepts (N, C, H, W) or unbatched (C, H, W) input. The mask multiplies the
    input, so the gradient is the same mask: autograd's `mul` rule suffices.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(
            f"dropout2d: expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, got {shape}"
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * Tensor(np.zeros((1,) * input.ndim, dtype=input.dtype))
    lead = input.shape[: input.ndim - 2]
    keep = generator().random(lead) >= p
    mask = (keep / (1.0 - p)).astype(input.dtype).reshape(*lead, 1, 1)
    return input * Tensor(mask)
