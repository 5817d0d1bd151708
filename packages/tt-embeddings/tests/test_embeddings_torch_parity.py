import numpy as np
import pytest
from tt_embeddings import Embedding
from tt_tensor import Tensor

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity test skipped")


@pytest.mark.parametrize(("rows", "padding_idx"), [(11, None), (11, 3), (700, 2)])
def test_embedding_forward_and_grad_match_torch(rows: int, padding_idx: int | None) -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, rows, size=(4, 9))
    ids[0, :3] = 3
    ref = torch.nn.Embedding(rows, 5, padding_idx=padding_idx)
    ours = Embedding(rows, 5, padding_idx=padding_idx)
    ours.load_state_dict({"weight": ref.weight.detach().numpy()})
    g = rng.standard_normal((4, 9, 5)).astype(np.float32)
    out_ref = ref(torch.tensor(ids))
    out_ref.backward(torch.tensor(g))
    out = ours(Tensor(ids))
    out.backward(Tensor(g))
    np.testing.assert_allclose(out.data, out_ref.detach().numpy())
    assert ours.weight.grad is not None
    np.testing.assert_allclose(ours.weight.grad.data, ref.weight.grad.numpy(), atol=1e-5)
