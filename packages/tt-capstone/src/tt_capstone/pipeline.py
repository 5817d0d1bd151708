"""`optimize`: profile, prune, fold, quantize and fuse a trained model, measuring every stage.

Each stage builds on the one before and is measured the same way:

1. **baseline**: the float32 model in eval mode, run through the plain
   autograd-capable forward (a graph is recorded, as during training);
2. **no_grad**: the same model in inference mode (no graph);
3. **pruned**: whole channels removed (`tt_compression.prune_channels`), then
   the smallest weights zeroed (`tt_compression.Pruner`), optionally followed
   by the caller's fine-tuning;
4. **folded**: BatchNorm folded into the convolution before it
   (`tt_acceleration.fold_batchnorm`);
5. **int8**: static post-training quantization with calibration data
   (`tt_quantization.quantize_model`), integer arithmetic;
6. **deployed**: the int8 model written to disk (`save_deployed`), read back
   and run as a fused inference plan (`tt_acceleration.compile_inference`).

For every stage: accuracy on the test set (and its paired difference from the
baseline, with a bootstrap confidence interval and a Mann–Whitney U test), the
bytes of the files that stage writes, and single-image latency (p50, p99) from
`tt_benchmarking.benchmark_interleaved`, with the speedup over the baseline
tested by `tt_benchmarking.compare`. When PyTorch is importable the same float
model runs there too, in the same interleaved rounds.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from tt_acceleration import (
    CANDIDATES,
    ConvAutotuner,
    blas_threads,
    compile_inference,
    fold_batchnorm,
    get_blas_threads,
)
from tt_autograd import is_grad_enabled, no_grad
from tt_benchmarking import (
    BenchmarkReport,
    BenchmarkResult,
    Comparison,
    atomic_write_text,
    benchmark_interleaved,
    bootstrap_ci,
    compare,
    fmt_seconds,
    load_torch,
    mann_whitney_u,
)
from tt_compression import Pruner, model_sparsity, prune_channels, save_sparse
from tt_layers import Module
from tt_profiling import Profiler, ProfileReport, flops_of
from tt_quantization import QConfig, model_size, quantize_model, save_quantized
from tt_tensor import Tensor, save_tensors

from .deploy import DeployedFiles, dequantize_model, load_deployed, save_deployed
from .torch_twin import to_torch

Array: TypeAlias = npt.NDArray[Any]
ArrayLike: TypeAlias = Tensor | npt.NDArray[Any]
Finetune: TypeAlias = Callable[[Module, Pruner | None], Module | None]
Log: TypeAlias = Callable[[str], None]


def _array(x: Any, what: str) -> Array:
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{what} needs a non-empty batch dimension, got shape {arr.shape}")
    return np.asarray(arr)


def _split(data: Any, what: str) -> tuple[Array, Array | None]:
    """(inputs, labels or None) from a Tensor/array or an (inputs, labels) pair."""
    if isinstance(data, tuple | list):
        if len(data) != 2:
            raise ValueError(f"{what} must be inputs or an (inputs, labels) pair")
        x, y = _array(data[0], what), _array(data[1], f"{what} labels")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"{what}: {x.shape[0]} inputs but {y.shape[0]} labels")
        return x.astype(np.float32, copy=False), y.astype(np.int64, copy=False)
    return _array(data, what).astype(np.float32, copy=False), None


def _predict(fn: Callable[[Array], Array], x: Array, batch_size: int) -> Array:
    """Predicted classes of `x`, `batch_size` inputs at a time."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for start in range(0, x.shape[0], batch_size):
        logits = fn(x[start : start + batch_size])
        out[start : start + logits.shape[0]] = logits.argmax(axis=1)
    return out


def _module_logits(model: Module) -> Callable[[Array], Array]:
    def run(x: Array) -> Array:
        with no_grad():
            out = model(Tensor(x))
        return np.asarray(out.data)

    return run


