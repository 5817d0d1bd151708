"""100-step trajectories against torch.optim: same start, same data, same numbers."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tt_optimizers as tto
from tt_optimizers import lr_scheduler as tt_sched
from tt_tensor import Tensor

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")

STEPS = 100
RNG = np.random.default_rng(7)
X = RNG.standard_normal((16, 3)).astype(np.float32)
Y = RNG.standard_normal((16, 4)).astype(np.float32)
W0 = (RNG.standard_normal((4, 3)) * 0.5).astype(np.float32)
B0 = (RNG.standard_normal(4) * 0.1).astype(np.float32)


def tt_params() -> list[Tensor]:
    return [Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)]


def torch_params() -> list[Any]:
    return [
        torch.tensor(W0.copy(), requires_grad=True),
        torch.tensor(B0.copy(), requires_grad=True),
    ]


def oracle_grads(w: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
    """Gradients of mean((tanh(X·Wᵀ + b) - Y)²), computed identically for both libraries.

    Both optimizers get bit-identical gradients from bit-identical parameters,
    so any drift between the trajectories comes from the update rules alone.
    """
    w64, b64 = w.astype(np.float64), b.astype(np.float64)
    a = np.tanh(X @ w64.T + b64)
    dz = 2 * (a - Y) / Y.size * (1 - a * a)
    return [(dz.T @ X).astype(np.float32), dz.sum(0).astype(np.float32)]


def tt_loss(w: Tensor, b: Tensor) -> Tensor:
    return (((Tensor(X) @ w.T + b).tanh() - Tensor(Y)) ** 2).mean()


def torch_loss(w: Any, b: Any) -> Any:
    return ((torch.tanh(torch.tensor(X) @ w.T + b) - torch.tensor(Y)) ** 2).mean()


def set_grads(lib: str, params: list[Any]) -> None:
    arrays = [np.array(p.data if lib == "tt" else p.detach().numpy()) for p in params]
    for p, g in zip(params, oracle_grads(*arrays), strict=True):
        p.grad = Tensor(g) if lib == "tt" else torch.from_numpy(g)


def trajectories(
    make: Callable[[Any, list[Any]], Any],
    make_sched: Callable[[Any, Any], Any] | None = None,
    groups: Callable[[list[Any]], Any] = lambda ps: ps,
    autograd: bool = False,
) -> tuple[list[np.ndarray[Any, Any]], list[np.ndarray[Any, Any]]]:
    """Run both libraries for STEPS steps; return the stacked parameters after each step."""
    mine: list[np.ndarray[Any, Any]] = []
    theirs: list[np.ndarray[Any, Any]] = []
    for lib in ("tt", "torch"):
        params = tt_params() if lib == "tt" else torch_params()
        opt = make(tto if lib == "tt" else torch.optim, groups(params))
        sched = None
        if make_sched is not None:
            sched = make_sched(tt_sched if lib == "tt" else torch.optim.lr_scheduler, opt)
        for _ in range(STEPS):
            opt.zero_grad()
            if autograd:
                (tt_loss if lib == "tt" else torch_loss)(*params).backward()
            else:
                set_grads(lib, params)
            opt.step()
            if sched is not None:
                sched.step()
            flat = np.concatenate(
                [np.asarray(p.data if lib == "tt" else p.detach()).ravel() for p in params]
            )
            (mine if lib == "tt" else theirs).append(flat)
    return mine, theirs


def assert_same_path(mine: list[Any], theirs: list[Any], rtol: float = 1e-5) -> None:
    assert len(mine) == len(theirs) == STEPS
    for step, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol / 10, err_msg=f"step {step + 1}")
    assert not np.allclose(mine[0], mine[-1])  # it did move


SGD_CASES: dict[str, dict[str, Any]] = {
    "plain": {"lr": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "dampening": {"lr": 0.05, "momentum": 0.9, "dampening": 0.5},
    "nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "weight_decay": {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05},
    "maximize": {"lr": 0.01, "momentum": 0.5, "maximize": True},
    "everything": {"lr": 0.03, "momentum": 0.7, "weight_decay": 0.01, "nesterov": True},
}

ADAM_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "adam": ("Adam", {"lr": 0.01}),
    "adam_betas_eps": ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    "adam_l2": ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    "amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True}),
    "adam_maximize": ("Adam", {"lr": 0.001, "maximize": True}),
    "adamw": ("AdamW", {"lr": 0.01}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
}


@pytest.mark.parametrize("case", sorted(SGD_CASES))
def test_sgd_matches_torch(case: str) -> None:
    kw = SGD_CASES[case]
    assert_same_path(*trajectories(lambda lib, ps: lib.SGD(ps, **kw)))


@pytest.mark.parametrize("case", sorted(ADAM_CASES))
def test_adam_family_matches_torch(case: str) -> None:
    name, kw = ADAM_CASES[case]
    assert_same_path(*trajectories(lambda lib, ps: getattr(lib, name)(ps, **kw)))


def test_param_groups_match_torch() -> None:
    def sgd_groups(ps: list[Any]) -> Any:
        return [{"params": [ps[0]], "momentum": 0.9}, {"params": [ps[1]], "lr": 0.3}]

    assert_same_path(*trajectories(lambda lib, g: lib.SGD(g, lr=0.05), groups=sgd_groups))

    def adam_groups(ps: list[Any]) -> Any:
        return [{"params": [ps[0]], "betas": (0.5, 0.9)}, {"params": [ps[1]], "weight_decay": 0.1}]

    assert_same_path(*trajectories(lambda lib, g: lib.AdamW(g, lr=0.01), groups=adam_groups))


def test_optimizer_with_one_cycle_per_step_matches_torch() -> None:
    assert_same_path(
        *trajectories(
            lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
            lambda sched, opt: sched.OneCycleLR(opt, max_lr=0.2, total_steps=STEPS + 1),
        )
    )
    assert_same_path(
        *trajectories(
            lambda lib, ps: lib.Adam(ps, lr=0.01),
            lambda sched, opt: sched.CosineAnnealingLR(opt, T_max=40, eta_min=1e-3),
        )
    )


SCHEDULES: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "step": ("SGD", lambda s, o: s.StepLR(o, step_size=7, gamma=0.5)),
    "cosine": ("SGD", lambda s, o: s.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)),
    "lambda": ("SGD", lambda s, o: s.LambdaLR(o, lambda e: 0.97**e + 0.01 * (e % 3))),
    "lambda_per_group": (
        "SGD",
        lambda s, o: s.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
    ),
    "one_cycle_sgd": ("SGD", lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=101)),
    "one_cycle_adam": (
        "Adam",
        lambda s, o: s.OneCycleLR(o, max_lr=[0.1, 0.2], epochs=10, steps_per_epoch=11),
    ),
    "one_cycle_linear_3phase": (
        "SGD",
        lambda s, o: s.OneCycleLR(
            o,
            max_lr=1.0,
            total_steps=150,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
    ),
    "one_cycle_no_momentum": (
        "Adam",
        lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=120, cycle_momentum=False),
    ),
}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_scheduler_lr_sequence_matches_torch(case: str) -> None:
    opt_name, make = SCHEDULES[case]
    seqs: dict[str, list[Any]] = {}
    for name, lib, sched in (
        ("tt", tto, tt_sched),
        ("torch", torch.optim, torch.optim.lr_scheduler),
    ):
        w, b = tt_params() if name == "tt" else torch_params()
        kw: dict[str, Any] = {"momentum": 0.9} if opt_name == "SGD" else {}
        opt = getattr(lib, opt_name)([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1, **kw)
        s = make(sched, opt)
        seq = []
        for _ in range(STEPS):
            opt.step()  # no gradients: nothing moves, but torch wants step() before sched.step()
            momenta = [
                g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups
            ]
            seq.append((s.get_last_lr(), momenta))
            s.step()
        seqs[name] = seq
    for step, (a, b) in enumerate(zip(seqs["tt"], seqs["torch"], strict=True)):
        assert a[0] == pytest.approx(b[0], rel=1e-13, abs=1e-16), f"lr at step {step}"
        assert a[1] == pytest.approx(b[1], rel=1e-13), f"momentum at step {step}"


def test_trajectory_with_each_librarys_own_autograd() -> None:
    """End to end: gradients from tt-autograd vs torch.autograd (their float32 sums differ
    in the last bits, so the tolerance is looser than above)."""
    assert_same_path(
        *trajectories(lambda lib, ps: lib.Adam(ps, lr=0.01, amsgrad=True), autograd=True),
        rtol=1e-4,
    )
    assert_same_path(
        *trajectories(lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9), autograd=True),
        rtol=1e-4,
    )
