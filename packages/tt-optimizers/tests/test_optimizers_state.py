"""state_dict round trips (through JSON too) and the learning-rate schedulers."""

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tt_optimizers import SGD, Adam, AdamW, Optimizer
from tt_optimizers.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    LRScheduler,
    OneCycleLR,
    StepLR,
)
from tt_tensor import Tensor


def make_params(seed: int = 0) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [
        Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True),
        Tensor(rng.standard_normal(2).astype(np.float32), requires_grad=True),
    ]


def fake_step(opt: Optimizer, params: list[Tensor], t: int) -> None:
    """A deterministic 'gradient' that depends on the parameters and the step."""
    for i, p in enumerate(params):
        p.grad = Tensor((np.sin(p.data * (i + 1)) + 0.1 * t).astype(np.float32))
    opt.step()


def split_json(sd: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What a checkpoint does: tensors aside, the rest through JSON."""
    tensors: dict[str, Any] = {}

    def default(obj: Any) -> Any:
        if isinstance(obj, Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = obj.data.copy()
            return {"__tensor__": key}
        raise TypeError(f"not JSON: {type(obj).__name__}")

    return json.dumps(sd, default=default), tensors


def join_json(text: str, tensors: dict[str, Any]) -> Any:
    def hook(obj: dict[str, Any]) -> Any:
        return Tensor(tensors[obj["__tensor__"]]) if "__tensor__" in obj else obj

    return json.loads(text, object_hook=hook)


OPTIMIZERS: dict[str, Callable[[Any], Optimizer]] = {
    "sgd_nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
    "adamw_groups": lambda ps: AdamW([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.1}]),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name: str) -> None:
    make = OPTIMIZERS[name]
    params = make_params()
    opt = make(params)
    for t in range(5):
        fake_step(opt, params, t)
    text, tensors = split_json(opt.state_dict())

    clone = [Tensor(p.data.copy(), requires_grad=True) for p in params]
    fresh = make(clone)
    fresh.load_state_dict(join_json(text, tensors))
    assert fresh.param_groups[0].keys() == opt.param_groups[0].keys()
    if "betas" in opt.defaults:
        assert isinstance(fresh.param_groups[0]["betas"], tuple)
    for t in range(5, 10):
        fake_step(opt, params, t)
        fake_step(fresh, clone, t)
    for a, b in zip(params, clone, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_is_pytorchs() -> None:
    params = make_params()
    opt = Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}])
    fake_step(opt, params, 0)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][1]["step"] == 1
    # a snapshot: later steps do not change it
    before = sd["state"][0]["exp_avg"].data.copy()
    fake_step(opt, params, 1)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].data, before)


def test_loading_copies_the_state() -> None:
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    fake_step(opt, params, 0)
    sd = opt.state_dict()
    other = SGD(make_params(), lr=0.1, momentum=0.9)
    other.load_state_dict(sd)
    other.state[other.param_groups[0]["params"][0]]["momentum_buffer"].data[...] = 7
    assert not np.any(sd["state"][0]["momentum_buffer"].data == 7)


def test_load_state_dict_mismatches_are_clear() -> None:
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    fake_step(opt, params, 0)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters"):
        SGD(make_params()[:1], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        p = make_params()
        SGD([{"params": p[:1]}, {"params": p[1:]}], lr=0.1).load_state_dict(sd)
    wrong = [Tensor(np.zeros((5,), np.float32), requires_grad=True), make_params()[1]]
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        SGD(wrong, lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"weights": 1})


# ------------------------------------------------------------------ schedulers


def lrs(sched: LRScheduler, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


def sgd(lr: float = 1.0, momentum: float = 0.9) -> SGD:
    return SGD(make_params(), lr=lr, momentum=momentum)


def test_step_lr_by_hand() -> None:
    values = lrs(StepLR(sgd(), step_size=3, gamma=0.5), 9)
    assert values == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])


def test_cosine_reaches_eta_min_at_t_max_and_comes_back() -> None:
    values = lrs(CosineAnnealingLR(sgd(), T_max=10, eta_min=0.1), 21)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(21)]
    assert values == pytest.approx(expected, rel=1e-12)
    assert values[10] == pytest.approx(0.1)


def test_lambda_lr_scales_the_initial_lr() -> None:
    opt = sgd(lr=0.2)
    values = lrs(LambdaLR(opt, lambda epoch: 1 / (epoch + 1)), 4)
    assert values == pytest.approx([0.2, 0.1, 0.2 / 3, 0.05])
    assert opt.param_groups[0]["initial_lr"] == 0.2


def test_one_cycle_shape_and_momentum() -> None:
    opt = sgd()
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=100)
    assert sched.get_last_lr()[0] == pytest.approx(1.0 / 25)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    values, momenta = [], []
    for _ in range(99):
        opt.step()
        sched.step()
        values.append(sched.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
    peak = int(np.argmax(values)) + 1
    assert peak == 29  # end of phase one: pct_start * total - 1
    assert max(values) == pytest.approx(1.0)
    assert momenta[peak - 1] == pytest.approx(0.85)
    assert values[-1] == pytest.approx(1.0 / 25 / 1e4)
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        opt.step()
        sched.step()
        sched.step()


def test_one_cycle_cycles_adam_beta1() -> None:
    opt = Adam(make_params(), betas=(0.9, 0.99))
    OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5, max_momentum=0.93)
    assert opt.param_groups[0]["betas"] == (0.93, 0.99)


def ANY(value: Any) -> Any:  # reads as a cast
    return value


class JustLR(Optimizer):
    def __init__(self, params: Any) -> None:
        super().__init__(params, {"lr": 0.1})


@pytest.mark.parametrize(
    ("make", "error", "needle"),
    [
        (lambda o: OneCycleLR(o, max_lr=1.0), ValueError, "total_steps OR"),
        (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps"),
        (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=1.5), ValueError, "1.5"),
        (lambda o: OneCycleLR(o, 1.0, 9, anneal_strategy=ANY("exp")), ValueError, "exp"),
        (lambda o: OneCycleLR(o, [1.0, 2.0], 9), ValueError, "expected 1 values for max_lr"),
        (lambda o: OneCycleLR(JustLR(make_params()), 1.0, 9), ValueError, "momentum or beta1"),
        (lambda o: StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: LambdaLR(o, [lambda e: 1.0] * 2), ValueError, "Expected 1 lr_lambdas"),
        (lambda o: StepLR(ANY("sgd"), step_size=1), TypeError, "not an Optimizer"),
        (lambda o: StepLR(o, step_size=2, last_epoch=3), KeyError, "initial_lr"),
    ],
)
def test_scheduler_errors(make: Any, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        make(sgd())


SCHEDULERS: dict[str, Callable[[Optimizer], LRScheduler]] = {
    "step": lambda o: StepLR(o, step_size=4, gamma=0.3),
    "cosine": lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "one_cycle": lambda o: OneCycleLR(o, max_lr=0.5, total_steps=40, three_phase=True),
    "lambda": lambda o: LambdaLR(o, lambda e: 0.9**e),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_state_dict_through_json_continues_identically(name: str) -> None:
    make = SCHEDULERS[name]
    opt = sgd()
    sched = make(opt)
    for _ in range(9):
        opt.step()
        sched.step()
    sched_text = json.dumps(sched.state_dict())
    opt_text, tensors = split_json(opt.state_dict())

    opt2 = sgd()
    sched2 = make(opt2)  # build first (it rewrites lr), then load: PyTorch's order
    opt2.load_state_dict(join_json(opt_text, tensors))
    sched2.load_state_dict(json.loads(sched_text))
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert lrs(sched2, 15) == lrs(sched, 15)


def test_lambda_state_keeps_callable_objects_state() -> None:
    class Warmup:
        def __init__(self) -> None:
            self.factor = 2.0

        def __call__(self, epoch: int) -> float:
            return self.factor * (epoch + 1)

    a, b = Warmup(), Warmup()
    b.factor = 5.0
    sa = LambdaLR(sgd(lr=0.1), a)
    state = sa.state_dict()
    assert state["lr_lambdas"] == [{"factor": 2.0}]
    LambdaLR(sgd(lr=0.1), b).load_state_dict(state)
    assert b.factor == 2.0
    assert LambdaLR(sgd(), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]
