"""1998 CNN on MNIST: LeNet's idea, convolution + pooling, reads digits to 99%.

Milestone 4 companion (unlocked after module 09). A LeNet-style network
(`tt_spatial.SimpleCNN`: two 5x5 conv-ReLU-maxpool stages and a linear
classifier) trained with Adam and a one-cycle schedule on the full 60,000
MNIST digits: at least 99.0% test accuracy on the 10,000 test digits, where
the 1986 MLP stops near 98%. Weights are saved as safetensors, reloaded into a
fresh model and re-evaluated.

Run: python milestones/m1998_cnn_mnist.py [--quick] [--data DIR] [--epochs N] [--seed N]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Module 01 and autograd through the composed package; modules 02-09 directly
# until the meta-package re-exports them (tinytorch.nn, tinytorch.optim, ...).
import tinytorch as torch
from _common import banner, mnist_splits, parser, timed, weights_dir, write_results
from tt_dataloader import DataLoader, Dataset, Normalize
from tt_layers import Module
from tt_losses import CrossEntropyLoss
from tt_optimizers import Adam, OneCycleLR
from tt_spatial import SimpleCNN
from tt_training import Trainer

MILESTONE = "1998_cnn_mnist"
TARGET_ACCURACY = 0.99
WIDTH = 32
EPOCHS = 2
MEAN, STD = 0.1307, 0.3081  # of the MNIST training digits

STORY = """
LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) read the cheques of American
banks: small filters slid over the image (convolution) find strokes wherever
they are, pooling makes the answer tolerant to small shifts, and the whole
stack is trained end to end by backpropagation. Below: a LeNet-style network
built from tt-spatial's Conv2d and MaxPool2d, on the 60,000 MNIST digits.
"""


def build_model(width: int = WIDTH) -> SimpleCNN:
    return SimpleCNN(in_channels=1, num_classes=10, width=width, image_size=28)


def accuracy(model: Module, data: Dataset[Any], batch_size: int = 1000) -> float:
    model.eval()
    correct, n = 0, 0
    with torch.no_grad():
        for xb, yb in DataLoader(data, batch_size=batch_size, transform=Normalize(MEAN, STD)):
            correct += int((model(xb).data.argmax(axis=1) == yb.data).sum())
            n += len(yb)
    return correct / n


def load_data(args: Any) -> tuple[Dataset[Any], Dataset[Any], str]:
    return mnist_splits(args, quick=(640, 500), generated=(1000, 500), prefix="tt-m1998-mnist-")


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(MILESTONE, "A LeNet-style CNN trained on MNIST with tt-spatial")
    p.add_argument("--epochs", type=int, default=None, help=f"default: {EPOCHS} (2 with --quick)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak (one-cycle) learning rate")
    p.add_argument("--width", type=int, default=WIDTH, help="channels of the first conv")
    args = p.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (2 if args.quick else EPOCHS)
    batch_size = 32 if args.quick else args.batch_size
    banner("Milestone 1998 (MNIST): a LeNet-style CNN reads handwritten digits", STORY)
    try:
        train_set, test_set, source = load_data(args)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"data: {source}: {len(train_set)} training and {len(test_set)} test images")

    torch.manual_seed(args.seed)
    model = build_model(args.width)
    n_params = sum(p.numel() for p in model.parameters())
    loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        seed=args.seed,
        transform=Normalize(MEAN, STD),
    )
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, epochs=epochs, steps_per_epoch=len(loader))
    loss_fn = CrossEntropyLoss()
    print(
        f"model: SimpleCNN(width={args.width}), {n_params:,} parameters; Adam + "
        f"OneCycleLR(max_lr={args.lr}); batch {batch_size}, {epochs} epochs of "
        f"{len(loader)} steps\n"
    )

    history: list[dict[str, float]] = []
    print(" epoch   train loss  train acc  test acc   train s")
    train_seconds = 0.0
    # the epoch loop of tt-training: forward, loss, backward, step, per-batch scheduler
    trainer = Trainer(
        model, loss_fn, optimizer, scheduler=scheduler, scheduler_step="batch", progress=False
    )
    with timed() as wall:
        for epoch in range(1, epochs + 1):
            with timed() as t:
                means = trainer.train_epoch(loader)
            train_seconds += t["seconds"]
            test_acc = accuracy(model, test_set)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": means["loss"],
                    "train_accuracy": means["accuracy"],
                    "test_accuracy": test_acc,
                    "seconds": t["seconds"],
                }
            )
            print(
                f" {epoch:>5}   {means['loss']:10.4f}  {means['accuracy']:9.2%}  {test_acc:8.2%}  "
                f"{t['seconds']:8.1f}",
                flush=True,
            )

    final_acc = history[-1]["test_accuracy"]
    out = weights_dir(MILESTONE, args.out, args.quick)
    weights = out / "cnn_mnist.safetensors"
    torch.save(model.state_dict(), weights)
    fresh = build_model(args.width)
    fresh.load_state_dict(torch.load(weights))
    reloaded_acc = accuracy(fresh, test_set)
    print(
        f"\nfinal test accuracy {final_acc:.2%} after {epochs} epochs; training took "
        f"{train_seconds:.1f} s ({wall['seconds']:.1f} s with the evaluations)"
    )
    print(f"weights saved to {weights}; reloaded: test accuracy {reloaded_acc:.2%}")

    same = reloaded_acc == final_acc
    learned = history[-1]["train_loss"] < history[0]["train_loss"] and final_acc > 0.5
    results: dict[str, Any] = {
        "data": source,
        "seed": args.seed,
        "architecture": f"SimpleCNN(width={args.width})",
        "parameters": n_params,
        "optimizer": f"Adam + OneCycleLR(max_lr={args.lr})",
        "batch_size": batch_size,
        "epochs": epochs,
        "history": history,
        "test_accuracy": final_acc,
        "reloaded_test_accuracy": reloaded_acc,
        "train_seconds": train_seconds,
        "wall_seconds": wall["seconds"],
        "weights": str(weights),
    }
    if args.quick:
        ok = learned and same
        print(f"quick run: {'learning shown' if learned else 'NO LEARNING'}")
    else:
        acc_ok = final_acc >= TARGET_ACCURACY
        results.update(target_accuracy=TARGET_ACCURACY, accuracy_target_met=acc_ok)
        print(f"target: accuracy >= {TARGET_ACCURACY:.1%}: {'met' if acc_ok else 'MISSED'}")
        ok = acc_ok and same
    write_results(MILESTONE, args.quick, results, args.results)
    if not same:
        print("error: the reloaded model does not reproduce the trained accuracy", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
