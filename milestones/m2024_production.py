"""2024 production: the CIFAR-10 CNN pruned, folded, quantized and fused, every stage measured.

Milestone 5, the last (unlocked after module 20). Milestone 1998's trained
CIFAR-10 CNN goes through tt-capstone's `optimize` pipeline: profile, prune,
fold BatchNorm, int8 quantization, fused inference plan. Targets, against the
unoptimized float32 model in this framework (eval mode, plain autograd-capable
forward, batch 1): at least 10x faster single-image inference and at least 4x
smaller, p99 latency under 100 ms for one image, test accuracy within 1.5
points; the speedup is backed by a Mann-Whitney U test and the accuracy
difference by a paired bootstrap confidence interval (both from
tt-benchmarking). PyTorch's time for the same model is shown beside it when
torch is importable. The MNIST model of milestone 1986 goes through the same
pipeline and is deployed for the draw-a-digit web app (`tinytorch serve`).

Run: python milestones/m2024_production.py [--quick] [--data DIR] [--weights FILE] [--seed N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import banner, data_root, parser, timed, write_results
from tt_capstone import PipelineResult, optimize
from tt_capstone.models import (
    CIFAR_WEIGHTS,
    MNIST_WEIGHTS,
    build_mlp,
    load_cifar_resnet,
    load_mnist_mlp,
    train_classifier,
)
from tt_compression import DistillationLoss, Pruner
from tt_dataloader import CIFAR10, MNIST, Compose, Normalize, RandomCrop, RandomHorizontalFlip
from tt_dataloader.fixtures import write_cifar10
from tt_layers import Module
from tt_optimizers import SGD
from tt_spatial import CifarResNet
from tt_tensor import Tensor, manual_seed

MILESTONE = "2024_production"
TARGET_SPEEDUP = 10.0
TARGET_SHRINK = 4.0
TARGET_P99_S = 0.100
TARGET_ACCURACY_DROP = 0.015
MEAN = (0.4914, 0.4822, 0.4465)  # CIFAR-10 training-set statistics (as milestone 1998)
STD = (0.2470, 0.2435, 0.2616)
SERVE_DIR = Path("runs") / MILESTONE / "mnist_deployed"
TRAIN_LOSSES: list[float] = []  # per epoch, when this script trains the CNN itself

STORY = """
By 2024 the question had moved from "can a network learn this?" to "can we
afford to run it?". Models were trained once and then served billions of
times, on phones and laptops as often as in data centres, so inference cost
became the engineering problem: pruning (LeCun's "Optimal Brain Damage", 1989;
Han et al., 2015), folding BatchNorm into convolutions, 8-bit integer
quantization (Jacob et al., 2018, now routine down to 4 bits for large
language models), fused kernels that touch memory once. Each trick is small;
together they turn a research model into a product. Below, the CIFAR-10 CNN of
milestone 1998 goes through all of them, and every stage is measured: accuracy
on the test set, bytes on disk, single-image latency, with statistics that say
whether a difference is real.
"""


def normalize_cifar(images: np.ndarray) -> np.ndarray:
    mean = np.asarray(MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(STD, dtype=np.float32).reshape(1, 3, 1, 1)
    return ((images - mean) / std).astype(np.float32)


def cifar_arrays(args: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    """(training set, calibration inputs, test inputs, test labels, source)."""
    root = data_root(args.data)
    folder = CIFAR10.locate(root)
    if folder is not None:
        train, test = CIFAR10(root, train=True), CIFAR10(root, train=False)
        source = f"CIFAR-10 from {folder}"
    elif args.quick:
        tmp = Path(tempfile.mkdtemp(prefix="tt-m2024-"))
        write_cifar10(tmp, per_batch=200, test_size=500, seed=args.seed)
        train, test = CIFAR10(tmp, train=True), CIFAR10(tmp, train=False)
        source = "generated images (no CIFAR-10 found)"
    else:
        where = root if root is not None else "the default cache (~/.cache/tinytorch)"
        raise FileNotFoundError(
            f"CIFAR-10 not found under {where}. Pass --data DIR (a folder with "
            "cifar-10-batches-py/), set TINYTORCH_DATA, or `tinytorch data download cifar10`."
        )
    xt, yt = test.as_tensors()
    x_test, y_test = normalize_cifar(xt.data), np.asarray(yt.data)
    rng = np.random.default_rng(args.seed)
    xc, _ = train.get_batch(np.sort(rng.choice(len(train), 512, replace=False)))
    calib = normalize_cifar(xc.data)
    if args.quick:
        x_test, y_test = x_test[:200], y_test[:200]
        source += " (200 test images)"
    return train, calib, x_test, y_test, source


def train_short_cifar(
    train: Any, widths: tuple[int, ...], n: int, epochs: int, seed: int
) -> Module:
    """A CifarResNet trained briefly (when milestone 1998's weights are absent)."""
    manual_seed(seed)
    model = CifarResNet(widths)
    n = min(n, len(train))
    xs, ys = train.get_batch(np.arange(n))
    x, y = normalize_cifar(xs.data), np.asarray(ys.data)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    from tt_losses import cross_entropy

    rng = np.random.default_rng(seed)
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, 64):
            idx = order[start : start + 64]
            xb = x[idx]
            flip = rng.random(idx.size) < 0.5
            xb[flip] = xb[flip, :, :, ::-1]
            loss = cross_entropy(model(Tensor(np.ascontiguousarray(xb))), Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item()) * idx.size
        print(f"  epoch {epoch + 1}/{epochs}: training loss {total / n:.4f}", flush=True)
        TRAIN_LOSSES.append(total / n)
    return model.eval()


