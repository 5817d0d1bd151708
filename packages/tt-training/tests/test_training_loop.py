"""The Trainer: learning, phases, accumulation, scheduling, shuffling, resuming exactly.

Models, the optimizer and the scheduler here are small duck-typed classes on
raw Tensors: tt-training depends on neither tt-layers nor tt-optimizers.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tt_autograd
from tt_tensor import Tensor, manual_seed, rand, randn
from tt_training import History, Trainer, fit, load_checkpoint

# ----------------------------------------------------------------- duck types


class TinyMLP:
    """in -> tanh hidden (optional dropout from the global generator) -> out."""

    def __init__(
        self,
        n_in: int = 2,
        hidden: int = 8,
        n_out: int = 2,
        dropout: float = 0.0,
        dtype: Any = np.float32,
    ) -> None:
        def weight(*shape: int) -> Tensor:
            return Tensor(randn(*shape).data * 0.5, dtype=dtype, requires_grad=True)

        self.w1, self.b1 = weight(n_in, hidden), weight(hidden)
        self.w2, self.b2 = weight(hidden, n_out), weight(n_out)
        self.dropout = dropout
        self.training = True
        self.calls: list[tuple[bool, bool]] = []  # (training, grad enabled) per call

    def parameters(self) -> list[Tensor]:
        return [self.w1, self.b1, self.w2, self.b2]

    def train(self, mode: bool = True) -> "TinyMLP":
        self.training = mode
        return self

    def eval(self) -> "TinyMLP":
        return self.train(False)

    def state_dict(self) -> dict[str, Tensor]:
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}

    def load_state_dict(self, state: Any) -> None:
        for name, value in state.items():
            getattr(self, name).data[...] = value.data

    def __call__(self, x: Tensor) -> Tensor:
        self.calls.append((self.training, tt_autograd.is_grad_enabled()))
        h = (x @ self.w1 + self.b1).tanh()
        if self.training and self.dropout:
            keep = (rand(*h.shape).data > self.dropout) / (1 - self.dropout)
            h = h * Tensor(keep.astype(h.data.dtype))
        return h @ self.w2 + self.b2


class MomentumSGD:
    """Just enough optimizer: momentum buffers and step counts in PyTorch's layout."""

    def __init__(self, params: Any, lr: float = 0.1, momentum: float = 0.9) -> None:
        self.param_groups: list[dict[str, Any]] = [
            {"params": list(params), "lr": lr, "momentum": momentum}
        ]
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            p.grad = None

    def step(self) -> None:
        group = self.param_groups[0]
        for i, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            st = self.state.setdefault(i, {"steps": 0})
            buf = st.get("buf")
            g = p.grad.data
            st["buf"] = Tensor(g.copy() if buf is None else buf.data * group["momentum"] + g)
            st["steps"] += 1
            p.data -= group["lr"] * st["buf"].data

    def state_dict(self) -> dict[str, Any]:
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self.param_groups[0]["params"])))
        return {"state": {i: dict(s) for i, s in self.state.items()}, "param_groups": [group]}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.state = {
            int(i): {k: Tensor(v.data.copy()) if isinstance(v, Tensor) else v for k, v in s.items()}
            for i, s in sd["state"].items()
        }
        saved = {k: v for k, v in sd["param_groups"][0].items() if k != "params"}
        self.param_groups[0].update(saved)


class Halving:
    """A scheduler: halve the lr every `every` steps."""

    def __init__(self, opt: MomentumSGD, every: int = 3) -> None:
        self.opt, self.every, self.count = opt, every, 0

    def step(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.opt.param_groups[0]["lr"] *= 0.5

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "every": self.every}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.count, self.every = sd["count"], sd["every"]


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    shift = Tensor(logits.data.max(axis=1, keepdims=True))
    z = logits - shift
    logp = z - z.exp().sum(dim=1, keepdim=True).log()
    return -(logp[np.arange(len(y.data)), y.data]).mean()


def mse(out: Tensor, y: Tensor) -> Tensor:
    return ((out - y) ** 2).mean()


