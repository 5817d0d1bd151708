"""Post-training quantization: calibrate on sample data, then swap in int8 layers."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

from tt_autograd import no_grad
from tt_layers import Identity, Linear, Module
from tt_spatial import Conv2d
from tt_tensor import Tensor, load_metadata, load_tensors, save_tensors

from ._graph import clone_model, find, replace, run_batches
from .config import QConfig
from .fusion import fold_batchnorm
from .modules import QuantizedConv2d, QuantizedLinear, _QuantizedLayer
from .observers import Observer

M = TypeVar("M", bound=Module)

FORMAT = "tt-quantization/1"
FOLDED_ATTR = "folded_batchnorms"  # where quantize_model notes the BatchNorms it folded


def _observing_hook(inp: Observer, out: Observer | None) -> Any:
    def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
        inp.observe(args[0])
        if out is not None:
            out.observe(output)

    return hook


def quantize_model(
    model: M,
    calibration_batches: Iterable[Any],
    qconfig: QConfig | None = None,
    *,
    fold_bn: bool = True,
    inplace: bool = False,
) -> M:
    """An int8 copy of `model`: every Linear and Conv2d becomes a quantized layer.

    `calibration_batches` yields model inputs (Tensors, arrays, or (inputs,
    labels) pairs); they run through the float model once, in eval mode and
    without gradients, while observers record each layer's input and output
    ranges. A few hundred samples are usually enough. With `fold_bn` (the
    default) BatchNorms that follow a Conv2d/Linear are folded into it first.
    """
    cfg = qconfig or QConfig()
    qmodel = clone_model(model, inplace)
    folded: list[str] = []
    if fold_bn:
        qmodel, folded = fold_batchnorm(qmodel, inplace=True)
    targets = find(qmodel, (Linear, Conv2d))
    if not targets:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to quantize")
    observers: dict[str, tuple[Observer, Observer | None]] = {}
    handles = []
    for name, layer in targets:
        obs_in = cfg.activation_observer()
        obs_out = cfg.activation_observer() if cfg.requantize_output else None
        observers[name] = (obs_in, obs_out)
        handles.append(layer.register_forward_hook(_observing_hook(obs_in, obs_out)))
    qmodel.eval()
    try:
        with no_grad():
            seen = run_batches(qmodel, calibration_batches, qmodel)
    finally:
        for h in handles:
            h.remove()
    if seen == 0:
        raise ValueError(
            "calibration_batches yielded no batch: static quantization needs sample inputs "
            "to measure activation ranges"
        )
    root: Module = qmodel
    for name, layer in targets:
        obs_in, obs_out = observers[name]
        if not obs_in.calibrated:
            raise RuntimeError(
                f"layer {name!r} ({type(layer).__name__}) never ran during calibration: "
                "the calibration batches do not reach it"
            )
        in_qp = obs_in.calculate_qparams()
        out_qp = None if obs_out is None else obs_out.calculate_qparams()
        new: Module
        if isinstance(layer, Conv2d):
            new = QuantizedConv2d.from_float(layer, in_qp, out_qp, cfg)
        else:
            new = QuantizedLinear.from_float(layer, in_qp, out_qp, cfg)
        root = replace(root, name, new)
    if folded:
        object.__setattr__(root, FOLDED_ATTR, folded)
    return root  # type: ignore[return-value]


def quantized_layers(model: Module) -> list[tuple[str, _QuantizedLayer]]:
    """(name, layer) of every quantized layer of `model`."""
    return find(model, (_QuantizedLayer,))


def save_quantized(model: Module, path: str | os.PathLike[str]) -> None:
    """Write a quantized model as safetensors: int8 weights, float32 scales, int32 rest.

    The metadata names each quantized layer and its QConfig, so `load_quantized`
    can rebuild the same layers on top of a float model of the same architecture.
    """
    layers = quantized_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} holds no quantized layer: nothing to save")
    meta = {
        "format": FORMAT,
        "layers": {
            name: {
                "type": type(layer).__name__,
                "bias": layer.bias is not None,
                "qconfig": layer.qconfig.to_dict(),
            }
            for name, layer in layers
        },
        "folded_batchnorms": list(getattr(model, FOLDED_ATTR, [])),
    }
    save_tensors(model.state_dict(), path, metadata=meta)


def _fit_scalars(loaded: dict[str, Tensor], own: dict[str, Tensor]) -> dict[str, Tensor]:
    """Give 0-d tensors back their shape: tt_tensor.save_tensors stores them as shape (1,)."""
    out = dict(loaded)
    for key, value in loaded.items():
        target = own.get(key)
        if target is not None and target.ndim == 0 and value.shape == (1,):
            out[key] = value.reshape(())
    return out


def load_quantized(model: M, path: str | os.PathLike[str], *, inplace: bool = False) -> M:
    """Rebuild a model saved by `save_quantized` on a float model of the same architecture."""
    meta = load_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)} is not a quantized model saved by save_quantized "
            f"(format {meta.get('format')!r}, expected {FORMAT!r})"
        )
    root: Module = clone_model(model, inplace)
    for name in meta.get("folded_batchnorms", []):
        root = replace(root, name, Identity())
    for name, info in meta["layers"].items():
        try:
            layer = root.get_submodule(name)
        except AttributeError:
            raise ValueError(
                f"{os.fspath(path)} has layer {name!r}, which the model lacks"
            ) from None
        cfg = QConfig.from_dict(info["qconfig"])
        bias = bool(info["bias"])
        shell: Module
        if info["type"] == "QuantizedConv2d" and isinstance(layer, Conv2d):
            shell = QuantizedConv2d.like(layer, cfg, bias=bias)
        elif info["type"] == "QuantizedLinear" and isinstance(layer, Linear):
            shell = QuantizedLinear(layer.in_features, layer.out_features, bias, cfg)
        else:
            raise ValueError(
                f"saved layer {name!r} is a {info['type']} but the model has a "
                f"{type(layer).__name__} there"
            )
        root = replace(root, name, shell)
    root.load_state_dict(_fit_scalars(load_tensors(path), root.state_dict()))
    if meta.get("folded_batchnorms"):
        object.__setattr__(root, FOLDED_ATTR, list(meta["folded_batchnorms"]))
    root.eval()
    return root  # type: ignore[return-value]
