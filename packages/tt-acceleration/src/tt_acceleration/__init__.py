"""TinyTorch module 18: make real models faster, and measure that they are.

* `fold_batchnorm`: BatchNorm folded into the Conv2d/Linear before it (eval).
* `bias_gelu`, `gelu_`, `relu_`, `layer_norm_inference`: fused kernels with `out=` buffers.
* `compile_inference`: a model as NumPy steps with reused buffers, in-place
  activations, folded BatchNorm and autotuned convolutions.
* `ConvAutotuner` / `fast_conv2d`: im2col, einsum or shift-and-accumulate,
  whichever was measured fastest for each shape.
* `BufferedConv2d`: a small-batch convolution that owns its buffers (the
  plan's choice when it measures faster).
* `batched_inference`: many inputs in chunks under `no_grad`.
* `blas_threads`, `get_blas_threads`: BLAS thread control, read back from the library.
* `compare_matmul`, `compare_conv2d`: Python loops against vectorized NumPy, timed.
"""

from .batching import batched_inference
from .buffered import BufferedConv2d, Scratch
from .conv import (
    CANDIDATES,
    ConvAutotuner,
    ConvGeometry,
    conv2d_einsum,
    conv2d_im2col,
    conv2d_plain,
    conv2d_shift,
    default_autotuner,
    fast_conv2d,
)
from .folding import can_fold, fold_batchnorm, fold_conv_bn, fold_linear_bn, replace_child
from .fused import bias_gelu, erf_, gelu_, layer_norm_inference, relu_
from .plan import InferencePlan, Step, compile_inference
from .teaching import (
    LoopVsVectorized,
    compare_conv2d,
    compare_matmul,
    naive_conv2d,
    naive_matmul,
)
from .threads import ThreadInfo, blas_threads, get_blas_threads, set_blas_threads

__all__ = [
    "CANDIDATES",
    "BufferedConv2d",
    "ConvAutotuner",
    "ConvGeometry",
    "InferencePlan",
    "LoopVsVectorized",
    "Scratch",
    "Step",
    "ThreadInfo",
    "batched_inference",
    "bias_gelu",
    "blas_threads",
    "can_fold",
    "compare_conv2d",
    "compare_matmul",
    "compile_inference",
    "conv2d_einsum",
    "conv2d_im2col",
    "conv2d_plain",
    "conv2d_shift",
    "default_autotuner",
    "erf_",
    "fast_conv2d",
    "fold_batchnorm",
    "fold_conv_bn",
    "fold_linear_bn",
    "gelu_",
    "get_blas_threads",
    "layer_norm_inference",
    "naive_conv2d",
    "naive_matmul",
    "relu_",
    "replace_child",
    "set_blas_threads",
]
