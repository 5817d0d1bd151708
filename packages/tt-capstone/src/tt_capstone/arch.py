"""A model's architecture as plain JSON, so a deployed file can be rebuilt without code.

Weights files (safetensors) hold tensors only; to load them you need the model
that owns them. After pruning, layer widths no longer match any constructor
call in the source, so the deployed manifest stores the architecture itself:
a tree of layer descriptions (`describe`), turned back into modules by `build`.
Only layers whose whole configuration is known are accepted; anything else is
refused by name rather than rebuilt wrongly.
"""

from __future__ import annotations

from typing import Any

from tt_activations import ReLU
from tt_layers import Dropout, Flatten, Identity, Linear, Module, ModuleLike, Sequential
from tt_spatial import AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d, Residual

Spec = dict[str, Any]


def _pair(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value


def describe(module: Module | ModuleLike) -> Spec:
    """A JSON-ready description of `module` and everything inside it."""
    m: Any = module
    if isinstance(m, Sequential):
        children = [(name, child) for name, child in m._modules.items() if child is not None]
        return {
            "type": "Sequential",
            "children": [[name, describe(child)] for name, child in children],
        }
    if isinstance(m, Residual):
        return {"type": "Residual", "body": describe(m.body)}
    if isinstance(m, Conv2d):
        return {
            "type": "Conv2d",
            "in_channels": m.in_channels,
            "out_channels": m.out_channels,
            "kernel_size": _pair(m.kernel_size),
            "stride": _pair(m.stride),
            "padding": _pair(m.padding),
            "dilation": _pair(m.dilation),
            "groups": m.groups,
            "bias": m.bias is not None,
        }
    if isinstance(m, Linear):
        return {
            "type": "Linear",
            "in_features": m.in_features,
            "out_features": m.out_features,
            "bias": m.bias is not None,
        }
    if isinstance(m, BatchNorm1d | BatchNorm2d):
        return {
            "type": type(m).__name__,
            "num_features": m.num_features,
            "eps": m.eps,
            "momentum": m.momentum,
            "affine": m.affine,
            "track_running_stats": m.track_running_stats,
        }
    if isinstance(m, MaxPool2d):
        if m.return_indices:
            raise ValueError("describe: MaxPool2d(return_indices=True) returns two values")
        return {
            "type": "MaxPool2d",
            "kernel_size": _pair(m.kernel_size),
            "stride": _pair(m.stride),
            "padding": _pair(m.padding),
            "dilation": _pair(m.dilation),
            "ceil_mode": m.ceil_mode,
        }
    if isinstance(m, AdaptiveAvgPool2d):
        return {"type": "AdaptiveAvgPool2d", "output_size": _pair(m.output_size)}
    if isinstance(m, Flatten):
        return {"type": "Flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if isinstance(m, ReLU):
        return {"type": "ReLU"}
    if isinstance(m, Identity):
        return {"type": "Identity"}
    if isinstance(m, Dropout):
        return {"type": "Dropout", "p": m.p}
    raise ValueError(
        f"describe: cannot store a {type(m).__name__} layer (supported: Sequential, Residual, "
        "Conv2d, Linear, BatchNorm1d/2d, MaxPool2d, AdaptiveAvgPool2d, Flatten, ReLU, "
        "Identity, Dropout)"
    )


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def build(spec: Spec) -> Module:
    """The module `spec` describes, with freshly initialised parameters (load weights next)."""
    m = _build(spec)
    return m if isinstance(m, Module) else Sequential(m)


def _build(spec: Spec) -> Module | ModuleLike:
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"build: a layer description must be a dict with a 'type', got {spec!r}")
    kind = spec["type"]
    if kind == "Sequential":
        seq = Sequential()
        for name, child in spec["children"]:
            seq.add_module(str(name), _build(child))
        return seq
    if kind == "Residual":
        return Residual(build(spec["body"]))
    if kind == "Conv2d":
        return Conv2d(
            spec["in_channels"],
            spec["out_channels"],
            _tuple(spec["kernel_size"]),
            _tuple(spec["stride"]),
            _tuple(spec["padding"]),
            _tuple(spec["dilation"]),
            spec["groups"],
            spec["bias"],
        )
    if kind == "Linear":
        return Linear(spec["in_features"], spec["out_features"], spec["bias"])
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        cls = BatchNorm1d if kind == "BatchNorm1d" else BatchNorm2d
        return cls(
            spec["num_features"],
            spec["eps"],
            spec["momentum"],
            spec["affine"],
            spec["track_running_stats"],
        )
    if kind == "MaxPool2d":
        return MaxPool2d(
            _tuple(spec["kernel_size"]),
            _tuple(spec["stride"]),
            _tuple(spec["padding"]),
            _tuple(spec["dilation"]),
            ceil_mode=spec["ceil_mode"],
        )
    if kind == "AdaptiveAvgPool2d":
        return AdaptiveAvgPool2d(_tuple(spec["output_size"]))
    if kind == "Flatten":
        return Flatten(spec["start_dim"], spec["end_dim"])
    if kind == "ReLU":
        return ReLU()
    if kind == "Identity":
        return Identity()
    if kind == "Dropout":
        return Dropout(spec["p"])
    raise ValueError(f"build: unknown layer type {kind!r}")
