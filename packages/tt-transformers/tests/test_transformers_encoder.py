import numpy as np
import pytest
import tt_autograd
from tt_tensor import Tensor, manual_seed
from tt_transformers import TransformerEncoderLayer

rng = np.random.default_rng(0)


def test_shapes_layouts_and_state_dict_names() -> None:
    manual_seed(0)
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    assert sorted(layer.state_dict()) == sorted(
        [
            "self_attn.in_proj_weight",
            "self_attn.in_proj_bias",
            "self_attn.out_proj.weight",
            "self_attn.out_proj.bias",
            "linear1.weight",
            "linear1.bias",
            "linear2.weight",
            "linear2.bias",
            "norm1.weight",
            "norm1.bias",
            "norm2.weight",
            "norm2.bias",
        ]
    )
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    out = layer(Tensor(x))
    assert out.shape == (3, 5, 8)
    np.testing.assert_allclose(out.data.mean(-1), 0, atol=1e-5)  # post-norm: ends in LayerNorm


def test_causal_mask_and_norm_first_gradcheck() -> None:
    manual_seed(1)
    layer = TransformerEncoderLayer(
        4, 2, dim_feedforward=8, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
    ).double()
    x = Tensor(rng.standard_normal((1, 3, 4)), dtype=np.float64, requires_grad=True)
    assert tt_autograd.gradcheck(lambda a: layer(a, is_causal=True), [x])
    y = x.data.copy()
    y[:, 2] += 1
    a, b = layer(x, is_causal=True).data, layer(Tensor(y), is_causal=True).data
    np.testing.assert_allclose(a[:, :2], b[:, :2], atol=1e-12)


def test_unknown_activation() -> None:
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        TransformerEncoderLayer(4, 2, activation="swish")