def distill_finetune(
    train: Any, teacher: Module, epochs: int, seed: int, limit: int | None
) -> Callable[[Module, Pruner | None], Module]:
    """A fine-tuning hook for `optimize`: the pruned student learns from the unpruned teacher."""

    def finetune(student: Module, pruner: Pruner | None) -> Module:
        augment = Compose(  # seeded: the same fine-tuning on every run
            [
                RandomCrop(32, padding=4, generator=seed),
                RandomHorizontalFlip(generator=seed + 1),
                Normalize(MEAN, STD),
            ]
        )
        n = len(train) if limit is None else min(limit, len(train))
        peak_lr = 0.02
        opt = SGD(student.parameters(), lr=peak_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
        total_steps = epochs * ((n + 127) // 128)
        step = 0
        if pruner is not None:
            pruner.attach(opt)
        loss_fn = DistillationLoss(temperature=4.0, alpha=0.7)
        rng = np.random.default_rng(seed)
        teacher.eval()
        from tt_autograd import no_grad

        for epoch in range(epochs):
            student.train()
            order = rng.permutation(len(train))[:n]
            total = 0.0
            for start in range(0, n, 128):
                idx = order[start : start + 128]
                xs, ys = train.get_batch(np.sort(idx))
                xb = augment(xs)
                with no_grad():
                    t_logits = teacher(xb)
                loss = loss_fn(student(xb), t_logits, ys)
                for group in opt.param_groups:  # linear decay to zero over the fine-tuning
                    group["lr"] = peak_lr * (1.0 - step / total_steps)
                step += 1
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.item()) * idx.size
            print(
                f"  fine-tune epoch {epoch + 1}/{epochs}: distillation loss {total / n:.4f}",
                flush=True,
            )
        if pruner is not None:
            pruner.detach()
        return student.eval()

    return finetune


def mnist_pipeline(args: Any, out: Path) -> dict[str, Any] | None:
    """Milestone 1986's MLP through the same pipeline; deployed for the web app."""
    root = data_root(args.data)
    if MNIST.locate(root) is None:
        print(
            "MNIST not found: the MNIST model is not optimized in this run (the web app "
            "will quantize one itself)"
        )
        return None
    x_train, y_train = (t.data for t in MNIST(root, train=True).as_tensors())
    x_test, y_test = (t.data for t in MNIST(root, train=False).as_tensors())
    if args.quick:
        x_test, y_test = x_test[:500], y_test[:500]
    weights = Path(MNIST_WEIGHTS)
    if weights.is_file():
        model: Module = load_mnist_mlp(weights)
        origin = f"milestone 1986's weights ({weights})"
    else:
        n = 1000 if args.quick else len(x_train)
        print(f"no {weights}: training a quick 784-256-128-10 MLP on {n} MNIST digits")
        model = train_classifier(
            build_mlp((256, 128)),
            x_train[:n],
            np.asarray(y_train[:n]),
            epochs=1 if args.quick else 2,
            log=print,
        )
        origin = f"a quick MLP trained here on {n} digits (no milestone 1986 weights)"
    result = optimize(
        model,
        x_train[:512],
        (x_test, np.asarray(y_test)),
        name="MNIST MLP",
        channel_prune=0.0,
        sparsity=0.5,
        sparsity_scope="global",
        repeats=20 if args.quick else 200,
        calib_samples=256 if args.quick else 512,
        warmup=3,
        out_dir=out / "mnist",
        compare_torch=True,
        profile=False,
        metadata={
            "description": f"MNIST MLP ({origin}), int8 weights, fused inference plan",
            "dataset": "MNIST",
            "input": "1x28x28 in [0, 1]",
        },
        log=None,
    )
    print("\nMNIST model:\n" + result.table())
    assert result.deployed is not None
    meta = {"test_accuracy": result.final.accuracy, "origin": origin}
    if args.quick:  # a quick model is not what the web app should serve
        print(f"quick run: the web app's model in {SERVE_DIR} is left as it was")
        return {"origin": origin, "report": result.to_dict(), "deployed": None}
    target = SERVE_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(result.deployed.directory, target)
    manifest = target / "manifest.json"
    import json

    data = json.loads(manifest.read_text())
    data["metadata"].update(meta)
    manifest.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"deployed MNIST model for the web app: {target}")
    return {
        "origin": origin,
        "report": result.to_dict() | {"profile": None},
        "deployed": str(target),
    }


