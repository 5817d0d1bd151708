"""The same model in PyTorch, for a reference timing (only when torch is importable).

PyTorch is never a dependency: it is imported lazily, and the twin is built
from the architecture description (`arch.describe`), so every layer the
deployed file can hold has a PyTorch counterpart with the same state_dict keys.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from tt_layers import Module

from .arch import Spec, describe


def _twin(torch: Any, spec: Spec) -> Any:
    nn = torch.nn
    kind = spec["type"]
    if kind == "Sequential":
        return nn.Sequential(OrderedDict((str(n), _twin(torch, c)) for n, c in spec["children"]))
    if kind == "Residual":

        class Residual(nn.Module):  # type: ignore[misc, name-defined]
            def __init__(self, body: Any) -> None:
                super().__init__()
                self.body = body

            def forward(self, x: Any) -> Any:
                return x + self.body(x)

        return Residual(_twin(torch, spec["body"]))
    if kind == "Conv2d":
        pad = spec["padding"]
        return nn.Conv2d(
            spec["in_channels"],
            spec["out_channels"],
            tuple(spec["kernel_size"]),
            tuple(spec["stride"]),
            pad if isinstance(pad, str) else tuple(pad),
            tuple(spec["dilation"]),
            spec["groups"],
            spec["bias"],
        )
    if kind == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], spec["bias"])
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        cls = nn.BatchNorm1d if kind == "BatchNorm1d" else nn.BatchNorm2d
        return cls(
            spec["num_features"],
            spec["eps"],
            spec["momentum"],
            spec["affine"],
            spec["track_running_stats"],
        )
    if kind == "MaxPool2d":
        return nn.MaxPool2d(
            spec["kernel_size"], spec["stride"], spec["padding"], spec["dilation"],
            ceil_mode=spec["ceil_mode"],
        )  # fmt: skip
    if kind == "AdaptiveAvgPool2d":
        out = spec["output_size"]
        return nn.AdaptiveAvgPool2d(tuple(out) if isinstance(out, list) else out)
    if kind == "Flatten":
        return nn.Flatten(spec["start_dim"], spec["end_dim"])
    if kind == "ReLU":
        return nn.ReLU()
    if kind == "Identity":
        return nn.Identity()
    if kind == "Dropout":
        return nn.Dropout(spec["p"])
    raise ValueError(f"no PyTorch twin for layer type {kind!r}")


def to_torch(model: Module) -> tuple[Any, str]:
    """(a torch.nn.Module in eval mode holding `model`'s weights, "") or (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not importable"
    try:
        spec = describe(model)
        twin = _twin(torch, spec)
    except ValueError as err:
        return None, str(err)
    state = {k: torch.from_numpy(v.data.copy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin.eval(), ""
