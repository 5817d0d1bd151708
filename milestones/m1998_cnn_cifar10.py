"""1998 CNN on CIFAR-10: a convolutional network learns to see objects, on a 2-core CPU.

Milestone 4, the North Star (unlocked after module 09). A narrow ResNet-9
(Conv2d + BatchNorm2d + ReLU blocks, max pooling, two residual blocks; see
`tt_spatial.CifarResNet`) trained on the full 50,000 CIFAR-10 training images
with random-crop (pad 4) and horizontal-flip augmentation, SGD with Nesterov
momentum and weight decay, a one-cycle learning-rate schedule and label
smoothing; evaluated on the 10,000 test images. Target: at least 75% test
accuracy within 30 minutes of training on a 2-core CPU (stretch: 80% in 20).
Per-epoch times, losses and accuracies, a per-class accuracy table, the
weights as safetensors (reloaded and re-evaluated) and a training-curve plot.

Run: python milestones/m1998_cnn_cifar10.py [--quick] [--data DIR] [--epochs N] [--seed N]
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Module 01 and autograd through the composed package; modules 02-09 directly
# until the meta-package re-exports them (tinytorch.nn, tinytorch.optim, ...).
import tinytorch as torch
from _common import banner, data_root, parser, timed, weights_dir, write_results
from tt_dataloader import (
    CIFAR10,
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
)
from tt_dataloader.fixtures import write_cifar10
from tt_layers import Module
from tt_losses import CrossEntropyLoss
from tt_optimizers import SGD, OneCycleLR
from tt_spatial import CifarResNet
from tt_training import Trainer

MILESTONE = "1998_cnn_cifar10"
TARGET_ACCURACY = 0.75
TARGET_SECONDS = 30 * 60.0
STRETCH_ACCURACY, STRETCH_SECONDS = 0.80, 20 * 60.0
WIDTHS = (16, 32, 64, 128)  # channels of prep, layer1, layer2, layer3 (ResNet-9 has 64..512)
QUICK_WIDTHS = (8, 16, 32, 64)  # --quick proves the pipeline learns; half width, 3x faster
EPOCHS = 5
BATCH_SIZE = 128
MAX_LR = 0.2
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.1
# per-channel statistics of the CIFAR-10 training images
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

STORY = """
In 1998 Yann LeCun, Leon Bottou, Yoshua Bengio and Patrick Haffner published
"Gradient-based learning applied to document recognition": LeNet-5 shared one
small filter across every position of the image (a convolution), pooled the
responses, and learned the filters by backpropagation. Fourteen years later a
much deeper descendant, AlexNet, won ImageNet on two GPUs, and BatchNorm (2015)
and residual connections (ResNet, 2015) made such networks easy to train.
Below: the same ideas at laptop scale. CIFAR-10's 32x32 photos of planes, cars,
birds, cats, deer, dogs, frogs, horses, ships and trucks, a small ResNet built
from tt-spatial's Conv2d/BatchNorm2d/MaxPool2d (im2col + BLAS matmuls, no
Python loop over pixels), trained on two CPU cores.
"""


def build_model(widths: Sequence[int] = WIDTHS) -> CifarResNet:
    return CifarResNet(tuple(widths))


def predict(model: Module, data: Dataset[Any], batch_size: int = 500) -> tuple[Any, Any]:
    """(predicted labels, true labels) over `data`, in eval mode without recording a graph."""
    model.eval()
    norm = Normalize(MEAN, STD)
    preds, labels = [], []
    with torch.no_grad():
        for xb, yb in DataLoader(data, batch_size=batch_size, transform=norm):
            preds.append(model(xb).data.argmax(axis=1))
            labels.append(yb.data)
    return np.concatenate(preds), np.concatenate(labels)


def accuracy(model: Module, data: Dataset[Any]) -> float:
    pred, true = predict(model, data)
    return float((pred == true).mean())


def load_data(args: Any) -> tuple[Dataset[Any], Dataset[Any], list[str], str]:
    """Real CIFAR-10 when found (all of it, or 512/300 images with --quick), else, for
    --quick only, generated striped colour images written in CIFAR-10's own format."""
    root = data_root(args.data)
    folder = CIFAR10.locate(root)
    if folder is not None:
        train, test = CIFAR10(root, train=True), CIFAR10(root, train=False)
        source = f"CIFAR-10 from {folder}"
        if args.quick:
            return (
                Subset(train, range(512)),
                Subset(test, range(300)),
                train.classes,
                source + " (512/300 images)",
            )
        return train, test, train.classes, source
    if not args.quick:
        where = root if root is not None else "the default cache (~/.cache/tinytorch)"
        raise FileNotFoundError(
            f"CIFAR-10 not found under {where}. Pass --data DIR (a folder with "
            "cifar-10-batches-py/), set TINYTORCH_DATA, or `tinytorch data download cifar10`."
        )
    tmp = Path(tempfile.mkdtemp(prefix="tt-m1998-"))
    write_cifar10(tmp, per_batch=103, test_size=300, seed=args.seed)
    train = CIFAR10(tmp, train=True)
    return train, CIFAR10(tmp, train=False), train.classes, "generated images (no CIFAR-10)"


