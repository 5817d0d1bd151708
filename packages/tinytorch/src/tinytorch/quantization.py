"""`tinytorch.quantization`: INT8 quantization: post-training and quantization-aware (module 15)."""

from tt_quantization import (
    QuantizedConv2d,
    QuantizedLinear,
    convert,
    load_quantized,
    model_size,
    prepare_qat,
    quantize_model,
    save_quantized,
)

__all__ = [
    "QuantizedConv2d",
    "QuantizedLinear",
    "convert",
    "load_quantized",
    "model_size",
    "prepare_qat",
    "quantize_model",
    "save_quantized",
]