def _file_bytes(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


@dataclass
class StageResult:
    """One stage of the pipeline, measured."""

    name: str
    description: str
    accuracy: float
    size_bytes: int
    files: list[str]
    latency: BenchmarkResult
    params: int
    flops: int | None
    weight_sparsity: float | None
    vs_baseline: Comparison | None = None
    accuracy_delta: float = 0.0
    accuracy_delta_ci: tuple[float, float] = (0.0, 0.0)
    accuracy_p_value: float | None = None
    size_ratio: float = 1.0
    notes: list[str] = field(default_factory=list)
    latency_cold: BenchmarkResult | None = None  # one call per round: caches start cold
    speedup_cold: float | None = None  # median(baseline, cold) / median(stage, cold)

    @property
    def p50(self) -> float:
        return self.latency.median

    @property
    def p99(self) -> float:
        return self.latency.latency.p99

    @property
    def speedup(self) -> float:
        return 1.0 if self.vs_baseline is None else self.vs_baseline.speedup

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "accuracy": self.accuracy,
            "accuracy_delta": self.accuracy_delta,
            "accuracy_delta_ci": list(self.accuracy_delta_ci),
            "accuracy_p_value": self.accuracy_p_value,
            "size_bytes": self.size_bytes,
            "size_ratio": self.size_ratio,
            "files": self.files,
            "params": self.params,
            "flops": self.flops,
            "weight_sparsity": self.weight_sparsity,
            "latency_p50_s": self.p50,
            "latency_p99_s": self.p99,
            "latency": self.latency.to_dict(),
            "latency_cold_p50_s": None if self.latency_cold is None else self.latency_cold.median,
            "latency_cold_p99_s": (
                None if self.latency_cold is None else self.latency_cold.latency.p99
            ),
            "speedup_cold": self.speedup_cold,
            "vs_baseline": None if self.vs_baseline is None else self.vs_baseline.to_dict(),
            "notes": self.notes,
        }


