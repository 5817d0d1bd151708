"""The deployed model: one small int8 file plus a manifest, loaded into a fused inference plan.

What ships is what the pipeline measured:

* `weights.safetensors`: the int8 model's state dict written by
  `tt_compression.save_sparse`, so int8 weights take one byte each, and pruned
  (zero) weights only a bit in a mask when that is smaller;
* `manifest.json`: the architecture (`arch.describe`, with each quantized
  layer's QConfig), the input shape and whatever the caller adds (class names,
  normalisation, measured accuracy).

`load_deployed` rebuilds the int8 model from those two files and, for speed,
a float32 twin whose weights are the int8 weights dequantized, compiled by
`tt_acceleration.compile_inference` (BatchNorm already folded, activations
fused, convolutions autotuned). NumPy has no int8 matrix multiply, so integer
arithmetic is slower here than float32 BLAS; storing int8 and computing in
float32 ("weight-only quantization") keeps the 4x smaller file and the fast
path. The integer-arithmetic model stays available as `DeployedModel.int8`.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tt_acceleration import (
    ConvAutotuner,
    InferencePlan,
    compile_inference,
    fold_batchnorm,
    replace_child,
)
from tt_autograd import no_grad
from tt_compression import load_sparse, save_sparse
from tt_layers import Linear, Module, Parameter
from tt_quantization import (
    QConfig,
    QuantizedConv2d,
    QuantizedLinear,
    quantize_model,
    quantized_layers,
)
from tt_spatial import Conv2d
from tt_tensor import Tensor

from .arch import Spec, build, describe

FORMAT = "tt-capstone/deployed-1"
WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "manifest.json"


def _describe_quantized(model: Module) -> Spec:
    """`arch.describe`, where each int8 layer is its float layer's spec plus its QConfig."""
    shadow = copy.deepcopy(model)
    int8: dict[str, dict[str, Any]] = {}
    for name, layer in quantized_layers(shadow):
        float_layer: Module
        if isinstance(layer, QuantizedConv2d):
            float_layer = Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.groups,
                layer.bias is not None,
            )
        elif isinstance(layer, QuantizedLinear):
            float_layer = Linear(layer.in_features, layer.out_features, layer.bias is not None)
        else:
            raise ValueError(f"{name}: unsupported quantized layer {type(layer).__name__}")
        _swap(shadow, name, float_layer)
        int8[name] = layer.qconfig.to_dict()
    spec = describe(shadow)
    _mark(spec, "", int8)
    return spec


def _mark(spec: Spec, prefix: str, int8: dict[str, dict[str, Any]]) -> None:
    if prefix in int8:
        spec["int8"] = int8[prefix]
    if spec["type"] == "Sequential":
        for name, child in spec["children"]:
            _mark(child, f"{prefix}.{name}" if prefix else str(name), int8)
    elif spec["type"] == "Residual":
        _mark(spec["body"], f"{prefix}.body" if prefix else "body", int8)


def _swap(root: Module, name: str, new: Module) -> Module:
    if not name:
        return new
    parent_name, _, leaf = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    replace_child(parent, leaf, new)  # type: ignore[arg-type]
    return root


def _build_int8(spec: Spec, prefix: str = "") -> Module:
    """`arch.build`, with int8 shells where the spec says a layer was quantized."""
    model = build(spec)
    for name, sub in _int8_specs(spec, prefix):
        cfg = QConfig.from_dict(sub["int8"])
        shell: Module
        if sub["type"] == "Conv2d":
            shell = QuantizedConv2d(
                sub["in_channels"],
                sub["out_channels"],
                tuple(sub["kernel_size"]),
                tuple(sub["stride"]),
                sub["padding"] if isinstance(sub["padding"], str) else tuple(sub["padding"]),
                tuple(sub["dilation"]),
                sub["groups"],
                sub["bias"],
                cfg,
            )
        elif sub["type"] == "Linear":
            shell = QuantizedLinear(sub["in_features"], sub["out_features"], sub["bias"], cfg)
        else:
            raise ValueError(
                f"{name}: only Conv2d and Linear layers can be int8, not {sub['type']}"
            )
        model = _swap(model, name, shell)
    return model


def _int8_specs(spec: Spec, prefix: str) -> list[tuple[str, Spec]]:
    found: list[tuple[str, Spec]] = [(prefix, spec)] if "int8" in spec else []
    if spec["type"] == "Sequential":
        for name, child in spec["children"]:
            found += _int8_specs(child, f"{prefix}.{name}" if prefix else str(name))
    elif spec["type"] == "Residual":
        found += _int8_specs(spec["body"], f"{prefix}.body" if prefix else "body")
    return found


