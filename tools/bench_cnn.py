"""Benchmark: one training step of the CIFAR-10 milestone CNN, and each of its layers.

Times forward + backward + optimizer step at batch 128 of the milestone model
(`milestones/m1998_cnn_cifar10.py`), then every distinct Conv2d / MaxPool2d /
BatchNorm2d layer shape in it, forward and backward separately. Where PyTorch
is importable the identical model (same architecture, same weights, same
optimizer) runs in the same process with the same number of threads, measured
interleaved with ours so both see the same machine load, and the ratios are
printed. Minimum over repeats is the headline (least disturbed by other
processes); medians are shown too. The output is also written as Markdown to
tools/results/cnn.md.

Run: uv run python tools/bench_cnn.py [--repeat 7] [--batch 128] [--out tools/results/cnn.md]
     OPENBLAS_NUM_THREADS=1 uv run python tools/bench_cnn.py --threads 1   (one core each)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import tt_autograd
from tt_activations import ReLU
from tt_layers import Flatten, Linear, Module, Sequential
from tt_losses import CrossEntropyLoss
from tt_optimizers import SGD
from tt_spatial import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, MaxPool2d, Residual
from tt_spatial._utils import is_chwn
from tt_tensor import Tensor, manual_seed

ROOT = Path(__file__).resolve().parents[1]


def load_milestone() -> ModuleType:
    path = ROOT / "milestones" / "m1998_cnn_cifar10.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("m1998_cnn_cifar10", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timeit(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Timer:
    """Interleaved repeats of several callables; min and median per name (seconds)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def best(self, name: str) -> float:
        return min(self.samples[name])

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])


# ----------------------------------------------------------------- the PyTorch twin
def torch_twin(model: Any, torch: Any) -> Any:
    """The same network in PyTorch, module by module, with our weights copied in."""
    nn = torch.nn

    class TorchResidual(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, body: Any) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: Any) -> Any:
            return x + self.body(x)

    def convert(m: Any) -> Any:
        if isinstance(m, Sequential):
            return nn.Sequential(*(convert(c) for c in m._modules.values()))
        if isinstance(m, Residual):
            return TorchResidual(convert(m.body))
        if isinstance(m, Conv2d):
            return nn.Conv2d(
                m.in_channels,
                m.out_channels,
                m.kernel_size,
                m.stride,
                m.padding,
                m.dilation,
                m.groups,
                m.bias is not None,
            )
        if isinstance(m, BatchNorm2d):
            return nn.BatchNorm2d(m.num_features, m.eps, m.momentum)
        if isinstance(m, MaxPool2d):
            return nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
        if isinstance(m, AdaptiveAvgPool2d):
            return nn.AdaptiveAvgPool2d(m.output_size)
        if isinstance(m, Flatten):
            return nn.Flatten()
        if isinstance(m, Linear):
            return nn.Linear(m.in_features, m.out_features, m.bias is not None)
        if isinstance(m, ReLU):
            return nn.ReLU()
        raise TypeError(f"no PyTorch twin for {type(m).__name__}")

    twin = convert(model)
    twin.load_state_dict(
        {k: torch.from_numpy(np.array(v.data)) for k, v in model.state_dict().items()}
    )
    return twin


def optimizer_for(params: list[Any], cls: Any, wd: float, lr: float = 0.05) -> Any:
    decay = [p for p in params if p.ndim > 1]
    other = [p for p in params if p.ndim <= 1]
    return cls(
        [{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}],
        lr=lr,
        momentum=0.9,
        nesterov=True,
    )


# ----------------------------------------------------------------- per-layer shapes
def layer_inputs(model: Module, x: Tensor) -> list[tuple[str, Any, tuple[int, ...], bool]]:
    """(name, layer, input shape, input stored CHWN) for each distinct layer configuration."""
    seen: dict[tuple[Any, ...], tuple[str, Any, tuple[int, ...], bool]] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, Conv2d | MaxPool2d | BatchNorm2d):

            def hook(mod: Any, args: tuple[Any, ...], out: Any, name: str = name) -> None:
                inp = args[0]
                key = (type(mod).__name__, repr(mod), tuple(inp.shape), inp.requires_grad)
                seen.setdefault(key, (name, mod, tuple(inp.shape), is_chwn(inp.data)))

            hooks.append(m.register_forward_hook(hook))
    with tt_autograd.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return list(seen.values())


def describe(layer: Any, shape: tuple[int, ...]) -> str:
    _, c, h, w = shape
    if isinstance(layer, Conv2d):
        k = layer.kernel_size
        return f"Conv2d {c}->{layer.out_channels} k{k[0]}x{k[1]} @{h}x{w}"
    if isinstance(layer, MaxPool2d):
        return f"MaxPool2d {layer.kernel_size} {c}ch @{h}x{w}"
    return f"BatchNorm2d {c} @{h}x{w}"


