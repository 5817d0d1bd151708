"""Module: registration, traversal, modes, state dicts, hooks, printing."""

import copy
from typing import Any

import numpy as np
import pytest
import tt_tensor as tt
from tt_layers import (
    Dropout,
    Identity,
    Linear,
    Module,
    ModuleList,
    Parameter,
    Sequential,
    is_module_like,
)
from tt_tensor import Tensor


class Block(Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = Linear(3, 4)
        self.scale = Parameter(np.ones(4, dtype=np.float32))
        self.register_buffer("running", tt.zeros(4))
        self.register_buffer("cache", tt.zeros(2), persistent=False)
        self.note = "plain attribute"

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc(x) * self.scale
        return out


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.drop = Dropout(0.5)
        self.head = Linear(4, 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.head(self.drop(self.block(x)))
        return out


class Doubler:
    """A module-like: not a Module, just a forward (as tt-activations' modules are)."""

    def __init__(self) -> None:
        self.training = True

    def forward(self, x: Tensor) -> Tensor:
        return x * 2

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def train(self, mode: bool = True) -> "Doubler":
        self.training = mode
        return self


def test_parameter_is_a_tensor_that_requires_grad() -> None:
    p = Parameter(np.zeros((2, 3), dtype=np.float32))
    assert isinstance(p, Tensor) and p.requires_grad and p.shape == (2, 3)
    assert not Parameter(np.zeros(2), requires_grad=False).requires_grad
    arr = np.zeros(3, dtype=np.float32)
    Parameter(arr).data[0] = 5  # shares memory, as torch.nn.Parameter does
    assert arr[0] == 5
    assert repr(Parameter(np.zeros(1, dtype=np.float32))).startswith("Parameter containing:\n")
    assert type(Parameter(np.ones(2)) * 2) is Tensor
    with pytest.raises(RuntimeError, match="floating point"):
        Parameter(np.arange(3))


def test_named_parameters_order_and_names() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert [p.shape for p in net.parameters()] == [(4,), (4, 3), (4,), (2, 4)]
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert next(net.block.named_parameters(prefix="b"))[0] == "b.scale"


def test_buffers_and_persistence() -> None:
    net = Net()
    assert [n for n, _ in net.named_buffers()] == ["block.running", "block.cache"]
    sd = net.state_dict()
    assert "block.running" in sd and "block.cache" not in sd
    assert list(sd) == [
        "block.scale", "block.running", "block.fc.weight", "block.fc.bias", "head.weight"
    ]  # fmt: skip
    net.block.running = tt.ones(4)  # reassigning a buffer keeps it a buffer
    assert net.state_dict()["block.running"].data.sum() == 4
    with pytest.raises(TypeError, match="buffer 'running'"):
        net.block.running = np.zeros(4)


def test_children_and_modules() -> None:
    net = Net()
    assert [n for n, _ in net.named_children()] == ["block", "drop", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "drop", "head"]
    assert next(net.modules()) is net
    assert len(list(net.children())) == 3


def test_shared_parameters_counted_once() -> None:
    seq = Sequential(Linear(2, 2), Linear(2, 2))
    seq[1].weight = seq[0].weight  # type: ignore[union-attr]
    assert len(list(seq.parameters())) == 3
    # state_dict keeps both names, as PyTorch does
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    shared = Linear(2, 2)
    seq2 = Sequential(shared, shared)
    assert len(list(seq2.parameters())) == 2
    assert [n for n, _ in seq2.named_modules()] == ["", "0"]


def test_train_eval_propagate_to_module_likes() -> None:
    seq = Sequential(Linear(2, 2), Doubler(), Sequential(Dropout(), Doubler()))
    assert seq.eval() is seq
    assert all(not m.training for m in seq.modules())  # type: ignore[union-attr]
    seq.train()
    assert all(m.training for m in seq.modules())  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="boolean"):
        seq.train(1)  # type: ignore[arg-type]


def test_module_like_children_are_registered() -> None:
    seq = Sequential(Linear(2, 3), Doubler())
    assert is_module_like(Doubler()) and not is_module_like(Doubler)
    assert not is_module_like(tt.zeros(2)) and not is_module_like("forward")
    x = tt.randn(4, 2)
    np.testing.assert_allclose(seq(x).data, 2 * seq[0](x).data, rtol=1e-6)
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert len(list(seq.parameters())) == 2

    class Holder(Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = Doubler()

    assert "act" in dict(Holder().named_children())


def test_zero_grad() -> None:
    lin = Linear(2, 2)
    for p in lin.parameters():
        p.grad = tt.ones(*p.shape)
    lin.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in lin.parameters())
    lin.zero_grad()
    assert all(p.grad is None for p in lin.parameters())


def test_apply_visits_children_first() -> None:
    seen: list[str] = []
    net = Net()
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Block", "Dropout", "Linear", "Net"]


def test_apply_for_custom_init() -> None:
    def init(m: Any) -> None:
        if isinstance(m, Linear):
            m.weight.data[...] = 1.0

    net = Net().apply(init)
    assert (net.head.weight.data == 1).all() and (net.block.fc.weight.data == 1).all()


def test_state_dict_round_trip_and_sharing() -> None:
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    sd = a.state_dict()
    assert not sd["head.weight"].requires_grad  # detached, but shares memory
    sd["head.weight"].data[0, 0] = 42.0
    assert a.head.weight.data[0, 0] == 42.0
    assert a.state_dict(keep_vars=True)["head.weight"] is a.head.weight


def test_load_state_dict_accepts_arrays_and_casts() -> None:
    lin = Linear(2, 3)
    result = lin.load_state_dict({"weight": np.ones((3, 2)), "bias": [1.0, 2.0, 3.0]})  # type: ignore[dict-item]
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert lin.weight.dtype == np.float32 and (lin.weight.data == 1).all()
    np.testing.assert_array_equal(lin.bias.data, [1, 2, 3])  # type: ignore[union-attr]


def test_load_state_dict_errors_name_keys_and_shapes() -> None:
    net = Net()
    sd = net.state_dict()
    before = net.head.weight.data.copy()
    bad = dict(sd)
    del bad["block.fc.bias"]
    bad["extra.weight"] = tt.zeros(1)
    bad["head.weight"] = tt.zeros(4, 2)
    bad["block.scale"] = tt.zeros(4)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(bad)
    msg = str(err.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "block.fc.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for head.weight: copying a param with shape (4, 2)" in msg
    assert "the shape in current model is (2, 4)" in msg
    # nothing was copied: a failed load leaves the module untouched
    np.testing.assert_array_equal(net.head.weight.data, before)
    assert (net.block.scale.data == 1).all()


def test_load_state_dict_non_strict() -> None:
    net = Net()
    sd = {k: v for k, v in Net().state_dict().items() if k != "head.weight"}
    sd["junk"] = tt.zeros(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["junk"]
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked regardless
        net.load_state_dict({"head.weight": tt.zeros(3, 3)}, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])  # type: ignore[arg-type]


def test_state_dict_survives_safetensors_round_trip(tmp_path: Any) -> None:
    a, b = Net(), Net()
    tt.save(a.state_dict(), tmp_path / "net.safetensors")
    b.load_state_dict(tt.load(tmp_path / "net.safetensors"))
    x = tt.randn(5, 3)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_setattr_rules() -> None:
    lin = Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        lin.weight = tt.zeros(2, 2)  # type: ignore[assignment]
    lin.bias = None
    assert lin.bias is None and "bias" not in lin.state_dict()
    seq = Sequential(Linear(1, 1))
    with pytest.raises(TypeError, match="child module '0'"):
        setattr(seq, "0", 3)
    m = Module()
    m.w = Parameter(np.zeros(1, dtype=np.float32))
    with pytest.raises(TypeError, match="as parameter 'w'"):
        m.w = Linear(1, 1)
    m.w = None
    assert list(m.named_parameters()) == [] and "w" in m._parameters
    m.w = Parameter(np.zeros(1, dtype=np.float32))
    m.lin = Linear(1, 1)
    m.lin = Parameter(np.zeros(1, dtype=np.float32))  # a module slot may become a parameter
    assert [n for n, _ in m.named_parameters()] == ["w", "lin"]
    delattr(m, "w")
    assert [n for n, _ in m.named_parameters()] == ["lin"] and not hasattr(m, "w")
    with pytest.raises(KeyError, match="already exists"):
        lin.register_buffer("in_features", tt.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        lin.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Parameter or None"):
        lin.register_parameter("c", tt.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("x", 3)  # type: ignore[arg-type]


def test_assigning_before_init_is_a_clear_error() -> None:
    class Forgot(Module):
        def __init__(self) -> None:
            self.w = Parameter(np.zeros(1, dtype=np.float32))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_forward_missing() -> None:
    with pytest.raises(
        NotImplementedError, match='Module \\[Module\\] is missing the required "forward"'
    ):
        Module()(1)


def test_hooks_run_in_call_and_are_removable() -> None:
    lin = Linear(2, 2)
    log: list[str] = []
    h_pre = lin.register_forward_pre_hook(lambda m, args: log.append("pre"))
    h_post = lin.register_forward_hook(lambda m, args, out: log.append(f"post{out.shape}"))
    x = tt.randn(3, 2)
    lin(x)
    assert log == ["pre", "post(3, 2)"]
    h_pre.remove()
    h_post.remove()
    lin(x)
    assert len(log) == 2
    # hooks may replace inputs and outputs
    lin.register_forward_pre_hook(lambda m, args: args[0] * 0)
    with lin.register_forward_hook(lambda m, args, out: out + 1):
        out = lin(x)
    assert lin.bias is not None
    np.testing.assert_allclose(out.data, np.broadcast_to(lin.bias.data + 1, (3, 2)), rtol=1e-6)


def test_hooks_see_every_layer_of_a_model() -> None:
    """What a profiler does: one forward hook on every module, module-likes included."""
    seq = Sequential(Linear(2, 4), Doubler(), Linear(4, 1))
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def record(name: str) -> Any:
        return lambda mod, args, out: shapes.__setitem__(name, out.shape)

    for name, m in seq.named_modules():
        if isinstance(m, Module):
            handles.append(m.register_forward_hook(record(name)))
    seq(tt.randn(5, 2))
    assert shapes == {"0": (5, 4), "2": (5, 1), "": (5, 1)}
    for h in handles:
        h.remove()


def test_repr_like_pytorch() -> None:
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "  )\n"
        "  (drop): Dropout(p=0.5, inplace=False)\n"
        "  (head): Linear(in_features=4, out_features=2, bias=False)\n"
        ")"
    )
    assert repr(Identity()) == "Identity()"
    assert repr(ModuleList()) == "ModuleList()"


def test_to_double_keeps_parameter_identity() -> None:
    lin = Linear(2, 2)
    w = lin.weight
    lin.double()
    assert lin.weight is w and w.dtype == np.float64
    assert lin(tt.randn(1, 2, dtype=np.float64)).dtype == np.float64
    assert lin.float().weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        lin.to(np.int64)


def test_requires_grad_toggle() -> None:
    lin = Linear(2, 2).requires_grad_(False)
    assert not any(p.requires_grad for p in lin.parameters())


def test_get_submodule() -> None:
    net = Net()
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="has no submodule 'nope'"):
        net.get_submodule("block.nope")


def test_deepcopy_gives_independent_parameters() -> None:
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.head.weight is not net.head.weight
    assert twin.head.weight is twin._parameters.get("head.weight", twin.head.weight)
    assert twin.head._parameters["weight"] is twin.head.weight
    twin.head.weight.data[...] = 0
    assert net.head.weight.data.any()
