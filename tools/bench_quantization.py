"""Benchmark: INT8 quantization of the milestone models, accuracy, size and latency side by side.

Models
- MNIST MLP of milestone 1986 (784-512-256-10, ReLU): its saved weights
  (runs/1986_mlp_mnist/mlp_mnist.safetensors, or --mlp-weights) when present;
  otherwise trained here with the milestone's recipe for --mlp-epochs epochs
  (about a minute per epoch on 2 cores) and cached under runs/bench_quantization/.
- CIFAR-10 CNN of milestone 1998 (CifarResNet(16, 32, 64, 128)): its saved
  weights (runs/1998_cnn_cifar10/cnn_cifar10.safetensors, or --cnn-weights)
  when present; otherwise trained here with the milestone's recipe for
  --cnn-epochs epochs (default 2: a short run, ~60% accuracy, several minutes).

For each: float32 accuracy on the full test set, then post-training int8
variants (calibrated on 1,024 training images): per-channel min/max (default),
per-channel percentile, per-tensor min/max; for the MLP also one epoch of
quantization-aware training. Sizes are safetensors files written here;
latency is tt-profiling's no_grad forward latency (best of alternating rounds) at batch
256 and batch 1. The float model measured in the same run is the baseline;
PyTorch's fp32 and dynamic-int8 MLP are shown as a reference when importable
(torch.set_num_threads matched).

Also measured: the integer matmul that every quantized layer runs, NumPy's
int32 loop against float32/float64 BLAS on the same int-valued arrays, which
is the justification for `integer_matmul`'s exact float path.

Run: uv run python tools/bench_quantization.py [--data DIR] [--skip-cnn] [--no-write]
The latest output goes to tools/results/quantization.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "tools" / "results" / "quantization.md"
CACHE = REPO / "runs" / "bench_quantization"
sys.path.insert(0, str(REPO / "milestones"))

import numpy as np  # noqa: E402

LINES: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    LINES.append(text)


# ----------------------------------------------------------------------------- helpers


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy "
        f"{np.__version__}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def find_data(arg: Path | None) -> Path:
    from tt_dataloader import CIFAR10, MNIST

    candidates = [arg] if arg is not None else []
    if os.environ.get("TINYTORCH_DATA"):
        candidates.append(Path(os.environ["TINYTORCH_DATA"]))
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c is not None and MNIST.locate(c) is not None and CIFAR10.locate(c) is not None:
            return c
    raise SystemExit("MNIST/CIFAR-10 not found: pass --data DIR (the shared data folder)")


def accuracy(model: Any, x: np.ndarray, y: np.ndarray, batch: int = 500) -> float:
    from tt_autograd import no_grad
    from tt_tensor import Tensor

    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(x), batch):
            correct += int(
                (model(Tensor(x[i : i + batch])).data.argmax(1) == y[i : i + batch]).sum()
            )
    return correct / len(x)


def file_bytes(save: Callable[[Path], None]) -> int:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        save(path)
        return path.stat().st_size


def _save_float(model: Any, path: Path) -> None:
    from tt_tensor import save

    save(model.state_dict(), path)


def _save_int8(model: Any, path: Path) -> None:
    from tt_quantization import save_quantized

    save_quantized(model, path)


def latency_ms(model: Any, x: np.ndarray, repeats: int) -> float:
    from tt_quantization import inference_latency
    from tt_tensor import Tensor

    stats, _ = inference_latency(model, Tensor(x), warmup=2, repeats=repeats)
    return stats.min * 1e3


def interleaved_latency(
    models: dict[str, Any], x: np.ndarray, repeats: int, rounds: int = 3
) -> dict[str, float]:
    """Best latency per model over alternating rounds of repeats.

    On this oversubscribed machine a forward pass is preempted by other jobs at
    random, so medians mostly measure the load; the fastest of many samples,
    taken in alternating rounds, is the figure that compares the models.
    """
    best = {name: float("inf") for name in models}
    for _ in range(rounds):
        for name, m in models.items():
            best[name] = min(best[name], latency_ms(m, x, repeats))
    return best


def load_into(model: Any, path: Path) -> None:
    """Load a state dict, giving 0-d tensors back their shape (files written before
    tt-tensor's fix stored them as shape (1,))."""
    from tt_tensor import load

    own = model.state_dict()
    state = {
        k: (v.reshape(()) if k in own and own[k].ndim == 0 and v.shape == (1,) else v)
        for k, v in load(path).items()
    }
    model.load_state_dict(state)


def table(headers: list[str], rows: list[list[str]]) -> None:
    say("| " + " | ".join(headers) + " |")
    say("|" + "|".join("---" for _ in headers) + "|")
    for r in rows:
        say("| " + " | ".join(r) + " |")
    say()


# ----------------------------------------------------------------------------- integer matmul


def bench_intmath(repeats: int) -> None:
    from tt_profiling import measure
    from tt_quantization import accumulation_bound, integer_matmul

    say("## Integer accumulation: NumPy int32 matmul vs exact float BLAS")
    say()
    say(
        "Same int-valued operands (activations minus zero point in [-255, 255] as int16, int8 "
        "weights); every result is compared with the int64 product. Best of the repeats "
        "(the least disturbed by other jobs on this shared machine)."
    )
    say()
    rng = np.random.default_rng(0)
    rows = []
    for m, k, n, act in (
        (256, 784, 512, 40),
        (256, 512, 256, 60),
        (1024, 576, 64, 60),
        (64, 4096, 1024, 255),
    ):
        a = np.clip(np.round(rng.standard_normal((m, k)) * act), -255, 255).astype(np.int16)
        b = rng.integers(-127, 128, size=(k, n)).astype(np.int16)
        ref = a.astype(np.int64) @ b.astype(np.int64)
        bound = accumulation_bound(a, b)
        times: dict[str, float | None] = {}
        for method in ("int", "float32", "float64", "auto"):
            if method == "float32" and bound >= 2**24:
                times[method] = None
                continue
            out = integer_matmul(a, b, method)
            assert np.array_equal(out, ref), method
            times[method] = (
                measure(
                    functools.partial(integer_matmul, a, b, method),
                    warmup=1,
                    repeats=repeats,
                ).min
                * 1e3
            )
        t_int, f64, t_auto = times["int"], times["float64"], times["auto"]
        f32 = times["float32"]
        assert t_int is not None and f64 is not None and t_auto is not None
        rows.append(
            [
                f"{m}x{k} @ {k}x{n}",
                f"{bound:.2e}",
                f"{t_int:.2f}",
                "refused (bound >= 2^24)" if f32 is None else f"{f32:.2f} ({t_int / f32:.1f}x)",
                f"{f64:.2f} ({t_int / f64:.1f}x)",
                f"{t_auto:.2f}",
                "yes",
            ]
        )
    table(
        [
            "shape",
            "partial-sum bound",
            "int32 loop ms",
            "float32 BLAS ms (speed-up)",
            "float64 BLAS ms (speed-up)",
            "auto ms",
            "bit-exact",
        ],
        rows,
    )


# ----------------------------------------------------------------------------- MNIST MLP


def load_mnist(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from tt_dataloader import MNIST

    tr, te = MNIST(root, train=True), MNIST(root, train=False)

    def arr(ds: Any) -> tuple[np.ndarray, np.ndarray]:
        x = ds.data.data.astype(np.float32).reshape(-1, 1, 28, 28) / 255.0
        return x, ds.targets.data.astype(np.int64)

    return (*arr(tr), *arr(te))


def train_mlp(x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> Any:
    """The milestone-1986 recipe: Adam + OneCycleLR(max_lr=2e-3), batch 128."""
    from m1986_mlp_mnist import build_mlp
    from tt_losses import CrossEntropyLoss
    from tt_optimizers import Adam, OneCycleLR
    from tt_tensor import Tensor, manual_seed

    manual_seed(seed)
    model = build_mlp([512, 256])
    steps = len(x) // 128
    opt = Adam(model.parameters(), lr=2e-3)
    sched = OneCycleLR(opt, max_lr=2e-3, epochs=epochs, steps_per_epoch=steps)
    loss_fn = CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(steps):
            idx = order[i * 128 : (i + 1) * 128]
            loss = loss_fn(model(Tensor(x[idx])), Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model


def qat_finetune(model: Any, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> Any:
    from tt_losses import CrossEntropyLoss
    from tt_optimizers import Adam
    from tt_quantization import convert, prepare_qat
    from tt_tensor import Tensor

    qat = prepare_qat(model)
    opt = Adam(qat.parameters(), lr=5e-5)
    loss_fn = CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(len(x) // 128):
            idx = order[i * 128 : (i + 1) * 128]
            loss = loss_fn(qat(Tensor(x[idx])), Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return convert(qat)


def evaluate_variants(
    title: str,
    model: Any,
    xtr: np.ndarray,
    xte: np.ndarray,
    yte: np.ndarray,
    extra: dict[str, Any],
    repeats: int,
    batch_1_repeats: int,
) -> dict[str, Any]:
    from tt_quantization import QConfig, model_size, quantize_model
    from tt_tensor import Tensor

    rng = np.random.default_rng(1)
    calib_idx = rng.choice(len(xtr), 1024, replace=False)
    calib = [Tensor(xtr[calib_idx[i : i + 128]]) for i in range(0, 1024, 128)]
    variants: dict[str, Any] = {"float32": model}
    for name, cfg in (
        ("int8 per-channel min/max", QConfig()),
        ("int8 per-channel percentile 99.99", QConfig(observer="percentile")),
        ("int8 per-tensor min/max", QConfig(per_channel=False)),
    ):
        t0 = time.perf_counter()
        variants[name] = quantize_model(model, calib, cfg)
        say(f"  {name}: quantized in {time.perf_counter() - t0:.1f} s")
    variants.update(extra)
    lat256 = interleaved_latency(variants, xte[:256], repeats)
    lat1 = interleaved_latency(variants, xte[:1], batch_1_repeats)
    rows = []
    out: dict[str, Any] = {}
    base_acc = 0.0
    base_size = 0
    for name, m in variants.items():
        t0 = time.perf_counter()
        acc = accuracy(m, xte, yte)
        eval_s = time.perf_counter() - t0
        if name == "float32":
            size = file_bytes(functools.partial(_save_float, m))
            base_acc, base_size = acc, size
        else:
            size = file_bytes(functools.partial(_save_int8, m))
        ms = model_size(m)
        lat, l1 = lat256[name], lat1[name]
        rows.append(
            [
                name,
                f"{acc:.2%}",
                "—" if name == "float32" else f"{(acc - base_acc) * 100:+.2f}",
                f"{size / 1e6:.3f} MB",
                "1.00x" if name == "float32" else f"{base_size / size:.2f}x",
                f"{ms.params:,}",
                f"{lat:.1f} ({lat256['float32'] / lat:.2f}x)",
                f"{l1:.2f} ({lat1['float32'] / l1:.2f}x)",
                f"{eval_s:.1f}",
            ]
        )
        out[name] = {"accuracy": acc, "bytes": size, "latency_ms": lat}
    say()
    say(f"### {title}")
    say()
    table(
        [
            "model",
            "test accuracy",
            "change (points)",
            "file",
            "smaller by",
            "weights",
            "latency b=256 ms (vs float)",
            "latency b=1 ms (vs float)",
            "eval s (10k)",
        ],
        rows,
    )
    return out


def torch_reference(model: Any, xte: np.ndarray, yte: np.ndarray, repeats: int) -> None:
    try:
        import torch
    except ImportError:
        say("PyTorch not installed: no external reference.")
        return
    torch.set_num_threads(2)
    tm = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    state = {k.replace("1.", "1.", 1): v for k, v in model.state_dict().items()}
    tm.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in state.items()})
    tm.eval()
    rows = []
    models = {"torch fp32": tm}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
            models["torch dynamic int8 (quantize_dynamic)"] = (
                torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    tm, {torch.nn.Linear}, dtype=torch.qint8
                )
            )
    except Exception as err:  # engine not available in this build
        say(f"torch dynamic quantization unavailable: {err}")
    xb = torch.from_numpy(xte[:256])
    with torch.no_grad():
        for name, m in models.items():
            acc = float((m(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
            for _ in range(3):
                m(xb)
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                m(xb)
                ts.append(time.perf_counter() - t0)
            rows.append([name, f"{acc:.2%}", f"{min(ts) * 1e3:.2f}"])
    say("PyTorch reference (same weights, 2 threads):")
    say()
    table(["model", "test accuracy", "latency b=256 ms"], rows)


def bench_mlp(args: argparse.Namespace, root: Path) -> None:
    from m1986_mlp_mnist import build_mlp
    from tt_tensor import save

    say("## MNIST MLP (milestone 1986: 784-512-256-10 ReLU)")
    say()
    xtr, ytr, xte, yte = load_mnist(root)
    model = build_mlp([512, 256])
    weights = args.mlp_weights
    cached = CACHE / f"mlp_mnist_{args.mlp_epochs}ep.safetensors"
    if weights.is_file():
        load_into(model, weights)
        source = f"milestone weights {weights}"
    elif cached.is_file():
        load_into(model, cached)
        source = f"weights trained earlier by this script ({cached.relative_to(REPO)})"
    else:
        t0 = time.perf_counter()
        model = train_mlp(xtr, ytr, args.mlp_epochs, args.seed)
        save(model.state_dict(), cached)
        source = (
            f"no milestone weights found: trained here, {args.mlp_epochs} epochs of the "
            f"milestone recipe in {time.perf_counter() - t0:.0f} s (cached)"
        )
    say(f"Weights: {source}.")
    say()
    t0 = time.perf_counter()
    qat = qat_finetune(model, xtr, ytr, 1, args.seed)
    say(
        f"  QAT: one epoch of fake-quantized fine-tuning (Adam, lr 5e-5) in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    evaluate_variants(
        "MNIST MLP, 10,000 test images",
        model,
        xtr,
        xte,
        yte,
        {"int8 QAT (1 epoch) + convert": qat},
        args.repeats,
        args.repeats * 5,
    )
    torch_reference(model, xte, yte, args.repeats)


# ----------------------------------------------------------------------------- CIFAR CNN


def load_cifar(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from m1998_cnn_cifar10 import MEAN, STD
    from tt_dataloader import CIFAR10

    tr, te = CIFAR10(root, train=True), CIFAR10(root, train=False)
    mean = np.asarray(MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(STD, np.float32).reshape(1, 3, 1, 1)

    def arr(ds: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(getattr(ds.data, "data", ds.data))  # N x H x W x C uint8
        x = (x.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - mean) / std
        return np.ascontiguousarray(x, dtype=np.float32), np.asarray(ds.targets, np.int64)

    return (*arr(tr), *arr(te))


def train_cnn(epochs: int, seed: int, root: Path) -> Any:
    """The milestone-1998 recipe, shortened to `epochs`."""
    from m1998_cnn_cifar10 import (
        BATCH_SIZE,
        LABEL_SMOOTHING,
        MAX_LR,
        MEAN,
        STD,
        WEIGHT_DECAY,
        build_model,
    )
    from tt_dataloader import (
        CIFAR10,
        Compose,
        DataLoader,
        Normalize,
        RandomCrop,
        RandomHorizontalFlip,
    )
    from tt_losses import CrossEntropyLoss
    from tt_optimizers import SGD, OneCycleLR
    from tt_tensor import manual_seed

    manual_seed(seed)
    model = build_model()
    augment = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize(MEAN, STD)])
    loader = DataLoader(
        CIFAR10(root, train=True),
        batch_size=BATCH_SIZE,
        shuffle=True,
        drop_last=True,
        seed=seed,
        transform=augment,
    )
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = SGD(
        [
            {"params": decay, "weight_decay": WEIGHT_DECAY},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=MAX_LR,
        momentum=0.9,
        nesterov=True,
    )
    sched = OneCycleLR(
        opt,
        max_lr=MAX_LR,
        total_steps=epochs * len(loader),
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=10.0,
        final_div_factor=100.0,
    )
    loss_fn = CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    model.train()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"  cnn epoch {epoch + 1}/{epochs}: {time.perf_counter() - t0:.0f} s", flush=True)
    return model


def bench_cnn(args: argparse.Namespace, root: Path) -> None:
    from m1998_cnn_cifar10 import WIDTHS, build_model
    from tt_tensor import save

    say(f"## CIFAR-10 CNN (milestone 1998: CifarResNet{WIDTHS})")
    say()
    xtr, _, xte, yte = load_cifar(root)
    model = build_model()
    cached = CACHE / f"cnn_cifar10_{args.cnn_epochs}ep.safetensors"
    if args.cnn_weights.is_file():
        load_into(model, args.cnn_weights)
        source = f"milestone weights {args.cnn_weights}"
    elif cached.is_file():
        load_into(model, cached)
        source = f"weights trained earlier by this script ({cached.relative_to(REPO)})"
    else:
        t0 = time.perf_counter()
        model = train_cnn(args.cnn_epochs, args.seed, root)
        save(model.state_dict(), cached)
        source = (
            f"no milestone weights found: trained here, {args.cnn_epochs} epochs of the "
            f"milestone recipe in {time.perf_counter() - t0:.0f} s (cached); a short "
            "run, so the float accuracy is below the milestone's"
        )
    say(
        f"Weights: {source}. BatchNorm is folded into the convolutions before quantizing "
        "(`fold_bn=True`, the default), which is why the int8 model counts 560 fewer "
        "weights: BatchNorm's 560 scales and 560 shifts become 560 convolution biases "
        "(the scales are absorbed into the weights)."
    )
    say()
    evaluate_variants(
        "CIFAR-10 CNN, 10,000 test images",
        model,
        xtr,
        xte,
        yte,
        {},
        max(3, args.repeats // 2),
        args.repeats,
    )


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--data", type=Path, default=None)
    p.add_argument(
        "--mlp-weights",
        type=Path,
        default=REPO / "runs" / "1986_mlp_mnist" / "mlp_mnist.safetensors",
    )
    p.add_argument(
        "--cnn-weights",
        type=Path,
        default=REPO / "runs" / "1998_cnn_cifar10" / "cnn_cifar10.safetensors",
    )
    p.add_argument("--mlp-epochs", type=int, default=3)
    p.add_argument("--cnn-epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-cnn", action="store_true")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    root = find_data(args.data)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    say("# INT8 quantization: accuracy, size and latency")
    say()
    say(f"Generated by `tools/bench_quantization.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")
    say(f"Machine: {machine_info()}.")
    say(
        "This machine's 2 cores are shared with other engineers' jobs: latencies are "
        "pessimistic and noisy; ratios measured in the same run are the figures to read."
    )
    say()
    bench_intmath(args.repeats)
    bench_mlp(args, root)
    if not args.skip_cnn:
        bench_cnn(args, root)
    say(
        "Reading the tables: *file* is the safetensors file (`tt_tensor.save` of the float "
        "state dict vs `save_quantized`: int8 weights, float32 per-channel scales and bias, "
        "int32 zero points); *weights* counts weight and bias elements whatever their dtype; "
        "latency is the no_grad forward of tt-profiling's `Profiler`, best of 3 alternating "
        "rounds of repeats (medians on this oversubscribed machine mostly measure other "
        "jobs). Quantized "
        "layers quantize their float input, run the exact integer matmul and requantize to "
        "an int8 output grid, then hand float32 to the next layer; the float32 BLAS path is "
        "bit-exact (see the first table), so the accuracy change is the quantization error "
        "alone."
    )
    say()
    say(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".md.tmp")
        tmp.write_text("\n".join(LINES) + "\n")
        tmp.replace(RESULTS)
        print(f"\nwritten to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
