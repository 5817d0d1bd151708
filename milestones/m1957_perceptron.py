"""1957 Perceptron: Rosenblatt's learning rule trains one linear layer on AND, OR and 2-D points.

Milestone 1 (unlocked after module 04). A single `Linear(2, 1)` with a step
activation, trained by Rosenblatt's mistake-driven rule: no gradients, no
optimizer, just "when you are wrong, move the line toward the point". It
learns AND, OR and a seeded linearly separable 2-D data set to 100% training
accuracy, checks the number of mistakes against Novikoff's bound, and shows
the limit that stalled the field for a decade: XOR.

Run: python milestones/m1957_perceptron.py [--quick] [--seed N]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tinytorch as torch
from _common import banner, parser, timed, write_results
from tinytorch.nn import Linear, init

MILESTONE = "1957_perceptron"

STORY = """
In 1957 Frank Rosenblatt, at the Cornell Aeronautical Laboratory, built the
Mark I Perceptron: 400 photocells wired through adjustable weights (motor-driven
potentiometers) to a single threshold unit. It was the first machine that
learned from examples. Its rule fits on one line:

    predict  y_hat = step(w . x + b)          (+1 or -1)
    if wrong:  w <- w + y x,   b <- b + y      (move the line toward the point)

In 1962 Albert Novikoff proved that if some line separates the two classes with
margin gamma, and every point lies within radius R, the rule makes at most
(R / gamma)^2 mistakes, then never errs again. Below, one TinyTorch Linear(2, 1)
learns AND, OR and a seeded linearly separable data set, and we count its
mistakes against that bound. Then XOR, which no single line can separate
(Minsky and Papert, 1969): the rule cycles forever. Hidden layers trained by
backpropagation (milestone 1986) are the way out.
"""


def predict(model: Linear, x: torch.Tensor) -> np.ndarray[Any, Any]:
    """The perceptron's step activation: +1 where w . x + b > 0, else -1."""
    return np.where(model(x).data[..., 0] > 0, 1, -1)


def train_perceptron(
    x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], max_epochs: int, seed: int
) -> dict[str, Any]:
    """Rosenblatt's rule from zero weights; returns what happened, epoch by epoch."""
    model = Linear(2, 1)
    init.zeros_(model.weight)
    assert model.bias is not None
    init.zeros_(model.bias)
    model.requires_grad_(False)  # the 1957 rule needs no gradients
    rng = np.random.default_rng(seed)
    xt = torch.Tensor(x.astype(np.float32))
    start = float((predict(model, xt) == y).mean())  # all-zero weights: everything is -1
    mistakes, history = 0, []
    epochs_run = 0
    for epoch in range(1, max_epochs + 1):
        epochs_run = epoch
        errors = 0
        for i in rng.permutation(len(x)):
            xi = xt[int(i)]
            if y[i] * model(xi).item() <= 0:  # wrong (or on the line): move it
                model.weight.data[0] += y[i] * x[i]
                model.bias.data[0] += y[i]
                errors += 1
        mistakes += errors
        accuracy = float((predict(model, xt) == y).mean())
        history.append({"epoch": epoch, "mistakes": errors, "accuracy": accuracy})
        if errors == 0:
            break
    final = float((predict(model, xt) == y).mean())
    return {
        "epochs": epochs_run,
        "mistakes": mistakes,
        "accuracy": final,
        "best_accuracy": max(h["accuracy"] for h in history),
        "start_accuracy": start,
        "converged": history[-1]["mistakes"] == 0,
        "weight": [round(float(v), 4) for v in model.weight.data[0]],
        "bias": round(float(model.bias.data[0]), 4),
        "history": history,
        "model": model,
    }