def per_class_table(pred: Any, true: Any, classes: list[str]) -> list[dict[str, Any]]:
    rows = []
    for c, name in enumerate(classes):
        mask = true == c
        n = int(mask.sum())
        rows.append(
            {
                "class": name,
                "images": n,
                "accuracy": float((pred[mask] == c).mean()) if n else float("nan"),
            }
        )
    return rows


def plot_curves(history: list[dict[str, float]], path: Path) -> Path | None:
    """Loss and accuracy per epoch, when matplotlib is installed (it is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy (label smoothing 0.1)")
    ax1.legend()
    ax2.plot(epochs, [h["train_accuracy"] for h in history], "o-", label="train (augmented)")
    ax2.plot(epochs, [h["test_accuracy"] for h in history], "s-", label="test")
    ax2.axhline(TARGET_ACCURACY, color="gray", linestyle="--", label="target 75%")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    fig.suptitle("TinyTorch CIFAR-10 CNN (NumPy only, 2 CPU cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(MILESTONE, "A small ResNet trained on CIFAR-10 with tt-spatial")
    p.add_argument("--epochs", type=int, default=None, help=f"default: {EPOCHS} (6 with --quick)")
    p.add_argument(
        "--batch-size", type=int, default=None, help=f"default: {BATCH_SIZE} (64 with --quick)"
    )
    p.add_argument("--lr", type=float, default=MAX_LR, help="peak (one-cycle) learning rate")
    p.add_argument(
        "--widths",
        type=int,
        nargs=4,
        default=None,
        help=f"channels of the four stages (default: {WIDTHS}; {QUICK_WIDTHS} with --quick)",
    )
    args = p.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (6 if args.quick else EPOCHS)
    batch_size = args.batch_size or (64 if args.quick else BATCH_SIZE)
    if args.widths is None:
        args.widths = list(QUICK_WIDTHS if args.quick else WIDTHS)
    banner("Milestone 1998: a convolutional network classifies CIFAR-10 photos", STORY)

    try:
        train_set, test_set, classes, source = load_data(args)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"data: {source}: {len(train_set)} training and {len(test_set)} test images")

    torch.manual_seed(args.seed)
    model = build_model(args.widths)
    n_params = sum(p.numel() for p in model.parameters())
    augment = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize(MEAN, STD)])
    loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        seed=args.seed,
        transform=augment,
    )
    # weight decay on conv/linear weights only, not on BatchNorm's scale and shift or biases
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = SGD(
        [
            {"params": decay, "weight_decay": WEIGHT_DECAY},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
        momentum=0.9,
        nesterov=True,
    )
    scheduler = OneCycleLR(
        optimizer,
        max_lr=args.lr,
        total_steps=epochs * len(loader),
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=10.0,
        final_div_factor=100.0,
    )
    loss_fn = CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    print(
        f"model: CifarResNet(widths={tuple(args.widths)}), {n_params:,} parameters; SGD "
        f"(Nesterov, momentum 0.9, weight decay {WEIGHT_DECAY}) + OneCycleLR(max_lr={args.lr}), "
        f"label smoothing {LABEL_SMOOTHING}; batch {batch_size}, {epochs} epochs of "
        f"{len(loader)} steps; augmentation: random crop (pad 4) + horizontal flip\n"
    )

    start_acc = accuracy(model, test_set)
    history: list[dict[str, float]] = []
    print(" epoch   lr        train loss  train acc  test acc   train s  eval s")
    print(f" {0:>5}   {'':8}  {'':10}  {'':9}  {start_acc:8.2%}")
    train_seconds = 0.0
    # the epoch loop of tt-training: forward, loss, backward, step, per-batch scheduler
    trainer = Trainer(
        model, loss_fn, optimizer, scheduler=scheduler, scheduler_step="batch", progress=False
    )
    with timed() as wall:
        for epoch in range(1, epochs + 1):
            lr = max(g["lr"] for g in optimizer.param_groups)
            with timed() as t:
                means = trainer.train_epoch(loader)
            train_seconds += t["seconds"]
            with timed() as te:
                test_acc = accuracy(model, test_set)
            row = {
                "epoch": epoch,
                "lr": float(lr),
                "train_loss": means["loss"],
                "train_accuracy": means["accuracy"],
                "test_accuracy": test_acc,
                "seconds": t["seconds"],
                "eval_seconds": te["seconds"],
            }
            history.append(row)
            print(
                f" {epoch:>5}   {lr:<8.2e}  {row['train_loss']:10.4f}  "
                f"{row['train_accuracy']:9.2%}  {test_acc:8.2%}  {t['seconds']:8.1f}  "
                f"{te['seconds']:6.1f}",
                flush=True,
            )

    pred, true = predict(model, test_set)
    final_acc = float((pred == true).mean())
    table = per_class_table(pred, true, classes)
    print("\nper-class test accuracy:")
    for row_c in table:
        bar = "#" * round(20 * row_c["accuracy"]) if row_c["images"] else ""
        print(
            f"  {row_c['class']:<11} {row_c['accuracy']:7.2%}  ({row_c['images']:>5} images) {bar}"
        )

    out = weights_dir(MILESTONE, args.out, args.quick)
    weights = out / "cnn_cifar10.safetensors"
    torch.save(model.state_dict(), weights)
    fresh = build_model(args.widths)  # new random weights, then the saved ones
    fresh.load_state_dict(torch.load(weights))
    reloaded_acc = accuracy(fresh, test_set)
    wall_seconds = wall["seconds"]
    print(
        f"\nfinal test accuracy {final_acc:.2%} after {epochs} epochs; training took "
        f"{train_seconds:.1f} s ({train_seconds / 60:.1f} min; {wall_seconds:.1f} s with the "
        f"per-epoch evaluations)"
    )
    print(f"weights saved to {weights} ({weights.stat().st_size / 1e6:.2f} MB, safetensors)")
    print(
        f"reloaded into a fresh model: test accuracy {reloaded_acc:.2%} (trained: {final_acc:.2%})"
    )

    results_base = (
        args.results.parent
        if args.results is not None
        else (Path(__file__).resolve().parent / "results" / ("quick" if args.quick else ""))
    )
    plot = plot_curves(history, results_base / f"{MILESTONE}.png")
    if plot is not None:
        print(f"training curves plotted to {plot}")

    same = reloaded_acc == final_acc
    learned = history[-1]["train_loss"] < history[0]["train_loss"] and final_acc > 0.15
    results: dict[str, Any] = {
        "data": source,
        "seed": args.seed,
        "architecture": f"CifarResNet(widths={tuple(args.widths)})",
        "parameters": n_params,
        "optimizer": f"SGD(nesterov, momentum=0.9, wd={WEIGHT_DECAY}) + "
        f"OneCycleLR(max_lr={args.lr}), label_smoothing={LABEL_SMOOTHING}",
        "augmentation": "RandomCrop(32, padding=4) + RandomHorizontalFlip()",
        "batch_size": batch_size,
        "epochs": epochs,
        "history": history,
        "initial_test_accuracy": start_acc,
        "test_accuracy": final_acc,
        "per_class_accuracy": table,
        "reloaded_test_accuracy": reloaded_acc,
        "train_seconds": train_seconds,
        "wall_seconds": wall_seconds,
        "weights": str(weights),
        "plot": None if plot is None else str(plot),
    }
    if args.quick:
        ok = learned and same
        print(f"quick run: {'learning shown' if learned else 'NO LEARNING'} (chance is 10%)")
    else:
        acc_ok = final_acc >= TARGET_ACCURACY
        time_ok = train_seconds <= TARGET_SECONDS
        stretch = final_acc >= STRETCH_ACCURACY and train_seconds <= STRETCH_SECONDS
        results.update(
            target_accuracy=TARGET_ACCURACY,
            target_seconds=TARGET_SECONDS,
            accuracy_target_met=acc_ok,
            time_target_met=time_ok,
            stretch_target_met=stretch,
        )
        print(
            f"targets: accuracy >= {TARGET_ACCURACY:.0%}: {'met' if acc_ok else 'MISSED'}; "
            f"training <= {TARGET_SECONDS / 60:.0f} min: {'met' if time_ok else 'MISSED'}"
            + ("" if time_ok else " (a shared machine makes timings pessimistic)")
            + f"; stretch (>= 80% in <= 20 min): {'met' if stretch else 'not met'}"
        )
        ok = acc_ok and same
    write_results(MILESTONE, args.quick, results, args.results)
    if not same:
        print("error: the reloaded model does not reproduce the trained accuracy", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
