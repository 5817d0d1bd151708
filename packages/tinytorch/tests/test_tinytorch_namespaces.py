"""`import tinytorch as torch` exposes the names of ../shared/docs/api.md that exist."""

import importlib

import pytest

NAMES = {
    "tinytorch": "Tensor tensor zeros ones zeros_like ones_like randn rand arange cat stack "
    "where manual_seed no_grad enable_grad save load float32 float64 int64",
    "tinytorch.autograd": "Function grad gradcheck",
    "tinytorch.nn": "Module Parameter Sequential ModuleList Linear ReLU Sigmoid Tanh GELU "
    "Softmax LogSoftmax Dropout Flatten Identity MSELoss CrossEntropyLoss NLLLoss BCELoss "
    "BCEWithLogitsLoss Embedding LayerNorm MultiheadAttention Conv2d MaxPool2d AvgPool2d "
    "BatchNorm1d BatchNorm2d",
    "tinytorch.nn.functional": "relu gelu sigmoid tanh softmax log_softmax linear dropout "
    "mse_loss cross_entropy nll_loss embedding layer_norm scaled_dot_product_attention "
    "conv2d max_pool2d avg_pool2d batch_norm",
    "tinytorch.optim": "SGD Adam AdamW",
    "tinytorch.optim.lr_scheduler": "StepLR CosineAnnealingLR OneCycleLR LambdaLR",
    "tinytorch.utils.data": "Dataset TensorDataset DataLoader",
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_namespace_has_the_pytorch_names(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [n for n in NAMES[module].split() if not hasattr(mod, n)]
    assert not missing, f"{module} lacks {missing}"
