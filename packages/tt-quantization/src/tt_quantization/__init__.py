"""TinyTorch module 15: INT8 quantization, measured.

Post-training quantization (`quantize_model`) calibrates activation ranges on
sample data and swaps every Linear/Conv2d for a layer that stores int8 weights
and computes with integer accumulation. Quantization-aware training
(`prepare_qat` / `convert`) trains with fake quantization and a
straight-through estimator first. `save_quantized` writes int8 safetensors.
"""

from .config import QConfig
from .fake_quant import FakeQuantize, fake_quantize
from .fusion import fold_batchnorm
from .intmath import accumulation_bound, integer_matmul, requantize
from .modules import QuantizedConv2d, QuantizedLinear
from .observers import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    Observer,
    PercentileObserver,
)
from .ptq import load_quantized, quantize_model, quantized_layers, save_quantized
from .qat import QATConv2d, QATLinear, convert, prepare_qat
from .qscheme import (
    QParams,
    calculate_qparams,
    dequantize,
    fake_quantize_array,
    qrange,
    quantize,
)
from .report import ModelSize, inference_latency, model_size

__all__ = [
    "FakeQuantize",
    "MinMaxObserver",
    "ModelSize",
    "MovingAverageMinMaxObserver",
    "Observer",
    "PercentileObserver",
    "QATConv2d",
    "QATLinear",
    "QConfig",
    "QParams",
    "QuantizedConv2d",
    "QuantizedLinear",
    "accumulation_bound",
    "calculate_qparams",
    "convert",
    "dequantize",
    "fake_quantize",
    "fake_quantize_array",
    "fold_batchnorm",
    "inference_latency",
    "integer_matmul",
    "load_quantized",
    "model_size",
    "prepare_qat",
    "qrange",
    "quantize",
    "quantize_model",
    "quantized_layers",
    "requantize",
    "save_quantized",
]