def dequantize_model(model: Module) -> Module:
    """A float32 copy of an int8 model: each int8 layer becomes the float layer it stands for,
    holding the dequantized int8 weights (so it computes what weight-only int8 computes)."""
    out = copy.deepcopy(model)
    for name, layer in quantized_layers(out):
        weight = layer.dequantized_weight()
        bias = None if layer.bias is None else layer.bias.data.astype(np.float32)
        new: Conv2d | Linear
        if isinstance(layer, QuantizedConv2d):
            new = Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.groups,
                bias is not None,
            )
        else:
            assert isinstance(layer, QuantizedLinear)
            new = Linear(layer.in_features, layer.out_features, bias is not None)
        new.weight = Parameter(weight)
        if bias is not None:
            new.bias = Parameter(bias)
        out = _swap(out, name, new)
    return out.eval()


@dataclass(frozen=True)
class DeployedFiles:
    """Where `save_deployed` wrote, and how many bytes each file takes."""

    directory: Path
    weights: Path
    manifest: Path
    formats: dict[str, str] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return self.weights.stat().st_size + self.manifest.stat().st_size


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_deployed(
    model: Module,
    directory: str | os.PathLike[str],
    *,
    input_shape: tuple[int, ...],
    metadata: dict[str, Any] | None = None,
) -> DeployedFiles:
    """Write an int8 model (from `tt_quantization.quantize_model`) as a deployable folder.

    `input_shape` is one example's shape without the batch dimension, e.g. (3, 32, 32).
    """
    if not quantized_layers(model):
        raise ValueError(
            f"save_deployed expects an int8 model (quantize_model's output); "
            f"{type(model).__name__} has no quantized layer"
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    formats = save_sparse(model, weights)  # writes atomically through save_tensors
    manifest = {
        "format": FORMAT,
        "architecture": _describe_quantized(model),
        "input_shape": list(input_shape),
        "metadata": dict(metadata or {}),
    }
    manifest_path = folder / MANIFEST_FILE
    _atomic_write_text(manifest_path, json.dumps(manifest, separators=(",", ":")) + "\n")
    return DeployedFiles(folder, weights, manifest_path, formats)


class DeployedModel:
    """A loaded deployment: call it on a batch (N, *input_shape) to get logits.

    `plan` (float32, dequantized int8 weights, fused) answers calls; `int8` is
    the same weights with integer arithmetic, for checking and comparison.
    """

    def __init__(
        self, int8: Module, plan: InferencePlan, manifest: dict[str, Any], directory: Path
    ) -> None:
        self.int8 = int8
        self.plan = plan
        self.manifest = manifest
        self.directory = directory

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.manifest["input_shape"])

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.manifest.get("metadata", {})
        return meta

    def __call__(self, x: Tensor | np.ndarray[Any, Any]) -> Tensor:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
        if arr.shape[1:] != self.input_shape:
            dims = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"the deployed model takes inputs of shape (N, {dims}), got {arr.shape}"
            )
        return self.plan(arr)

    def run_int8(self, x: Tensor | np.ndarray[Any, Any]) -> Tensor:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
        with no_grad():
            out: Tensor = self.int8(Tensor(arr))
        return out


def load_deployed(
    directory: str | os.PathLike[str], *, autotuner: ConvAutotuner | None = None
) -> DeployedModel:
    """Load a folder written by `save_deployed` (`autotuner`: for the plan's convolutions,
    default tt-acceleration's process-wide one)."""
    folder = Path(directory)
    manifest_path, weights_path = folder / MANIFEST_FILE, folder / WEIGHTS_FILE
    if not manifest_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a deployed model: expected {MANIFEST_FILE} and {WEIGHTS_FILE} in it"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{manifest_path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    int8 = _build_int8(manifest["architecture"])
    int8.load_state_dict(load_sparse(weights_path))
    int8.eval()
    plan = compile_inference(dequantize_model(int8), autotuner=autotuner)
    return DeployedModel(int8, plan, manifest, folder)


def deploy(
    model: Module,
    calib_inputs: Tensor | np.ndarray[Any, Any],
    directory: str | os.PathLike[str],
    *,
    metadata: dict[str, Any] | None = None,
    qconfig: QConfig | None = None,
) -> DeployedModel:
    """The short path from a trained float model to a loaded deployment, without measuring:
    fold BatchNorm, quantize to int8 with `calib_inputs`, save, load."""
    x = calib_inputs.data if isinstance(calib_inputs, Tensor) else np.asarray(calib_inputs)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"calib_inputs must be a non-empty batch, got shape {x.shape}")
    x = x.astype(np.float32, copy=False)
    folded, _ = fold_batchnorm(model)
    batches = [Tensor(x[i : i + 64]) for i in range(0, x.shape[0], 64)]
    qmodel = quantize_model(folded, batches, qconfig)
    save_deployed(qmodel, directory, input_shape=tuple(x.shape[1:]), metadata=metadata)
    return load_deployed(directory)