def chwn_array(shape: tuple[int, ...], rng: np.random.Generator, chwn: bool) -> np.ndarray:
    n, c, h, w = shape
    if chwn:
        return rng.standard_normal((c, h, w, n), dtype=np.float32).transpose(3, 0, 1, 2)
    return rng.standard_normal(shape, dtype=np.float32)


def time_layer(layer: Any, x: Tensor, g: Tensor, tw: Any, tx: Any, tg: Any, repeat: int) -> Timer:
    """Forward and backward of one layer (and of its PyTorch twin), interleaved."""
    timer = Timer()
    for _ in range(repeat + 1):
        for p in layer.parameters():
            p.grad = None
        start = time.perf_counter()
        y = layer(x)
        timer.add("fwd", time.perf_counter() - start)
        start = time.perf_counter()
        y.backward(g)
        timer.add("bwd", time.perf_counter() - start)
        if tw is not None:
            tw.zero_grad()
            start = time.perf_counter()
            ty = tw(tx)
            timer.add("t_fwd", time.perf_counter() - start)
            start = time.perf_counter()
            ty.backward(tg)
            timer.add("t_bwd", time.perf_counter() - start)
    for k in timer.samples:  # drop the warm-up round
        timer.samples[k] = timer.samples[k][1:]
    return timer


