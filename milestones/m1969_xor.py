"""1969 XOR: one layer cannot pass 75% on XOR; two layers trained by backpropagation reach 100%.

Milestone 2 (unlocked after module 07). The XOR problem from Minsky and
Papert's "Perceptrons": first the proof and a measurement that no single
linear layer classifies more than three of XOR's four points, then a 2-4-1
tanh network trained with backpropagation (tt-autograd), Adam (tt-optimizers)
and the Trainer (tt-training) that gets all four right, from every seed tried.

Run: python milestones/m1969_xor.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Everything through the composed package, as a PyTorch user would write it.
import tinytorch as torch
from _common import banner, parser, timed, weights_dir, write_results
from tinytorch.nn import BCEWithLogitsLoss, Linear, Sequential, Tanh
from tinytorch.optim import SGD, Adam
from tinytorch.training import History, Trainer, binary_accuracy

MILESTONE = "1969_xor"

STORY = """
In 1969 Marvin Minsky and Seymour Papert published "Perceptrons", a careful
analysis of what single-layer networks can compute. Its best-known result is
also its simplest: no perceptron computes XOR. A single layer answers
"1 if w1*x1 + w2*x2 + b > 0", and XOR would need

    (0,0) -> 0:  b <= 0              (1,0) -> 1:  w1 + b > 0
    (1,1) -> 0:  w1 + w2 + b <= 0    (0,1) -> 1:  w2 + b > 0

Adding the two right-hand lines gives w1 + w2 + 2b > 0, so w1 + w2 + b > -b >= 0,
contradicting the bottom-left line. The four points are not linearly
separable: any line gets at most three right, 75%. Funding for neural networks
dried up for a decade. The way out, a hidden layer whose weights are learned by
propagating the error backwards, was known in pieces, but it took until 1986
(Rumelhart, Hinton and Williams) to become the standard. Below: the bound
measured, a single layer trained and stuck, and a 2-4-1 network that learns XOR.
"""

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)
# The model outputs a logit: sigmoid(logit) > 0.5 exactly when logit > 0.
ACCURACY = partial(binary_accuracy, threshold=0.0)
LR = 0.1


def best_line_accuracy(n_lines: int, seed: int) -> float:
    """The best accuracy on XOR among `n_lines` random lines (all four points at once)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_lines, 2))
    b = rng.standard_normal(n_lines)
    predictions = (X @ w.T + b).T > 0  # (n_lines, 4)
    return float((predictions == (Y[:, 0] > 0.5)).mean(axis=1).max())