def summarize(result: PipelineResult) -> dict[str, Any]:
    base, final = result.baseline, result.final
    assert final.vs_baseline is not None
    comp = final.vs_baseline
    drop_ci = final.accuracy_delta_ci
    return {
        "baseline_accuracy": base.accuracy,
        "deployed_accuracy": final.accuracy,
        "accuracy_delta": final.accuracy_delta,
        "accuracy_delta_ci95": list(drop_ci),
        "accuracy_p_value": final.accuracy_p_value,
        "baseline_bytes": base.size_bytes,
        "deployed_bytes": final.size_bytes,
        "size_ratio": final.size_ratio,
        "baseline_p50_s": base.p50,
        "baseline_p99_s": base.p99,
        "deployed_p50_s": final.p50,
        "deployed_p99_s": final.p99,
        "speedup": comp.speedup,
        "speedup_ci95": list(comp.speedup_ci),
        "speedup_p_value": comp.p_value,
        "baseline_p50_cold_s": None if base.latency_cold is None else base.latency_cold.median,
        "deployed_p50_cold_s": None if final.latency_cold is None else final.latency_cold.median,
        "speedup_cold": final.speedup_cold,
        "pytorch_p50_s": None if result.torch is None else result.torch.median,
        "pytorch_p99_s": None if result.torch is None else result.torch.latency.p99,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(MILESTONE, "The CIFAR-10 CNN optimized end to end, every stage measured")
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        help=f"milestone 1998's weights (default: {CIFAR_WEIGHTS})",
    )
    p.add_argument(
        "--channel-prune",
        type=float,
        default=None,
        help="fraction of channels removed per prunable layer (default 0.55, quick 0.25)",
    )
    p.add_argument(
        "--prune-residuals",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also prune the channels residual additions tie together (default: yes; "
        "--no-prune-residuals keeps their width)",
    )
    p.add_argument(
        "--sparsity",
        type=float,
        default=0.0,
        help="fraction of the remaining weights zeroed by magnitude: smaller files, no faster "
        "in dense NumPy, and fewer points (default 0)",
    )
    p.add_argument("--sparsity-scope", choices=["layer", "global"], default="global")
    p.add_argument(
        "--finetune-epochs",
        type=float,
        default=None,
        help="distillation epochs after pruning (default 12, quick 0)",
    )
    p.add_argument("--repeats", type=int, default=None, help="timed rounds (default 300, quick 20)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads while timing (default 1)")
    p.add_argument("--skip-mnist", action="store_true", help="do not optimize the MNIST model")
    args = p.parse_args(argv)
    quick = bool(args.quick)
    channel_prune = (
        args.channel_prune if args.channel_prune is not None else (0.25 if quick else 0.55)
    )
    ft_epochs = args.finetune_epochs if args.finetune_epochs is not None else (0 if quick else 12)
    repeats = args.repeats or (20 if quick else 300)
    banner("Milestone 2024: a CNN ready for production, every optimization measured", STORY)

    try:
        train, calib, x_test, y_test, source = cifar_arrays(args)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"data: {source}: {x_test.shape[0]} test images, {calib.shape[0]} for calibration")

    weights = args.weights if args.weights is not None else Path(CIFAR_WEIGHTS)
    with timed() as t_model:
        if weights.is_file():
            model: Module = load_cifar_resnet(weights)
            origin = f"milestone 1998's trained weights ({weights})"
        elif quick:
            print(
                f"NOTE: no trained weights at {weights}: --quick trains a TINY CifarResNet "
                "(8, 16, 16, 32) on 384 images for 2 epochs instead. Its numbers show the "
                "pipeline working, not the milestone targets."
            )
            model = train_short_cifar(train, (8, 16, 16, 32), 384, 2, args.seed)
            origin = "a tiny CifarResNet trained here on 384 images (no milestone 1998 weights)"
        else:
            print(
                f"NOTE: no trained weights at {weights}: training a SHORT model here "
                "(CifarResNet (16, 32, 64, 128), 2 epochs on 20,000 images). Run milestone "
                "1998 first for the real model."
            )
            model = train_short_cifar(train, (16, 32, 64, 128), 20000, 2, args.seed)
            origin = "a short CifarResNet trained here (no milestone 1998 weights)"
    print(f"model: {origin} ({t_model['seconds']:.1f} s)")

    out = Path(args.out) if args.out is not None else Path.cwd() / "runs" / MILESTONE
    if quick and args.out is None:
        out = out / "quick"
    finetune = None
    if channel_prune > 0 and ft_epochs > 0:
        limit = None if ft_epochs >= 1 else int(ft_epochs * len(train))
        finetune = distill_finetune(
            train, load_like(model), max(1, int(ft_epochs)), args.seed, limit
        )
    with timed() as t_pipe:
        result = optimize(
            model,
            calib,
            (x_test, y_test),
            name="CIFAR-10 CNN",
            channel_prune=channel_prune,
            prune_residuals=args.prune_residuals,
            sparsity=args.sparsity,
            sparsity_scope=args.sparsity_scope,
            finetune=finetune,
            threads=args.threads,
            repeats=repeats,
            warmup=10 if not quick else 3,
            int8_eval_samples=100 if quick else 2000,
            calib_samples=128 if quick else 512,
            out_dir=out / "cifar10",
            metadata={"description": f"CIFAR-10 CNN ({origin})", "mean": MEAN, "std": STD},
        )
    print()
    print(result.table())
    print(f"\npipeline: {t_pipe['seconds']:.1f} s; {result.torch_note or 'no PyTorch'}")

    results_base = (
        args.results.parent
        if args.results is not None
        else (Path(__file__).resolve().parent / "results" / ("quick" if quick else ""))
    )
    saved = result.save(out / "cifar10")
    results_base.mkdir(parents=True, exist_ok=True)
    report_md = results_base / f"{MILESTONE}.md"
    png = saved.get("png")
    if png is not None:
        shutil.copyfile(png, results_base / f"{MILESTONE}.png")
    report_md.write_text(result.to_markdown(None if png is None else f"{MILESTONE}.png"))
    print(f"report: {report_md} (full JSON with every timing: {saved['json']})")

    summary = summarize(result)
    speed_ok = summary["speedup"] >= TARGET_SPEEDUP and summary["speedup_p_value"] < 0.05
    size_ok = summary["size_ratio"] >= TARGET_SHRINK
    p99_ok = summary["deployed_p99_s"] < TARGET_P99_S
    acc_ok = summary["accuracy_delta_ci95"][0] > -TARGET_ACCURACY_DROP
    targets = {
        "speedup >= 10x (Mann-Whitney p < 0.05)": speed_ok,
        "size >= 4x smaller": size_ok,
        "p99 < 100 ms": p99_ok,
        "accuracy within 1.5 points (95% CI of the paired difference above -1.5)": acc_ok,
    }
    print("\ntargets:")
    print(
        f"  {summary['speedup']:.2f}x faster, 95% CI [{summary['speedup_ci95'][0]:.2f}, "
        f"{summary['speedup_ci95'][1]:.2f}], p = {summary['speedup_p_value']:.2g} (steady "
        f"state: p50 {1e3 * summary['baseline_p50_s']:.3f} -> "
        f"{1e3 * summary['deployed_p50_s']:.3f} ms)"
    )
    if summary["speedup_cold"] is not None:
        print(
            f"  {summary['speedup_cold']:.2f}x faster when every call starts with caches the "
            f"other stages filled (p50 {1e3 * summary['baseline_p50_cold_s']:.3f} -> "
            f"{1e3 * summary['deployed_p50_cold_s']:.3f} ms; not the target's measure)"
        )
    print(
        f"  {summary['size_ratio']:.2f}x smaller ({summary['baseline_bytes']:,} -> "
        f"{summary['deployed_bytes']:,} bytes)"
    )
    print(
        f"  p99 {1e3 * summary['deployed_p99_s']:.2f} ms (baseline p99 "
        f"{1e3 * summary['baseline_p99_s']:.2f} ms)"
    )
    lo, hi = summary["accuracy_delta_ci95"]
    print(
        f"  accuracy {100 * summary['baseline_accuracy']:.2f}% -> "
        f"{100 * summary['deployed_accuracy']:.2f}% ({100 * summary['accuracy_delta']:+.2f} pt, "
        f"95% CI [{100 * lo:+.2f}, {100 * hi:+.2f}])"
    )
    if summary["pytorch_p50_s"] is not None:
        print(
            f"  PyTorch, same float32 model: p50 {1e3 * summary['pytorch_p50_s']:.2f} ms, "
            f"p99 {1e3 * summary['pytorch_p99_s']:.2f} ms"
        )
    for name, ok in targets.items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")

    mnist = None if args.skip_mnist else mnist_pipeline(args, out)

    results: dict[str, Any] = {
        "data": source,
        "model": origin,
        "seed": args.seed,
        "settings": result.settings,
        "summary": summary,
        "targets": targets,
        "stages": [
            {k: v for k, v in s.to_dict().items() if k not in ("latency", "vs_baseline")}
            | {
                "speedup": s.speedup,
                "speedup_p_value": None if s.vs_baseline is None else s.vs_baseline.p_value,
            }
            for s in result.stages
        ],
        "torch_note": result.torch_note,
        "report_markdown": str(report_md),
        "report_json": str(saved["json"]),
        "deployed": None if result.deployed is None else str(result.deployed.directory),
        "mnist": None
        if mnist is None
        else {k: v for k, v in mnist.items() if k != "report"}
        | {
            "stages": [
                {
                    "name": s["name"],
                    "accuracy": s["accuracy"],
                    "size_bytes": s["size_bytes"],
                    "latency_p50_s": s["latency_p50_s"],
                    "latency_p99_s": s["latency_p99_s"],
                }
                for s in mnist["report"]["stages"]
            ]
        },
        "pipeline_seconds": t_pipe["seconds"],
    }
    if quick:
        # the model learned (chance is 10%), int8 + deployment kept what pruning left, and
        # the files shrank; the accuracy pruning costs without fine-tuning is not checked here
        falling = len(TRAIN_LOSSES) < 2 or TRAIN_LOSSES[-1] < TRAIN_LOSSES[0]
        learned = falling and summary["baseline_accuracy"] > 0.12
        folded = result.stage("folded").accuracy
        kept = summary["deployed_accuracy"] > folded - 0.05 and summary["size_ratio"] > 3.0
        ok = learned and kept
        print(
            f"\nquick run: {'pipeline verified' if ok else 'PIPELINE PROBLEM'} "
            "(quick mode checks the pipeline; the targets need the trained model and a full run)"
        )
    else:
        ok = all(targets.values())
    write_results(MILESTONE, quick, results, args.results)
    return 0 if ok else 1


def load_like(model: Module) -> Module:
    """An independent copy of the trained model (the teacher stays unpruned)."""
    import copy

    return copy.deepcopy(model).eval()


if __name__ == "__main__":
    sys.exit(main())