def blobs(n: int = 96, batch: int = 16, seed: int = 0) -> list[tuple[Tensor, Tensor]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 2)) * 0.6 + np.where(y[:, None] == 1, 1.0, -1.0)
    return [(Tensor(x[i : i + batch]), Tensor(y[i : i + batch])) for i in range(0, n, batch)]


def regression(n: int, seed: int = 1) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, np.sin(x.sum(1, keepdims=True))


# ----------------------------------------------------------------- learning


def test_fit_learns_and_records_history() -> None:
    manual_seed(0)
    model = TinyMLP()
    data = blobs()
    trainer = Trainer(model, cross_entropy, MomentumSGD(model.parameters(), lr=0.1), progress=False)
    history = trainer.fit(data, epochs=8, val_data=blobs(seed=1))
    assert len(history) == 8 and trainer.epoch == 8
    assert history["epoch"] == list(range(1, 9))
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time"):
        assert key in history
    losses = history["train_loss"]
    assert losses[-1] < 0.5 * losses[0]  # type: ignore[operator]
    assert history["val_accuracy"][-1] > 0.9  # type: ignore[operator]
    assert trainer.global_step == 8 * len(data)


def test_fit_function_and_custom_metrics() -> None:
    manual_seed(1)
    model = TinyMLP(n_in=3, n_out=1)
    x, y = regression(32)
    data = [
        (x[i : i + 8].astype(np.float32), y[i : i + 8].astype(np.float32)) for i in (0, 8, 16, 24)
    ]
    history = fit(
        model,
        data,
        mse,
        MomentumSGD(model.parameters(), lr=0.05),
        epochs=3,
        metrics={"mae": lambda o, t: float(np.abs(o.data - t.data).mean())},
        progress=False,
    )
    assert isinstance(history, History)
    assert "train_mae" in history and "train_accuracy" not in history  # float targets: no accuracy


def test_eval_phase_uses_eval_mode_and_no_grad() -> None:
    manual_seed(0)
    model = TinyMLP(dropout=0.5)
    trainer = Trainer(model, cross_entropy, MomentumSGD(model.parameters()), progress=False)
    trainer.fit(blobs(n=32), epochs=1, val_data=blobs(n=32, seed=3))
    train_calls, val_calls = model.calls[:2], model.calls[2:]
    assert train_calls == [(True, True)] * 2
    assert val_calls == [(False, False)] * 2
    assert model.training  # back in train mode
    before = [p.data.copy() for p in model.parameters()]
    metrics = trainer.evaluate(blobs(n=32, seed=3))
    assert set(metrics) == {"loss", "accuracy"}
    for a, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(a, p.data)  # evaluation never changes weights
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------- accumulation