def bench_layers(
    model: Module, batch: int, repeat: int, torch: Any, rng: np.random.Generator
) -> list[dict[str, Any]]:
    x0 = Tensor(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    rows = []
    for name, layer, shape, chwn in layer_inputs(model, x0):
        first = name == "0.0"  # the first conv sees data, which needs no gradient
        xd = chwn_array(shape, rng, chwn)
        x = Tensor(xd, requires_grad=not first)
        layer.train()
        out = layer(x)
        gd = chwn_array(tuple(out.shape), rng, is_chwn(out.data))
        tw = twin_x = twin_g = None
        if torch is not None:
            tw = torch_twin(Sequential(layer), torch)[0]
            twin_x = torch.from_numpy(np.ascontiguousarray(xd)).requires_grad_(not first)
            twin_g = torch.from_numpy(np.ascontiguousarray(gd))
        timer = time_layer(layer, x, Tensor(gd), tw, twin_x, twin_g, repeat)
        row: dict[str, Any] = {
            "layer": describe(layer, shape),
            "name": name,
            "fwd": timer.best("fwd"),
            "bwd": timer.best("bwd"),
        }
        if tw is not None:
            row.update(t_fwd=timer.best("t_fwd"), t_bwd=timer.best("t_bwd"))
        rows.append(row)
    return rows


# ----------------------------------------------------------------- the full step
def bench_step(
    ms: ModuleType, batch: int, repeat: int, torch: Any, rng: np.random.Generator
) -> dict[str, Any]:
    manual_seed(0)
    model = ms.build_model()
    model.train()
    loss_fn = CrossEntropyLoss(label_smoothing=ms.LABEL_SMOOTHING)
    opt = optimizer_for(list(model.parameters()), SGD, ms.WEIGHT_DECAY)
    xd = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    yd = rng.integers(0, 10, batch)
    x, y = Tensor(xd), Tensor(yd)

    def ours() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    result: dict[str, Any] = {"params": sum(p.numel() for p in model.parameters())}
    twin_step = None
    if torch is not None:
        twin = torch_twin(model, torch)
        twin.train()
        with tt_autograd.no_grad():
            model.eval()
            twin.eval()
            diff = np.abs(model(x).data - twin(torch.from_numpy(xd)).detach().numpy()).max()
            model.train()
            twin.train()
        result["max_abs_output_diff"] = float(diff)
        tloss = torch.nn.CrossEntropyLoss(label_smoothing=ms.LABEL_SMOOTHING)
        topt = optimizer_for(list(twin.parameters()), torch.optim.SGD, ms.WEIGHT_DECAY)
        tx, ty = torch.from_numpy(xd), torch.from_numpy(yd)

        def twin_step() -> None:
            loss = tloss(twin(tx), ty)
            topt.zero_grad()
            loss.backward()
            topt.step()

    timer = Timer()
    ours()
    if twin_step is not None:
        twin_step()
    for _ in range(repeat):
        timer.add("ours", timeit(ours))
        if twin_step is not None:
            timer.add("torch", timeit(twin_step))
    result.update(ours=timer.best("ours"), ours_median=timer.median("ours"))
    if twin_step is not None:
        result.update(torch=timer.best("torch"), torch_median=timer.median("torch"))
    return result


# ----------------------------------------------------------------- reporting
def machine_info(torch: Any, threads: int) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        info = cfg["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:  # purely informative
        pass
    lines = [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; load average at start: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- Python {platform.python_version()}, NumPy {np.__version__} ({blas}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset: all cores')})",
    ]
    if torch is not None:
        lines.append(f"- PyTorch {torch.__version__}, torch.set_num_threads({threads})")
    else:
        lines.append("- PyTorch not importable: no baseline in this run")
    return lines


def command(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ.get("OPENBLAS_NUM_THREADS")
    prefix = f"OPENBLAS_NUM_THREADS={env} " if env else ""
    return f"{prefix}uv run python tools/bench_cnn.py {' '.join(args)}".strip()


def ms(v: float) -> str:
    return f"{v * 1e3:8.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeat", type=int, default=7, help="timed repeats (after one warm-up)")
    p.add_argument(
        "--layers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time each layer shape",
    )
    p.add_argument("--out", type=Path, default=ROOT / "tools" / "results" / "cnn.md")
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="PyTorch threads; NumPy's BLAS threads come from OPENBLAS_NUM_THREADS "
        "(set it to the same number; unset means all cores)",
    )
    args = p.parse_args(argv)
    blas_env = os.environ.get("OPENBLAS_NUM_THREADS")
    blas_threads = int(blas_env) if blas_env else os.cpu_count() or 1
    if blas_threads != args.threads:
        print(
            f"warning: NumPy's BLAS uses {blas_threads} threads but PyTorch gets "
            f"{args.threads}: run with OPENBLAS_NUM_THREADS={args.threads}",
            file=sys.stderr,
        )
    torch: Any = None
    try:
        torch = importlib.import_module("torch")
        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    milestone = load_milestone()
    rng = np.random.default_rng(0)
    lines = ["# CNN training step: TinyTorch (NumPy) vs PyTorch (CPU)", ""]
    lines += [
        f"Model: `CifarResNet(widths={milestone.WIDTHS})` of milestone 1998 "
        f"(`milestones/m1998_cnn_cifar10.py`), batch {args.batch}, float32; "
        "SGD (Nesterov, momentum 0.9, weight decay) step included. "
        f"Command: `{command(argv)}`.",
        "",
    ]
    lines += machine_info(torch, args.threads)
    lines += [
        "",
        "**The machine was shared with other engineers' jobs while this ran**: absolute "
        "times are pessimistic and noisy. Ours and PyTorch's repeats are interleaved so "
        "both see the same load; the minimum over repeats is the headline.",
        "",
    ]
    print("\n".join(lines), flush=True)

    step = bench_step(milestone, args.batch, args.repeat, torch, rng)
    out = ["## Full training step (forward + backward + SGD step)", ""]
    out.append(f"parameters: {step['params']:,}")
    if "max_abs_output_diff" in step:
        out.append(
            f"; same weights in both, eval-mode output max |diff| = "
            f"{step['max_abs_output_diff']:.2e}"
        )
    out += [
        "",
        "| | min (ms) | median (ms) |",
        "|---|---:|---:|",
        f"| TinyTorch | {ms(step['ours'])} | {ms(step['ours_median'])} |",
    ]
    if "torch" in step:
        out.append(f"| PyTorch | {ms(step['torch'])} | {ms(step['torch_median'])} |")
        ratio = step["ours"] / step["torch"]
        out.append(
            f"| **ratio** | **{ratio:.2f}x** | {step['ours_median'] / step['torch_median']:.2f}x |"
        )
        out += ["", f"Target: <= 2.0x PyTorch (stretch <= 1.5x): measured {ratio:.2f}x."]
    steps_per_epoch = 50000 // args.batch
    epoch_s = step["ours"] * steps_per_epoch
    out += [
        "",
        f"Projected TinyTorch training time per CIFAR-10 epoch ({steps_per_epoch} "
        f"steps): {epoch_s:.0f} s at the minimum step time, "
        f"{step['ours_median'] * steps_per_epoch:.0f} s at the median; "
        f"{milestone.EPOCHS} epochs: {milestone.EPOCHS * epoch_s / 60:.1f} min.",
        "",
    ]
    print("\n".join(out), flush=True)
    lines += out

    if args.layers:
        rows = bench_layers(milestone.build_model(), args.batch, args.repeat, torch, rng)
        table = [
            "## Each layer shape (min over repeats, ms)",
            "",
            "| layer | ours fwd | ours bwd | torch fwd | torch bwd | ratio fwd | ratio bwd |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            if "t_fwd" in r:
                table.append(
                    f"| {r['layer']} | {ms(r['fwd'])} | {ms(r['bwd'])} | {ms(r['t_fwd'])} | "
                    f"{ms(r['t_bwd'])} | {r['fwd'] / r['t_fwd']:.2f} | "
                    f"{r['bwd'] / r['t_bwd']:.2f} |"
                )
            else:
                table.append(f"| {r['layer']} | {ms(r['fwd'])} | {ms(r['bwd'])} | | | | |")
        table += [
            "",
            "Each layer is timed alone with its input stored as it is inside the "
            "network (convolution outputs are CHWN views; see tt_spatial/conv.py); the "
            "first convolution's input needs no gradient.",
            "",
        ]
        print("\n".join(table), flush=True)
        lines += table
    lines.append(f"Load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
