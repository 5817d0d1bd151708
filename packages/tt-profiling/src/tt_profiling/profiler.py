"""`Profiler`: where a model's parameters, FLOPs, memory and time go, layer by layer.

It works on any tt-layers `Module` through forward hooks, never by editing the
model. The *units* it reports are the leaf layers, plus the layer kinds that
have their own FLOP counter even though they own children (MultiheadAttention
owns `out_proj` and is reported as one unit). Everything is measured:

* shapes, FLOPs and activation memory from one forward pass with hooks;
* per-layer forward time from pre/post hooks around each unit, over repeated
  forward passes of the whole model;
* whole-model forward, inference (no_grad) and backward latency, each in its
  own timed loop without hooks; backward is timed by running `backward()`
  (the forward that builds its graph runs untimed before every sample);
* achieved GFLOP/s against the matmul peak measured in the same process.

Backward FLOPs are not counted, so backward GFLOP/s is reported as missing.
Profiling leaves the model as it found it: buffers (e.g. BatchNorm running
statistics), gradients and tt-tensor's random state are restored afterwards.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tt_autograd import no_grad
from tt_layers import Module
from tt_tensor import Tensor, get_rng_state, set_rng_state

from .counters import count_flops, is_counted_kind, shape_of
from .peak import MatmulPeak, measure_matmul_peak
from .timing import LatencyStats, time_with_setup

LossFn = Callable[[Any], Tensor]


# ------------------------------------------------------------------ helpers


def nbytes(value: Any) -> int:
    """Bytes held by the tensors in `value` (a Tensor, an array, or a tuple/list/dict of them)."""
    if isinstance(value, Tensor):
        return int(value.data.nbytes)
    if hasattr(value, "nbytes") and hasattr(value, "shape"):
        return int(value.nbytes)
    if isinstance(value, tuple | list):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    return 0


def shapes(value: Any) -> list[tuple[int, ...]]:
    """Shapes of every tensor in `value`, in order."""
    direct = shape_of(value)
    if direct is not None:
        return [direct]
    if isinstance(value, tuple | list):
        return [s for v in value for s in shapes(v)]
    return []


def fmt_count(n: float | None) -> str:
    """1234567 -> '1.23M' (None -> 'n/a')."""
    if n is None:
        return "n/a"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n:.0f}"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.3f}"


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, tuple | list):
        for v in value:
            found = _first_tensor(v)
            if found is not None:
                return found
    return None


def default_loss(output: Any) -> Tensor:
    """The sum of the first tensor in the output: a scalar whose backward reaches everything."""
    t = _first_tensor(output)
    if t is None:
        raise TypeError(
            f"cannot build a loss from a model output of type {type(output).__name__}: "
            "pass loss_fn=... to Profiler.run"
        )
    return t if t.numel() == 1 and t.ndim == 0 else t.sum()


def _units(model: Any) -> Iterator[tuple[str, Any]]:
    """Leaf layers and counted kinds, outermost first; the children of a unit are skipped."""
    if not isinstance(model, Module):
        yield type(model).__name__, model
        return
    skip: list[str] = []
    for name, mod in model.named_modules():
        if any(s == "" or name == s or name.startswith(s + ".") for s in skip):
            continue
        has_children = isinstance(mod, Module) and any(True for _ in mod.children())
        if is_counted_kind(mod) or not has_children:
            if not hasattr(mod, "register_forward_hook"):
                continue  # a module-like without hooks cannot be observed
            skip.append(name)
            yield (name or type(mod).__name__), mod


def _own_parameters(mod: Any) -> list[Tensor]:
    params = getattr(mod, "parameters", None)
    return list(params()) if callable(params) else []


# ------------------------------------------------------------------ results


@dataclass
class LayerProfile:
    """One unit of the model: what it holds, computes, produces and costs in time."""

    name: str
    kind: str
    input_shapes: list[tuple[int, ...]]
    output_shapes: list[tuple[int, ...]]
    params: int
    param_bytes: int
    flops: int | None
    activation_bytes: int
    calls: int = 0
    forward: LatencyStats | None = None

    @property
    def gflops_per_s(self) -> float | None:
        if self.flops is None or self.forward is None or self.forward.median <= 0:
            return None
        return self.flops / self.forward.median / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shapes": [list(s) for s in self.output_shapes],
            "params": self.params,
            "param_bytes": self.param_bytes,
            "flops": self.flops,
            "activation_bytes": self.activation_bytes,
            "calls_per_forward": self.calls,
            "forward": None if self.forward is None else self.forward.to_dict(),
            "gflops_per_s": self.gflops_per_s,
        }


@dataclass
class ProfileReport:
    """Per-layer rows and whole-model totals; missing measurements are None."""

    model: str
    training_mode: bool
    layers: list[LayerProfile]
    total_params: int
    total_param_bytes: int
    activation_bytes: int
    forward: LatencyStats
    inference: LatencyStats | None
    backward: LatencyStats | None
    peak: MatmulPeak | None
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total_flops(self) -> int:
        """Sum over the layers whose FLOPs are counted (see `uncounted`)."""
        return sum(layer.flops for layer in self.layers if layer.flops is not None)

    @property
    def uncounted(self) -> list[str]:
        return [f"{layer.name} ({layer.kind})" for layer in self.layers if layer.flops is None]

    def achieved_gflops(self, which: str = "inference") -> float | None:
        """Forward FLOPs over the median forward (`"forward"`) or no_grad (`"inference"`) time."""
        lat = self.inference if which == "inference" else self.forward
        if lat is None or lat.median <= 0:
            return None
        return self.total_flops / lat.median / 1e9

    def fraction_of_peak(self, which: str = "inference") -> float | None:
        achieved = self.achieved_gflops(which)
        if achieved is None or self.peak is None:
            return None
        return achieved / self.peak.gflops

    def bottlenecks(self, k: int = 3) -> list[LayerProfile]:
        """The `k` layers with the largest median forward time."""
        timed = [layer for layer in self.layers if layer.forward is not None]
        return sorted(timed, key=lambda layer: -(layer.forward.median if layer.forward else 0))[:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "training_mode": self.training_mode,
            "settings": self.settings,
            "totals": {
                "params": self.total_params,
                "param_bytes": self.total_param_bytes,
                "flops": self.total_flops,
                "flops_uncounted_layers": self.uncounted,
                "activation_bytes": self.activation_bytes,
                "forward": self.forward.to_dict(),
                "inference": None if self.inference is None else self.inference.to_dict(),
                "backward": None if self.backward is None else self.backward.to_dict(),
                "achieved_gflops_forward": self.achieved_gflops("forward"),
                "achieved_gflops_inference": self.achieved_gflops("inference"),
                "achieved_gflops_backward": None,  # backward FLOPs are not counted
                "fraction_of_peak_inference": self.fraction_of_peak("inference"),
            },
            "peak": None if self.peak is None else self.peak.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save_json(self, path: str | Path) -> Path:
        """Write the JSON report atomically (temporary file in the same directory, then rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json() + "\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def table(self) -> str:
        """A fixed-width table: one row per layer, then the totals."""
        fwd_total = sum(layer.forward.median for layer in self.layers if layer.forward) or None
        head = (
            f"{'layer':<28} {'kind':<20} {'output':<18} {'params':>8} {'FLOPs':>9} "
            f"{'act. mem':>10} {'fwd ms':>8} {'p90 ms':>8} {'GFLOP/s':>8} {'time %':>6}"
        )
        lines = [f"Profile of {self.model} ({'train' if self.training_mode else 'eval'} mode)"]
        lines += [head, "-" * len(head)]
        for layer in self.layers:
            out = "x".join(map(str, layer.output_shapes[0])) if layer.output_shapes else "-"
            share = (
                f"{100 * layer.forward.median / fwd_total:.1f}"
                if layer.forward is not None and fwd_total
                else "n/a"
            )
            gf = layer.gflops_per_s
            lines.append(
                f"{layer.name[:28]:<28} {layer.kind[:20]:<20} {out[:18]:<18} "
                f"{fmt_count(layer.params):>8} {fmt_count(layer.flops):>9} "
                f"{fmt_bytes(layer.activation_bytes):>10} "
                f"{fmt_ms(layer.forward.median if layer.forward else None):>8} "
                f"{fmt_ms(layer.forward.p90 if layer.forward else None):>8} "
                f"{'n/a' if gf is None else f'{gf:.2f}':>8} {share:>6}"
            )
        lines.append("-" * len(head))

        def lat(name: str, stats: LatencyStats | None) -> str:
            if stats is None:
                return f"{name:<22} n/a"
            return (
                f"{name:<22} median {fmt_ms(stats.median)} ms, p90 {fmt_ms(stats.p90)} ms, "
                f"p99 {fmt_ms(stats.p99)} ms (n={stats.count})"
            )

        ach = self.achieved_gflops("inference")
        frac = self.fraction_of_peak("inference")
        lines += [
            f"{'parameters':<22} {self.total_params:,} ({fmt_bytes(self.total_param_bytes)})",
            f"{'forward FLOPs':<22} {self.total_flops:,} ({fmt_count(self.total_flops)})",
            f"{'activation memory':<22} {fmt_bytes(self.activation_bytes)}",
            lat("forward (autograd on)", self.forward),
            lat("inference (no_grad)", self.inference),
            lat("backward", self.backward),
            f"{'achieved (inference)':<22} "
            + ("n/a" if ach is None else f"{ach:.2f} GFLOP/s")
            + (
                ""
                if self.peak is None
                else f" of a measured {self.peak.gflops:.1f} GFLOP/s matmul peak (n={self.peak.n})"
                + ("" if frac is None else f" = {100 * frac:.1f}%")
            ),
        ]
        if self.uncounted:
            lines.append("FLOPs not counted for: " + ", ".join(self.uncounted))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# ------------------------------------------------------------------ profiler


class Profiler:
    """Profile `model` on concrete inputs: `Profiler(model).run(x)` returns a `ProfileReport`."""

    def __init__(self, model: Any) -> None:
        if not callable(model):
            raise TypeError(f"Profiler needs a callable Module, got {type(model).__name__}")
        self.model = model
        self.units: list[tuple[str, Any]] = list(_units(model))

    # -- state that profiling must not change
    def _snapshot(self) -> tuple[list[tuple[Tensor, Any]], list[tuple[Tensor, Tensor | None]], Any]:
        buffers = list(self.model.buffers()) if isinstance(self.model, Module) else []
        params = list(self.model.parameters()) if isinstance(self.model, Module) else []
        return (
            [(b, b.data.copy()) for b in buffers],
            [(p, p.grad) for p in params],
            get_rng_state(),
        )

    @staticmethod
    def _restore(
        snap: tuple[list[tuple[Tensor, Any]], list[tuple[Tensor, Tensor | None]], Any],
    ) -> None:
        buffers, grads, rng = snap
        for b, data in buffers:
            b.data = data
        for p, g in grads:
            p.grad = g
        set_rng_state(rng)

    def _zero_grads(self) -> None:
        if isinstance(self.model, Module):
            self.model.zero_grad(set_to_none=True)

    # -- passes
    def _structure(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[LayerProfile]:
        rows: dict[int, LayerProfile] = {}
        handles = []
        for name, mod in self.units:
            params = _own_parameters(mod)
            rows[id(mod)] = LayerProfile(
                name,
                type(mod).__name__,
                [],
                [],
                sum(p.numel() for p in params),
                sum(int(p.data.nbytes) for p in params),
                0,
                0,
            )

            def hook(m: Any, inputs: tuple[Any, ...], output: Any) -> None:
                row = rows[id(m)]
                if row.calls == 0:
                    row.input_shapes = shapes(inputs)
                    row.output_shapes = shapes(output)
                flops = count_flops(m, inputs, output)
                row.flops = None if flops is None or row.flops is None else row.flops + flops
                row.activation_bytes += nbytes(output)
                row.calls += 1

            handles.append(mod.register_forward_hook(hook))
        try:
            with no_grad():
                self.model(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        return [rows[id(mod)] for _, mod in self.units]

    def _layer_times(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], warmup: int, repeats: int
    ) -> dict[int, list[float]]:
        """Per-unit forward time from a pre-hook timestamp to a post-hook timestamp."""
        starts: dict[int, list[float]] = {}
        totals: dict[int, float] = {}
        samples: dict[int, list[float]] = {id(m): [] for _, m in self.units}
        handles = []

        def pre(m: Any, inputs: tuple[Any, ...]) -> None:
            starts.setdefault(id(m), []).append(time.perf_counter())

        def post(m: Any, inputs: tuple[Any, ...], output: Any) -> None:
            t = time.perf_counter() - starts[id(m)].pop()
            totals[id(m)] = totals.get(id(m), 0.0) + t

        for _, mod in self.units:
            if hasattr(mod, "register_forward_pre_hook"):
                handles.append(mod.register_forward_pre_hook(pre))
                handles.append(mod.register_forward_hook(post))
        try:
            for i in range(warmup + repeats):
                totals.clear()
                self.model(*args, **kwargs)
                if i >= warmup:
                    for key, value in totals.items():
                        samples[key].append(value)
        finally:
            for h in handles:
                h.remove()
        return samples

    def run(
        self,
        *args: Any,
        warmup: int = 2,
        repeats: int = 10,
        backward: bool = True,
        inference: bool = True,
        per_layer: bool = True,
        loss_fn: LossFn | None = None,
        peak: bool | MatmulPeak = True,
        **kwargs: Any,
    ) -> ProfileReport:
        """Profile one call `model(*args, **kwargs)`.

        `peak=True` measures (once per process) the float32 matmul peak; pass a
        `MatmulPeak` to reuse one, or False to skip it. `loss_fn(output)` turns
        the output into the scalar whose backward is timed (default: sum of the
        first output tensor).
        """
        model = self.model
        training = bool(getattr(model, "training", False))
        notes: list[str] = []
        snap = self._snapshot()
        try:
            layers = self._structure(args, kwargs)
            if per_layer and self.units:
                times = self._layer_times(args, kwargs, warmup, repeats)
                for layer, (_, mod) in zip(layers, self.units, strict=True):
                    if times.get(id(mod)):
                        layer.forward = LatencyStats(tuple(times[id(mod)]))
            fwd = LatencyStats(
                tuple(
                    time_with_setup(
                        self._zero_grads,
                        lambda _: model(*args, **kwargs),
                        warmup=warmup,
                        repeats=repeats,
                    )
                )
            )
            inf: LatencyStats | None = None
            if inference:
                with no_grad():
                    inf = LatencyStats(
                        tuple(
                            time_with_setup(
                                lambda: None,
                                lambda _: model(*args, **kwargs),
                                warmup=warmup,
                                repeats=repeats,
                            )
                        )
                    )
            bwd: LatencyStats | None = None
            if backward:
                bwd = self._backward(args, kwargs, warmup, repeats, loss_fn or default_loss, notes)
        finally:
            self._restore(snap)
        idle = [layer.name for layer in layers if layer.calls == 0]
        if idle:
            notes.append(f"never called in this forward (0 FLOPs, no time): {', '.join(idle)}")
        params_all = list(model.parameters()) if isinstance(model, Module) else []
        total_params = sum(p.numel() for p in params_all)
        if sum(layer.params for layer in layers) > total_params:
            notes.append("some parameters are shared between layers: totals count them once")
        mp = peak if isinstance(peak, MatmulPeak) else (measure_matmul_peak() if peak else None)
        return ProfileReport(
            model=type(model).__name__,
            training_mode=training,
            layers=layers,
            total_params=total_params,
            total_param_bytes=sum(int(p.data.nbytes) for p in params_all),
            activation_bytes=sum(layer.activation_bytes for layer in layers),
            forward=fwd,
            inference=inf,
            backward=bwd,
            peak=mp,
            settings={
                "warmup": warmup,
                "repeats": repeats,
                "input_shapes": [list(s) for s in shapes(args)],
            },
            notes=notes,
        )

    def _backward(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        warmup: int,
        repeats: int,
        loss_fn: LossFn,
        notes: list[str],
    ) -> LatencyStats | None:
        """Time `loss.backward()` alone; the forward that builds its graph runs untimed first."""
        model = self.model

        def setup() -> Tensor:
            self._zero_grads()
            return loss_fn(model(*args, **kwargs))

        probe = setup()
        if not probe.requires_grad:
            notes.append("backward not measured: the loss does not require grad")
            return None
        del probe
        samples = time_with_setup(
            setup, lambda loss: loss.backward(), warmup=warmup, repeats=repeats
        )
        return LatencyStats(tuple(samples))


def profile(model: Any, *args: Any, **options: Any) -> ProfileReport:
    """`Profiler(model).run(*args, **options)` in one call."""
    return Profiler(model).run(*args, **options)


def flops_of(model: Any, *args: Any, **kwargs: Any) -> int:
    """Total forward FLOPs of `model(*args, **kwargs)` (counted layers only), no timing."""
    prof = Profiler(model)
    snap = prof._snapshot()
    try:
        layers = prof._structure(args, kwargs)
    finally:
        prof._restore(snap)
    return sum(layer.flops for layer in layers if layer.flops is not None)
