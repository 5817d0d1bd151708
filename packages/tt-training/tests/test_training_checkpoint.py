"""Checkpoint files: safetensors + JSON metadata, atomic, and clear errors."""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tt_tensor import Tensor, get_rng_state, load_metadata, load_tensors, manual_seed, save_tensors
from tt_training import History, load_checkpoint, save_checkpoint


class Linear:
    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.w = Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
        self.b = Tensor(np.zeros(2, np.float32), requires_grad=True)
        self.extra: dict[str, Any] = {}

    def parameters(self) -> list[Tensor]:
        return [self.w, self.b]

    def train(self, mode: bool = True) -> None:
        pass

    def eval(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {"layer.weight": self.w, "layer.bias": self.b, **self.extra}

    def load_state_dict(self, state: Any) -> None:
        if set(state) != {"layer.weight", "layer.bias"}:
            raise KeyError(f"unexpected keys {sorted(state)}")
        self.w.data[...] = state["layer.weight"].data
        self.b.data[...] = state["layer.bias"].data

    def __call__(self, x: Tensor) -> Tensor:
        return x @ self.w + self.b


class Opt:
    def __init__(self, params: list[Tensor]) -> None:
        self.param_groups = [{"params": params, "lr": 0.1, "betas": [0.9, 0.99]}]
        self.sd: dict[str, Any] = {
            "state": {0: {"step": 3, "exp_avg": Tensor(np.full((3, 2), 0.5, np.float32))}},
            "param_groups": [{"lr": 0.1, "betas": [0.9, 0.99], "params": [0, 1]}],
        }
        self.loaded: dict[str, Any] | None = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        pass

    def step(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return self.sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.loaded = sd


class Sched:
    def __init__(self, state: Any = None) -> None:
        self.state = state if state is not None else {"last_epoch": 4, "base_lrs": [0.1]}

    def step(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return self.state

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.state = sd


def saved(tmp_path: Path, **kw: Any) -> Path:
    history = History()
    history.append({"epoch": 1, "train_loss": 0.5})
    model = Linear(0)
    return save_checkpoint(
        tmp_path / "c.ckpt", model, Opt(model.parameters()), Sched(), epoch=1, history=history, **kw
    )


def test_file_is_safetensors_with_json_metadata(tmp_path: Path) -> None:
    path = saved(tmp_path, generator=np.random.default_rng(3), extra={"note": "hi"})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])  # the whole index is readable JSON: no pickle anywhere
    assert set(header) - {"__metadata__"} == {
        "model/layer.weight",
        "model/layer.bias",
        "optimizer/state/0/exp_avg",
    }
    assert header["model/layer.weight"]["dtype"] == "F32"
    meta = load_metadata(path)
    assert meta["format"] == "tinytorch.checkpoint" and meta["epoch"] == 1
    assert meta["optimizer"]["state"] == {"0": {"step": 3}}
    assert meta["scheduler"] == {"last_epoch": 4, "base_lrs": [0.1]}
    assert meta["history"] == {"epoch": [1], "train_loss": [0.5]}
    assert meta["extra"] == {"note": "hi"}
    assert meta["generator"]["bit_generator"] == "PCG64"
    assert meta["rng"] == get_rng_state()
    assert not [p for p in tmp_path.iterdir() if p.name != "c.ckpt"]  # no temporary left


def test_load_restores_everything(tmp_path: Path) -> None:
    gen = np.random.default_rng(3)
    gen.random(5)
    manual_seed(8)
    path = saved(tmp_path, generator=gen)
    next_draw, rng_state = gen.random(), get_rng_state()

    manual_seed(1)
    model = Linear(1)
    opt, sched, gen2 = Opt(model.parameters()), Sched({}), np.random.default_rng(99)
    ckpt = load_checkpoint(path, model, opt, sched, generator=gen2)
    np.testing.assert_array_equal(model.w.data, Linear(0).w.data)
    assert opt.loaded is not None
    assert opt.loaded["state"][0]["step"] == 3
    np.testing.assert_array_equal(opt.loaded["state"][0]["exp_avg"].data, 0.5)
    assert opt.loaded["param_groups"][0]["lr"] == 0.1
    assert sched.state == {"last_epoch": 4, "base_lrs": [0.1]}
    assert ckpt.epoch == 1 and ckpt.history["train_loss"] == [0.5]
    assert gen2.random() == next_draw  # the data order continues where it was saved
    assert get_rng_state() == rng_state


def test_restore_rng_false_leaves_the_global_generator(tmp_path: Path) -> None:
    path = saved(tmp_path)
    manual_seed(77)
    state = get_rng_state()
    load_checkpoint(path, Linear(1), restore_rng=False)
    assert get_rng_state() == state


def test_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: Any) -> None:
    path = saved(tmp_path)
    good = path.read_bytes()
    model = Linear(5)

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, epoch=9)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ckpt"]


def test_unserialisable_state_is_refused_before_writing(tmp_path: Path) -> None:
    path = saved(tmp_path)
    good = path.read_bytes()
    model = Linear(0)
    with pytest.raises(TypeError, match="scheduler state is not JSON"):
        save_checkpoint(path, model, scheduler=Sched({"fn": lambda e: e}))
    model.extra = {"list": [1, 2]}
    with pytest.raises(TypeError, match="model state 'list'"):
        save_checkpoint(path, model)
    assert path.read_bytes() == good


def test_load_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.ckpt"):
        load_checkpoint(tmp_path / "missing.ckpt", Linear(0))
    weights = tmp_path / "weights.safetensors"
    save_tensors({"w": Tensor(np.zeros(2, np.float32))}, weights)
    with pytest.raises(ValueError, match="not a TinyTorch checkpoint"):
        load_checkpoint(weights, Linear(0))
    truncated = tmp_path / "cut.ckpt"
    truncated.write_bytes(saved(tmp_path).read_bytes()[:50])
    with pytest.raises(ValueError, match=r"cut\.ckpt"):
        load_checkpoint(truncated, Linear(0))

    bare = save_checkpoint(tmp_path / "bare.ckpt", Linear(0))
    model = Linear(4)
    before = model.w.data.copy()
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(bare, model, Opt(model.parameters()))
    with pytest.raises(ValueError, match="no generator state"):
        load_checkpoint(bare, model, generator=np.random.default_rng())
    np.testing.assert_array_equal(model.w.data, before)  # nothing was half-loaded
    with_gen = saved(tmp_path, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="PCG64 generator, cannot restore it into a MT19937"):
        load_checkpoint(with_gen, model, generator=np.random.Generator(np.random.MT19937(0)))


def test_checkpoint_tensors_load_as_plain_weights(tmp_path: Path) -> None:
    path = saved(tmp_path)
    tensors = load_tensors(path)
    np.testing.assert_array_equal(tensors["model/layer.weight"].data, Linear(0).w.data)
