"""TinyTorch module 20: the capstone. Optimize a trained model end to end, then ship it.

`optimize(model, calib_data, test_data)` profiles a trained model, prunes it,
folds BatchNorm, quantizes it to int8 and compiles a fused inference plan,
measuring accuracy, size on disk and single-image latency after every stage
(`PipelineResult`: Markdown and JSON report, plots with matplotlib).
`save_deployed`/`load_deployed` write and read the shipped int8 model;
`serve` puts the optimized MNIST model behind a small web page where you draw
a digit and watch it being read.
"""

from .arch import build, describe
from .deploy import (
    DeployedFiles,
    DeployedModel,
    dequantize_model,
    load_deployed,
    save_deployed,
)
from .pipeline import PipelineResult, StageResult, optimize
from .torch_twin import to_torch

__all__ = [
    "DeployedFiles",
    "DeployedModel",
    "PipelineResult",
    "StageResult",
    "build",
    "dequantize_model",
    "describe",
    "load_deployed",
    "optimize",
    "save_deployed",
    "to_torch",
]