def separable_points(n: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], float]:
    """n points in [-3, 3]^2 labelled by a random line, keeping a margin around it.

    Returns the points, labels in {-1, +1}, and Novikoff's bound (R / gamma)^2
    computed for the augmented points (x, 1) and the true separator.
    """
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    w_true, b_true = np.array([np.cos(angle), np.sin(angle)]), rng.uniform(-0.5, 0.5)
    x = rng.uniform(-3, 3, (4 * n, 2))
    margin = x @ w_true + b_true
    keep = np.abs(margin) > 0.25
    x, margin = x[keep][:n], margin[keep][:n]
    y = np.where(margin > 0, 1, -1)
    radius = np.sqrt((x**2).sum(1) + 1).max()
    gamma = np.abs(margin).min() / np.sqrt(1 + b_true**2)
    return x, y, float((radius / gamma) ** 2)


def truth_table(name: str, x: np.ndarray[Any, Any], model: Linear) -> None:
    out = predict(model, torch.Tensor(x.astype(np.float32)))
    print(
        f"  {name}: "
        + "  ".join(f"{a:.0f},{b:.0f}->{int(o > 0)}" for (a, b), o in zip(x, out, strict=True))
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser(MILESTONE, "Rosenblatt's perceptron on AND, OR, 2-D points and XOR").parse_args(
        argv
    )
    banner("Milestone 1957: Rosenblatt's Perceptron", STORY)
    torch.manual_seed(args.seed)
    n_points = 200 if args.quick else 2000
    gates = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    tasks = {
        "AND": (gates, np.array([-1, -1, -1, 1])),
        "OR": (gates, np.array([-1, 1, 1, 1])),
    }
    x_sep, y_sep, bound = separable_points(n_points, args.seed)
    tasks[f"separable 2-D ({n_points} points)"] = (x_sep, y_sep)
    results: dict[str, Any] = {}
    ok = True
    with timed() as clock:
        for name, (x, y) in tasks.items():
            r = train_perceptron(x, y, max_epochs=1000, seed=args.seed)
            model = r.pop("model")
            curve = [h["mistakes"] for h in r["history"][:12]]
            print(
                f"{name:28s} accuracy {r['start_accuracy']:.0%} -> {r['accuracy']:.0%} after "
                f"{r['epochs']} epochs, {r['mistakes']} mistakes; "
                f"w = {r['weight']}, b = {r['bias']}"
            )
            print(f"  mistakes per epoch: {curve}{' ...' if r['epochs'] > 12 else ''}")
            if x is gates:
                truth_table(name, x, model)
            ok &= r["accuracy"] == 1.0
            results[name] = {k: v for k, v in r.items() if k != "history"} | {
                "mistakes_per_epoch": [h["mistakes"] for h in r["history"]],
                "accuracy_per_epoch": [h["accuracy"] for h in r["history"]],
            }
        sep = results[f"separable 2-D ({n_points} points)"]
        sep["novikoff_bound"] = round(bound, 1)
        print(f"  Novikoff: at most (R/gamma)^2 = {bound:.0f} mistakes; made {sep['mistakes']}")
        ok &= sep["mistakes"] <= bound

        xor = train_perceptron(gates, np.array([-1, 1, 1, -1]), max_epochs=100, seed=args.seed)
        xor.pop("model")
        print(
            f"{'XOR':28s} still {xor['mistakes']} mistakes after {xor['epochs']} epochs, "
            f"best accuracy {xor['best_accuracy']:.0%}: no line separates XOR"
        )
        ok &= not xor["converged"] and xor["best_accuracy"] <= 0.75
        results["XOR"] = {k: v for k, v in xor.items() if k != "history"}

    print(
        f"\n{'PASSED' if ok else 'FAILED'}: AND, OR and the separable set reach 100% training "
        f"accuracy; XOR does not ({clock['seconds']:.2f} s)"
    )
    write_results(
        MILESTONE,
        args.quick,
        {"passed": ok, "seed": args.seed, "seconds": round(clock["seconds"], 3), "tasks": results},
        None if args.results is None else args.results / f"{MILESTONE}.json",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