@dataclass
class PipelineResult:
    """Every stage's accuracy, size and latency, plus the profile and the PyTorch reference."""

    name: str
    stages: list[StageResult]
    profile: ProfileReport | None
    benchmark: BenchmarkReport
    settings: dict[str, Any]
    deployed: DeployedFiles | None
    torch: BenchmarkResult | None = None
    torch_note: str = ""
    test_size: int = 0

    @property
    def baseline(self) -> StageResult:
        return self.stages[0]

    @property
    def final(self) -> StageResult:
        return self.stages[-1]

    def stage(self, name: str) -> StageResult:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages: {[s.name for s in self.stages]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "test_size": self.test_size,
            "settings": self.settings,
            "stages": [s.to_dict() for s in self.stages],
            "torch": None if self.torch is None else self.torch.to_dict(),
            "torch_note": self.torch_note,
            "deployed": None
            if self.deployed is None
            else {
                "directory": str(self.deployed.directory),
                "size_bytes": self.deployed.size_bytes,
                "formats": self.deployed.formats,
            },
            "profile": None if self.profile is None else self.profile.to_dict(),
            "benchmark": self.benchmark.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()), indent=2, allow_nan=False)

    def table(self) -> str:
        """The per-stage Markdown table: accuracy, size and latency, each against the baseline."""
        lines = [
            "| stage | accuracy | Δ accuracy (95% CI) | p (acc.) | size | smaller | "
            "p50 | p99 | faster (95% CI) | p (latency) | p50, cold (faster) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in self.stages:
            lo, hi = s.accuracy_delta_ci
            if s.vs_baseline is None:
                faster, p_lat = "1×", "—"
            else:
                clo, chi = s.vs_baseline.speedup_ci
                faster = f"{s.speedup:.2f}× [{clo:.2f}, {chi:.2f}]"
                p_lat = f"{s.vs_baseline.p_value:.2g}"
            delta = (
                "—"
                if s is self.baseline
                else f"{100 * s.accuracy_delta:+.2f} pt [{100 * lo:+.2f}, {100 * hi:+.2f}]"
            )
            p_acc = "—" if s.accuracy_p_value is None else f"{s.accuracy_p_value:.2g}"
            cold = (
                "—"
                if s.latency_cold is None
                else f"{fmt_seconds(s.latency_cold.median)} ({s.speedup_cold:.2f}×)"
            )
            lines.append(
                f"| {s.name} | {100 * s.accuracy:.2f}% | {delta} | {p_acc} | "
                f"{_fmt_bytes(s.size_bytes)} | {s.size_ratio:.2f}× | {fmt_seconds(s.p50)} | "
                f"{fmt_seconds(s.p99)} | {faster} | {p_lat} | {cold} |"
            )
        if self.torch is not None:
            t = self.torch
            lines.append(
                f"| PyTorch (same float32 model, eager, no_grad) | n/a | | | | | "
                f"{fmt_seconds(t.median)} | {fmt_seconds(t.latency.p99)} | "
                f"{self.baseline.p50 / t.median:.2f}× | | |"
            )
        return "\n".join(lines)

    def to_markdown(self, plot: str | None = None) -> str:
        s = self.settings
        lines = [
            f"# Optimization report: {self.name}",
            "",
            f"Test set: {self.test_size} examples. Latency: one example per call (batch 1), "
            f"{s['repeats']} interleaved rounds after {s['warmup']} warm-up rounds; in each "
            f"round every stage makes {s['burst']} timed call(s) in a row, after one untimed "
            "call when more than one (the steady state of a server running that model). "
            "Cold: a second measurement with one call per stage per round, so every call "
            "follows the other stages' calls and starts with caches they have filled. "
            f"BLAS threads: {s['blas_threads']}. Size: bytes of the files each stage writes.",
            "Δ accuracy: paired difference from the baseline on the same test examples, "
            "with a bootstrap 95% CI; p (acc.): Mann–Whitney U on per-example correctness; "
            "faster: median(baseline) / median(stage) with a bootstrap 95% CI; "
            "p (latency): Mann–Whitney U on the timings.",
            "",
            self.table(),
            "",
            "## Stages",
            "",
        ]
        for st in self.stages:
            extra = f" ({'; '.join(st.notes)})" if st.notes else ""
            lines.append(f"- **{st.name}**: {st.description}{extra}")
        if self.torch_note:
            lines += ["", f"PyTorch: {self.torch_note}"]
        if plot:
            lines += ["", f"![accuracy, size and latency per stage]({plot})"]
        if self.profile is not None:
            lines += ["", "## Profile of the baseline", "", "```text", self.profile.table(), "```"]
        bench = self.benchmark.to_markdown().replace("\n## ", "\n### ").replace("# ", "## ", 1)
        lines += ["", bench]
        return "\n".join(lines).rstrip() + "\n"

    def plot(self, path: str | Path) -> Path | None:
        """Bar charts of accuracy, size and p50 latency per stage (None without matplotlib)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        names = [s.name for s in self.stages]
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        axes[0].bar(names, [100 * s.accuracy for s in self.stages], color="tab:green")
        axes[0].set_ylabel("test accuracy (%)")
        lo = min(100 * s.accuracy for s in self.stages)
        axes[0].set_ylim(max(0.0, lo - 5), 100)
        axes[1].bar(names, [s.size_bytes / 1024 for s in self.stages], color="tab:blue")
        axes[1].set_ylabel("size on disk (KiB)")
        axes[2].bar(names, [1e3 * s.p50 for s in self.stages], color="tab:red")
        axes[2].set_ylabel("single-image latency p50 (ms)")
        if self.torch is not None:
            axes[2].axhline(1e3 * self.torch.median, color="black", linestyle="--")
            axes[2].text(0, 1e3 * self.torch.median, " PyTorch (float32)", va="bottom")
        for ax in axes:
            ax.tick_params(axis="x", labelrotation=30)
        fig.suptitle(f"{self.name}: each optimization stage, measured")
        fig.tight_layout()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=90)
        plt.close(fig)
        return target

    def save(self, directory: str | Path, stem: str = "report") -> dict[str, Path]:
        """Write `<stem>.json`, `<stem>.md` and, with matplotlib, `<stem>.png` into `directory`."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        png = self.plot(folder / f"{stem}.png")
        if png is not None:
            written["png"] = png
        written["json"] = atomic_write_text(folder / f"{stem}.json", self.to_json() + "\n")
        written["md"] = atomic_write_text(
            folder / f"{stem}.md", self.to_markdown(None if png is None else png.name)
        )
        return written


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: unmeasurable values become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _fmt_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.2f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"


@dataclass
class _Variant:
    name: str
    description: str
    logits: Callable[[Array], Array]
    single: Callable[[], object]
    files: list[Path]
    params: int
    flops: int | None
    weight_sparsity: float | None
    notes: list[str] = field(default_factory=list)
    eval_limit: int | None = None  # accuracy on the first `eval_limit` test examples only
    same_as: str | None = None  # computes exactly what that stage computes: reuse its answers


def _weight_sparsity(model: Module) -> float | None:
    try:
        return model_sparsity(model)
    except ValueError:  # no float parameters (an int8 model)
        return None


def _safe_flops(model: Module, x: Tensor) -> int | None:
    try:
        with no_grad():
            return flops_of(model, x)
    except Exception:  # a layer the counters cannot follow: report as missing, never guess
        return None


def optimize(
    model: Module,
    calib_data: Any,
    test_data: Any,
    *,
    name: str = "model",
    channel_prune: float = 0.0,
    prune_residuals: bool = False,
    sparsity: float = 0.5,
    sparsity_scope: Literal["layer", "global"] = "layer",
    finetune: Finetune | None = None,
    qconfig: QConfig | None = None,
    calib_samples: int = 512,
    int8_eval_samples: int | None = 2000,
    autotuner: ConvAutotuner | None = None,
    threads: int | None = 1,
    warmup: int = 5,
    repeats: int = 100,
    burst: int = 10,
    alpha: float = 0.05,
    eval_batch_size: int = 250,
    compare_torch: bool = True,
    profile: bool = True,
    out_dir: str | Path | None = None,
    metadata: Mapping[str, Any] | None = None,
    log: Log | None = print,
) -> PipelineResult:
    """Run the whole pipeline on a trained `model` and measure every stage.

    `calib_data`: inputs (N, ...) or an (inputs, labels) pair; the first
    `calib_samples` calibrate int8 activation ranges. `test_data`: an (inputs,
    labels) pair; its first input is also the single image whose latency is
    timed. `channel_prune` is the fraction of channels removed per prunable
    layer (`prune_residuals`: also the channels residual additions tie
    together, see `tt_compression.prune_channels`), `sparsity` the fraction
    of remaining weights zeroed (per layer, or over the whole model with
    `sparsity_scope="global"`). `finetune(model,
    pruner)` may train the pruned model (attach the pruner to the optimizer so
    the zeros stay zero) and return it (or None to keep the same object).
    `threads` fixes the BLAS thread count for every timing (None: leave as is).
    Latency is measured twice, both times in interleaved rounds: `burst` calls
    in a row per stage and round (steady state: the p50/p99 and speedups of the
    report), and one call per stage and round (cold caches: `latency_cold`).
    Integer arithmetic is slow in NumPy (no int8 BLAS), so the int8 stage's
    accuracy uses the first `int8_eval_samples` test examples (None: all).
    `autotuner` chooses the deployed plan's convolutions (default: tt-acceleration's).
    The deployed model is written to `out_dir/deployed` (a temporary folder when
    `out_dir` is None; `PipelineResult.deployed` says where).
    """
    say: Log = log if log is not None else (lambda _: None)
    if not isinstance(model, Module):
        raise TypeError(f"optimize expects a tt_layers.Module, got {type(model).__name__}")
    x_test, y_test = _split(test_data, "test_data")
    if y_test is None:
        raise ValueError("test_data must be an (inputs, labels) pair: accuracy needs labels")
    x_cal, _ = _split(calib_data, "calib_data")
    x_cal = x_cal[:calib_samples]
    if x_cal.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"calibration inputs {x_cal.shape[1:]} and test inputs {x_test.shape[1:]} differ"
        )
    for what, frac in (("channel_prune", channel_prune), ("sparsity", sparsity)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"{what} must be a fraction in [0, 1), got {frac}")
    if repeats < 3 or warmup < 0:
        raise ValueError(f"need repeats >= 3 and warmup >= 0, got {repeats} and {warmup}")
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="tt-capstone-"))
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    one = Tensor(x_test[:1].copy())
    settings: dict[str, Any] = {
        "channel_prune": channel_prune,
        "prune_residuals": prune_residuals,
        "sparsity": sparsity,
        "sparsity_scope": sparsity_scope,
        "finetune": None if finetune is None else getattr(finetune, "__name__", "custom"),
        "qconfig": (qconfig or QConfig()).to_dict(),
        "calib_samples": int(x_cal.shape[0]),
        "threads_requested": threads,
        "warmup": warmup,
        "repeats": repeats,
        "burst": burst,
        "alpha": alpha,
        "input_shape": list(x_test.shape[1:]),
    }

    base = copy.deepcopy(model).eval()
    variants: list[_Variant] = []

    # ---- 1. baseline and 2. no_grad ------------------------------------------------
    base_file = artifacts / "baseline.safetensors"
    save_tensors(base.state_dict(), base_file)
    base_params = sum(p.numel() for p in base.parameters())
    base_flops = _safe_flops(base, one)

    def baseline_single() -> object:
        if not is_grad_enabled():
            raise RuntimeError("the baseline must run with autograd enabled")
        return base(one)

    variants.append(
        _Variant(
            "baseline",
            "float32, eval mode, the plain autograd-capable forward (a graph is recorded)",
            _module_logits(base),
            baseline_single,
            [base_file],
            base_params,
            base_flops,
            _weight_sparsity(base),
        )
    )

    def no_grad_single() -> object:
        with no_grad():
            return base(one)

    variants.append(
        _Variant(
            "no_grad",
            "the same model in inference mode: no autograd graph is recorded",
            _module_logits(base),
            no_grad_single,
            [base_file],
            base_params,
            base_flops,
            _weight_sparsity(base),
            same_as="baseline",
        )
    )

    profile_report: ProfileReport | None = None
    if profile:
        say("profiling the baseline (FLOPs, parameters, per-layer time)")
        with blas_threads(threads) if threads is not None else nullcontext():
            profile_report = Profiler(base).run(
                one, warmup=2, repeats=10, backward=False, peak=False
            )

    # ---- 3. pruned ----------------------------------------------------------------
    current = base
    if channel_prune > 0 or sparsity > 0 or finetune is not None:
        notes: list[str] = []
        pruned = copy.deepcopy(base)
        if channel_prune > 0:
            pruned, removed = prune_channels(
                pruned, channel_prune, through_residuals=prune_residuals
            )
            notes.append(
                "channels removed: "
                + (
                    ", ".join(f"{r.name} {r.channels_before}→{r.channels_after}" for r in removed)
                    or "none (no prunable layer)"
                )
            )
        pruner: Pruner | None = None
        if sparsity > 0:
            pruner = Pruner(pruned, sparsity, scope=sparsity_scope)
            notes.append(f"{100 * pruner.sparsity():.1f}% of conv/linear weights zeroed")
        if finetune is not None:
            say("fine-tuning the pruned model")
            pruned.train()
            tuned = finetune(pruned, pruner)
            pruned = tuned if tuned is not None else pruned
            if pruner is not None:
                pruner.apply()
            notes.append("fine-tuned after pruning")
        pruned.eval()
        pruned_file = artifacts / "pruned.safetensors"
        save_sparse(pruned, pruned_file)
        parts: list[str] = []
        if channel_prune > 0:
            parts.append(
                f"{100 * channel_prune:.0f}% of channels removed (prune_channels"
                + (", residual streams included)" if prune_residuals else ")")
            )
        if sparsity > 0:
            parts.append(f"{100 * sparsity:.0f}% of weights zeroed by magnitude ({sparsity_scope})")
        if not parts:
            parts.append("fine-tuned")
        variants.append(
            _Variant(
                "pruned",
                "; ".join(parts) + "; saved with save_sparse",
                _module_logits(pruned),
                _no_grad_call(pruned, one),
                [pruned_file],
                sum(p.numel() for p in pruned.parameters()),
                _safe_flops(pruned, one),
                _weight_sparsity(pruned),
                notes,
            )
        )
        current = pruned

    # ---- 4. folded ----------------------------------------------------------------
    folded, folded_names = fold_batchnorm(current)
    folded_file = artifacts / "folded.safetensors"
    save_sparse(folded, folded_file)
    variants.append(
        _Variant(
            "folded",
            "BatchNorm folded into the preceding Conv2d/Linear (fold_batchnorm)",
            _module_logits(folded),
            _no_grad_call(folded, one),
            [folded_file],
            sum(p.numel() for p in folded.parameters()),
            _safe_flops(folded, one),
            _weight_sparsity(folded),
            [f"{len(folded_names)} BatchNorm layers folded" if folded_names else "no BatchNorm"],
        )
    )

    # ---- 5. int8 ------------------------------------------------------------------
    say(f"quantizing to int8 with {x_cal.shape[0]} calibration inputs")
    calib = [Tensor(x_cal[i : i + 64]) for i in range(0, x_cal.shape[0], 64)]
    qmodel = quantize_model(folded, calib, qconfig)
    int8_file = artifacts / "int8.safetensors"
    save_quantized(qmodel, int8_file)
    qsize = model_size(qmodel)
    variants.append(
        _Variant(
            "int8",
            "static int8 quantization (quantize_model): int8 weights and activations, "
            "int32 accumulation; saved with save_quantized",
            _module_logits(qmodel),
            _no_grad_call(qmodel, one),
            [int8_file],
            qsize.params,
            _safe_flops(qmodel, one),
            None,
            [f"{qsize.int8_params:,} of {qsize.params:,} weights stored as int8"],
            eval_limit=int8_eval_samples,
        )
    )

    # ---- 6. deployed --------------------------------------------------------------
    meta = dict(metadata or {})
    files = save_deployed(
        qmodel, folder / "deployed", input_shape=tuple(x_test.shape[1:]), metadata=meta
    )
    deployed = load_deployed(files.directory, autotuner=autotuner)
    # accuracy runs big batches through the same plan with one fixed conv formulation
    # (the autotuner would time every candidate at every new batch shape; they agree
    # within float32 rounding, which tt-acceleration checks when it tunes)
    eval_plan = compile_inference(dequantize_model(deployed.int8), autotuner=_NoTuning())

    def deployed_logits(x: Array) -> Array:
        return np.asarray(eval_plan(x).data)

    def deployed_single() -> object:
        return deployed.plan(one)

    variants.append(
        _Variant(
            "deployed",
            "the int8 file read back (save_deployed/load_deployed): int8 weights dequantized "
            "once at load, run as a fused inference plan (compile_inference: folded, "
            "activations fused, autotuned convolutions, reused buffers)",
            deployed_logits,
            deployed_single,
            [files.weights, files.manifest],
            qsize.params,
            variants[-2].flops,
            None,
            [
                "fallback layers: " + (", ".join(deployed.plan.fallbacks) or "none"),
                f"weight formats: {_format_counts(files.formats)}",
                "accuracy from the same plan with tt-spatial's convolution for every batch "
                "shape (no autotuning per evaluation batch)",
            ],
        )
    )

    # ---- accuracy -----------------------------------------------------------------
    correct: dict[str, Array] = {}
    for v in variants:
        if v.same_as is not None:
            correct[v.name] = correct[v.same_as]
            continue
        n = x_test.shape[0] if v.eval_limit is None else min(v.eval_limit, x_test.shape[0])
        say(f"evaluating {v.name} on {n} test examples")
        pred = _predict(v.logits, x_test[:n], eval_batch_size)
        correct[v.name] = (pred == y_test[:n]).astype(np.float64)
        if n < x_test.shape[0]:
            v.notes.append(f"accuracy on the first {n:,} test examples only (slow in NumPy)")

    # ---- latency ------------------------------------------------------------------
    fns: dict[str, Callable[[], object]] = {v.name: v.single for v in variants}
    torch_note = ""
    torch_fn, torch_mod = None, None
    if compare_torch:
        torch_mod = load_torch()
        if torch_mod is None:
            torch_note = "not importable here: no PyTorch column"
        else:
            twin, why = to_torch(base)
            if twin is None:
                torch_note = f"not compared: {why}"
            else:
                tx = torch_mod.from_numpy(one.data.copy())

                def torch_single() -> object:
                    with torch_mod.no_grad():
                        return twin(tx)

                with torch_mod.no_grad():
                    ref = twin(tx).numpy()
                gap = float(np.max(np.abs(ref - np.asarray(base(one).data))))
                torch_fn = torch_single
                torch_note = (
                    f"torch {torch_mod.__version__}, the baseline's float32 weights loaded into "
                    f"the same architecture (max |logit difference| {gap:.2g}), eager mode under "
                    "torch.no_grad(), timed in the same interleaved rounds"
                )
    if torch_fn is not None:
        fns["pytorch"] = torch_fn
    say(
        f"timing {len(fns)} variants at batch 1: {repeats} interleaved rounds of {burst} "
        "calls each, then one call each (cold)"
    )
    previous_torch_threads = None
    if torch_fn is not None and torch_mod is not None and threads is not None:
        previous_torch_threads = int(torch_mod.get_num_threads())
        torch_mod.set_num_threads(threads)
    try:
        with blas_threads(threads) if threads is not None else nullcontext():
            in_effect = get_blas_threads().in_effect
            timings = benchmark_interleaved(fns, warmup=warmup, repeats=repeats, burst=burst)
            # burst 1 already is the cold measurement: no second pass
            cold = timings if burst == 1 else benchmark_interleaved(fns, warmup=0, repeats=repeats)
    finally:
        if previous_torch_threads is not None and torch_mod is not None:
            torch_mod.set_num_threads(previous_torch_threads)
    settings["blas_threads"] = in_effect

    # ---- results ------------------------------------------------------------------
    report = BenchmarkReport(f"{name}: single-image latency per stage")
    base_timing = timings["baseline"]
    base_size = _file_bytes(variants[0].files)
    stages: list[StageResult] = []
    for v in variants:
        t = timings[v.name]
        report.add(t)
        size = _file_bytes(v.files)
        stage = StageResult(
            name=v.name,
            description=v.description,
            accuracy=float(correct[v.name].mean()),
            size_bytes=size,
            files=[str(p) for p in v.files],
            latency=t,
            params=v.params,
            flops=v.flops,
            weight_sparsity=v.weight_sparsity,
            size_ratio=base_size / size,
            notes=v.notes,
            latency_cold=cold[v.name],
            speedup_cold=cold["baseline"].median / cold[v.name].median,
        )
        if v.name != "baseline":
            stage.vs_baseline = report.add_comparison(compare(base_timing, t, alpha=alpha))
            n = correct[v.name].shape[0]
            diff = correct[v.name] - correct["baseline"][:n]
            stage.accuracy_delta = float(diff.mean())
            stage.accuracy_delta_ci = bootstrap_ci(diff, "mean", n_resamples=1000, seed=0)
            stage.accuracy_p_value = mann_whitney_u(correct["baseline"], correct[v.name]).p_value
        stages.append(stage)
    torch_result = timings.get("pytorch")
    if torch_result is not None:
        report.add(torch_result)
        report.add_comparison(compare(torch_result, timings["deployed"], alpha=alpha))
        report.notes.append(torch_note)
    report.notes.append(f"BLAS threads in effect while timing: {in_effect} (requested {threads})")
    report.extra["settings"] = settings
    return PipelineResult(
        name=name,
        stages=stages,
        profile=profile_report,
        benchmark=report,
        settings=settings,
        deployed=files,
        torch=torch_result,
        torch_note=torch_note,
        test_size=int(x_test.shape[0]),
    )


class _NoTuning(ConvAutotuner):
    """An autotuner that never tunes: tt-spatial's convolution (measured fastest for large
    batches here) for every shape, for accuracy evaluation."""

    def __init__(self) -> None:
        super().__init__(candidates={"tt-spatial": CANDIDATES["tt-spatial"]})

    def tune(
        self,
        x: Array,
        w: Array,
        b: Array | None,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> str:
        return "tt-spatial"


def _format_counts(formats: Mapping[str, str]) -> str:
    counts: dict[str, int] = {}
    for fmt in formats.values():
        counts[fmt] = counts.get(fmt, 0) + 1
    return ", ".join(f"{n} {fmt}" for fmt, n in sorted(counts.items()))


def _no_grad_call(model: Module, x: Tensor) -> Callable[[], object]:
    def run() -> object:
        with no_grad():
            return model(x)

    return run
