"""`tinytorch.acceleration`: faster inference, folding, fused kernels (module 18)."""

from tt_acceleration import (
    batched_inference,
    compile_inference,
    fast_conv2d,
    fold_batchnorm,
    get_blas_threads,
    set_blas_threads,
)

__all__ = [
    "batched_inference",
    "compile_inference",
    "fast_conv2d",
    "fold_batchnorm",
    "get_blas_threads",
    "set_blas_threads",
]