class EveryStep:
    """A Trainer metric that also remembers the accuracy of every single step."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def __call__(self, outputs: Any, targets: Any) -> float:
        self.values.append(ACCURACY(outputs, targets))
        return self.values[-1]


def train(
    model: Any, optimizer: Any, epochs: int, steps_per_epoch: int, per_step: EveryStep | None = None
) -> Trainer:
    """Full-batch training: an epoch is `steps_per_epoch` steps on the four points."""
    batches = [(torch.tensor(X), torch.tensor(Y))] * steps_per_epoch
    trainer = Trainer(
        model,
        BCEWithLogitsLoss(),
        optimizer,
        metrics={"accuracy": per_step or ACCURACY},
        progress=False,
    )
    trainer.fit(batches, epochs=epochs)
    return trainer


def final_accuracy(trainer: Trainer) -> float:
    return trainer.evaluate([(torch.tensor(X), torch.tensor(Y))])["accuracy"]


def first_perfect_epoch(history: History) -> int | None:
    """The first epoch whose mean training accuracy was 100%."""
    for epoch, acc in zip(history["epoch"], history["train_accuracy"], strict=True):
        if acc == 1.0:
            return int(epoch or 0)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser(MILESTONE, "XOR: a single layer fails, a two-layer MLP learns it").parse_args(
        argv
    )
    banner("Milestone 1969: XOR and the limits of a single layer", STORY)
    seeds = [args.seed + i for i in range(3 if args.quick else 20)]
    epochs, steps = (15, 20) if args.quick else (25, 40)
    ok = True
    results: dict[str, Any] = {"seed": args.seed, "seeds": seeds}

    with timed() as clock:
        # 1. the bound, measured: a million random lines, none beats 3 of 4
        n_lines = 100_000 if args.quick else 1_000_000
        best = best_line_accuracy(n_lines, args.seed)
        print(f"best of {n_lines:,} random lines on XOR: {best:.0%} (the proof says 75%)")
        ok &= best == 0.75
        results["best_random_line_accuracy"] = best

        # 2. a single linear layer trained by gradient descent
        single = []
        for seed in seeds:
            torch.manual_seed(seed)
            model = Linear(2, 1)
            per_step = EveryStep()
            opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
            trainer = train(model, opt, epochs, steps, per_step)
            single.append(
                {
                    "seed": seed,
                    "best_step_accuracy": max(per_step.values),
                    "final_accuracy": final_accuracy(trainer),
                    "final_loss": trainer.history["train_loss"][-1],
                }
            )
        worst_case = max(r["best_step_accuracy"] for r in single)
        print(
            f"single layer Linear(2, 1), {epochs * steps} SGD steps x {len(seeds)} seeds: "
            f"best accuracy at any step {worst_case:.0%}; final loss "
            f"{np.mean([r['final_loss'] for r in single]):.4f} (ln 2 = 0.6931: the best a line "
            "can do for this loss is to answer 0.5 everywhere)"
        )
        ok &= worst_case <= 0.75
        results["single_layer"] = single

        # 3. two layers, backpropagation
        mlp_runs: list[dict[str, Any]] = []
        main: Trainer | None = None
        for seed in seeds:
            torch.manual_seed(seed)
            mlp = Sequential(Linear(2, 4), Tanh(), Linear(4, 1))
            trainer = train(mlp, Adam(mlp.parameters(), lr=LR), epochs, steps)
            acc = final_accuracy(trainer)
            mlp_runs.append(
                {
                    "seed": seed,
                    "final_accuracy": acc,
                    "final_loss": trainer.history["train_loss"][-1],
                    "first_perfect_epoch": first_perfect_epoch(trainer.history),
                }
            )
            if seed == args.seed:
                main = trainer
        solved = sum(r["final_accuracy"] == 1.0 for r in mlp_runs)
        main_solved = next(r for r in mlp_runs if r["seed"] == args.seed)["final_accuracy"] == 1
        # a 2-4-1 net can land in a local minimum now and then: demand it rarely does
        ok &= main_solved and solved >= 0.9 * len(seeds)
        results["mlp"] = {
            "architecture": f"2-4-1, tanh, BCEWithLogitsLoss, Adam(lr={LR})",
            "runs": mlp_runs,
            "solved": solved,
        }

    print(
        f"\n2-4-1 MLP (tanh), Adam lr {LR}, seed {args.seed}: an epoch is {steps} full-batch steps"
    )
    assert main is not None
    print(main.history.format(["epoch", "train_loss", "train_accuracy"]))
    with torch.no_grad():
        probs = main.model(torch.tensor(X)).sigmoid().data[:, 0]
    print(
        "truth table: "
        + "  ".join(f"{a:.0f} xor {b:.0f} -> {p:.3f}" for (a, b), p in zip(X, probs, strict=True))
    )
    print(
        f"MLP solved XOR from {solved} of {len(seeds)} seeds; epochs to 100%: "
        f"{[r['first_perfect_epoch'] for r in mlp_runs]}"
    )
    if args.out is not None:
        out = weights_dir(MILESTONE, args.out, args.quick)
        path = main.save_checkpoint(out / "xor_mlp.ckpt")
        main.history.to_json(out / "history.json")
        print(f"checkpoint and history saved in {path.parent}")

    print(
        f"\n{'PASSED' if ok else 'FAILED'}: a single layer stays <= 75% on XOR, the two-layer "
        f"network reaches 100% ({clock['seconds']:.2f} s)"
    )
    results |= {
        "passed": ok,
        "seconds": round(clock["seconds"], 3),
        "history": main.history.to_dict(),
    }
    write_results(
        MILESTONE,
        args.quick,
        results,
        None if args.results is None else args.results / f"{MILESTONE}.json",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