def run_steps(batches: list[tuple[Any, Any]], k: int, clip: float | None = None) -> list[Any]:
    manual_seed(3)
    model = TinyMLP(n_in=3, n_out=1, dtype=np.float64)
    opt = MomentumSGD(model.parameters(), lr=0.1, momentum=0.5)
    Trainer(model, mse, opt, accumulate_steps=k, max_grad_norm=clip, progress=False).fit(
        batches, epochs=2
    )
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize("clip", [None, 0.05])
def test_accumulation_equals_one_larger_batch(clip: float | None) -> None:
    x, y = regression(24)
    big = [(Tensor(x[i : i + 8]), Tensor(y[i : i + 8])) for i in range(0, 24, 8)]
    small = [(Tensor(x[i : i + 2]), Tensor(y[i : i + 2])) for i in range(0, 24, 2)]
    reference = run_steps(big, k=1, clip=clip)
    for a, b in zip(reference, run_steps(small, k=4, clip=clip), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # and it is not what stepping on every small batch does
    unaccumulated = run_steps(small, k=1, clip=clip)
    assert not np.allclose(reference[0], unaccumulated[0])


def test_last_partial_group_is_the_mean_of_what_it_holds() -> None:
    x, y = regression(20)
    small = [(Tensor(x[i : i + 4]), Tensor(y[i : i + 4])) for i in range(0, 20, 4)]  # 5 batches
    merged = [
        (Tensor(x[0:8]), Tensor(y[0:8])),
        (Tensor(x[8:16]), Tensor(y[8:16])),
        (Tensor(x[16:20]), Tensor(y[16:20])),
    ]
    for a, b in zip(run_steps(merged, k=1), run_steps(small, k=2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- hooks


@pytest.mark.parametrize(
    ("when", "k", "expected"), [("epoch", 1, 3), ("batch", 1, 18), ("batch", 4, 6)]
)
def test_scheduler_steps_per_epoch_or_per_optimizer_step(when: Any, k: int, expected: int) -> None:
    manual_seed(0)
    model = TinyMLP()
    opt = MomentumSGD(model.parameters())
    sched = Halving(opt, every=1000)
    Trainer(
        model,
        cross_entropy,
        opt,
        scheduler=sched,
        scheduler_step=when,
        accumulate_steps=k,
        progress=False,
    ).fit(blobs(), epochs=3)
    assert sched.count == expected


def test_lr_in_history_is_the_one_used_during_the_epoch() -> None:
    manual_seed(0)
    model = TinyMLP()
    opt = MomentumSGD(model.parameters(), lr=0.8)
    history = Trainer(
        model, cross_entropy, opt, scheduler=Halving(opt, every=1), progress=False
    ).fit(blobs(), epochs=3)
    assert history["lr"] == [0.8, 0.4, 0.2]


def test_clipping_records_the_norm_and_limits_the_step() -> None:
    manual_seed(0)
    model = TinyMLP()
    opt = MomentumSGD(model.parameters(), lr=1.0, momentum=0.0)
    before = np.concatenate([p.data.ravel() for p in model.parameters()])
    trainer = Trainer(model, cross_entropy, opt, max_grad_norm=1e-3, progress=False)
    trainer.train_epoch(blobs(n=16))  # one batch, one step
    after = np.concatenate([p.data.ravel() for p in model.parameters()])
    assert trainer.last_grad_norm is not None and trainer.last_grad_norm > 1e-3
    assert np.linalg.norm(after - before) == pytest.approx(1e-3, rel=1e-3)


def test_callbacks_can_stop_training() -> None:
    manual_seed(0)
    model = TinyMLP()
    seen: list[int] = []

    def stop_at_two(trainer: Trainer, row: dict[str, Any]) -> None:
        seen.append(row["epoch"])
        trainer.stop_training = row["epoch"] >= 2

    trainer = Trainer(
        model,
        cross_entropy,
        MomentumSGD(model.parameters()),
        progress=False,
        callbacks=[stop_at_two],
    )
    assert len(trainer.fit(blobs(), epochs=10)) == 2
    assert seen == [1, 2]


def test_progress_bar_shows_live_loss(capsys: pytest.CaptureFixture[str]) -> None:
    manual_seed(0)
    model = TinyMLP()
    Trainer(model, cross_entropy, MomentumSGD(model.parameters())).fit(blobs(), epochs=1)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "train_loss=" in err
    Trainer(model, cross_entropy, MomentumSGD(model.parameters()), progress=False).fit(
        blobs(), epochs=1
    )
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------- data order


class OrderRecorder(TinyMLP):
    def __init__(self) -> None:
        super().__init__()
        self.first_values: list[float] = []

    def __call__(self, x: Tensor) -> Tensor:
        self.first_values.append(float(x.data[0, 0]))
        return super().__call__(x)


def epoch_orders(seed: int, shuffle: bool = True) -> list[float]:
    model = OrderRecorder()
    Trainer(
        model,
        cross_entropy,
        MomentumSGD(model.parameters()),
        shuffle=shuffle,
        generator=seed,
        progress=False,
    ).fit(blobs(), epochs=2)
    return model.first_values


def test_shuffle_is_seeded_and_changes_every_epoch() -> None:
    a, b = epoch_orders(5), epoch_orders(5)
    assert a == b
    assert a[:6] != a[6:]  # a new order each epoch
    assert sorted(a[:6]) == sorted(a[6:])  # of the same batches
    assert epoch_orders(6) != a
    unshuffled = epoch_orders(5, shuffle=False)
    assert unshuffled[:6] == unshuffled[6:]


def test_global_seed_decides_the_default_generator() -> None:
    def draw(seed: int) -> float:
        manual_seed(seed)
        trainer = Trainer(TinyMLP(), cross_entropy, MomentumSGD([]), shuffle=True)
        return trainer.generator.random()

    assert draw(11) == draw(11) != draw(12)
    model = TinyMLP()
    manual_seed(11)
    untouched = rand(3).data
    manual_seed(11)
    Trainer(model, cross_entropy, MomentumSGD([]))  # no shuffling: global stream untouched
    np.testing.assert_array_equal(rand(3).data, untouched)


# ----------------------------------------------------------------- resuming


def build(seed: int, generator: int) -> tuple[TinyMLP, Trainer]:
    manual_seed(seed)
    model = TinyMLP(dropout=0.3)
    opt = MomentumSGD(model.parameters(), lr=0.2)
    trainer = Trainer(
        model,
        cross_entropy,
        opt,
        scheduler=Halving(opt, every=5),
        scheduler_step="batch",
        accumulate_steps=2,
        max_grad_norm=5.0,
        shuffle=True,
        generator=generator,
        progress=False,
    )
    return model, trainer


def test_resume_continues_bit_for_bit(tmp_path: Path) -> None:
    data, val = blobs(n=80, batch=8), blobs(n=32, seed=9)
    straight_model, straight = build(seed=0, generator=42)
    straight.fit(data, epochs=4, val_data=val)

    _, first = build(seed=0, generator=42)
    first.fit(data, epochs=2, val_data=val, checkpoint_path=tmp_path / "run.ckpt")
    manual_seed(999)  # scramble the global generator: the checkpoint must restore it
    resumed_model, resumed = build(seed=123, generator=7)  # fresh, different objects
    resumed.load_checkpoint(tmp_path / "run.ckpt")
    assert resumed.epoch == 2 and len(resumed.history) == 2
    resumed.fit(data, epochs=2, val_data=val)

    for a, b in zip(straight_model.parameters(), resumed_model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    for key in ("epoch", "train_loss", "train_accuracy", "val_loss", "lr"):
        assert straight.history[key] == resumed.history[key], key
    assert straight.global_step == resumed.global_step
    assert straight.optimizer.param_groups[0]["lr"] == resumed.optimizer.param_groups[0]["lr"]
    assert straight.generator.random() == resumed.generator.random()


def test_checkpoint_restores_into_plain_objects(tmp_path: Path) -> None:
    model, trainer = build(seed=0, generator=1)
    trainer.fit(blobs(), epochs=1)
    path = trainer.save_checkpoint(tmp_path / "ckpt.safetensors")
    manual_seed(5)
    other = TinyMLP()
    opt = MomentumSGD(other.parameters())
    ckpt = load_checkpoint(path, other, opt)
    assert ckpt.epoch == 1 and ckpt.extra["global_step"] == trainer.global_step
    assert ckpt.history == trainer.history
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert opt.state[0]["steps"] == trainer.optimizer.state[0]["steps"]  # type: ignore[attr-defined]


# ----------------------------------------------------------------- errors


def test_bad_arguments_and_batches_are_clear_errors() -> None:
    manual_seed(0)
    model = TinyMLP()
    opt = MomentumSGD(model.parameters())
    with pytest.raises(ValueError, match="accumulate_steps"):
        Trainer(model, cross_entropy, opt, accumulate_steps=0)
    with pytest.raises(ValueError, match="scheduler_step"):
        Trainer(model, cross_entropy, opt, scheduler_step="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_grad_norm"):
        Trainer(model, cross_entropy, opt, max_grad_norm=-1.0)
    trainer = Trainer(model, cross_entropy, opt, progress=False)
    with pytest.raises(TypeError, match=r"\(inputs, targets\) pair"):
        trainer.fit([Tensor(np.zeros((2, 2)))], epochs=1)
    with pytest.raises(ValueError, match="no batches"):
        trainer.fit([], epochs=1)
    with pytest.raises(ValueError, match="scalar Tensor"):
        Trainer(model, lambda o, t: o, opt, progress=False).fit(blobs(n=16), epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        trainer.fit(blobs(), epochs=-1)
    with pytest.raises(TypeError, match="sequence of batches"):
        Trainer(model, cross_entropy, opt, shuffle=True, progress=False).fit(
            iter(blobs()), epochs=1
        )
