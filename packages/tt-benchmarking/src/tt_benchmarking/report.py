"""JSON and Markdown reports of benchmark results, comparisons and the environment.

Values that were not measured are written as `null` in JSON and `n/a` in
Markdown: a report never fills a gap with an estimate.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .environment import capture_environment
from .harness import BenchmarkResult, Comparison

MISSING = "n/a"


def fmt_seconds(value: float | None) -> str:
    """A duration in the unit that reads best (s, ms or µs); None becomes n/a."""
    if value is None or not math.isfinite(value):
        return MISSING
    if value >= 1.0:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3f} ms"
    return f"{value * 1e6:.1f} µs"


def fmt_number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{digits}g}"


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write through a temporary file in the same directory and `os.replace` it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass
class BenchmarkReport:
    """A titled collection of results and comparisons, with the environment they ran in."""

    title: str
    results: list[BenchmarkResult] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=capture_environment)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, result: BenchmarkResult) -> BenchmarkResult:
        self.results.append(result)
        return result

    def add_comparison(self, comparison: Comparison) -> Comparison:
        self.comparisons.append(comparison)
        return comparison

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "environment": self.environment,
            "results": [r.to_dict() for r in self.results],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "notes": list(self.notes),
            "extra": self.extra,
        }

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_markdown(self) -> str:
        env = self.environment
        lines = [f"# {self.title}", ""]
        lines += ["## Environment", ""]
        packages = env.get("packages") or {}
        blas = env.get("blas") or {}
        thread_env = env.get("thread_env") or {}
        threads = ", ".join(f"{k}={v}" for k, v in thread_env.items() if v is not None)
        pools = env.get("threadpools")
        pool_text = (
            ", ".join(f"{p.get('internal_api')}: {p.get('num_threads')} threads" for p in pools)
            if pools
            else MISSING + " (threadpoolctl not installed)"
        )
        facts = [
            ("date (UTC)", env.get("timestamp_utc")),
            ("CPU", env.get("cpu_model")),
            ("logical / usable cores", f"{env.get('logical_cores')} / {env.get('usable_cores')}"),
            ("load average (1, 5, 15 min)", env.get("load_average")),
            ("Python", env.get("python")),
            ("NumPy", packages.get("numpy")),
            ("BLAS", " ".join(str(blas.get(k)) for k in ("name", "version") if blas.get(k))),
            ("BLAS thread pools", pool_text),
            ("thread variables", threads or "none set"),
            ("platform", env.get("platform")),
        ]
        lines += ["| | |", "|---|---|"]
        lines += [f"| {k} | {MISSING if v in (None, '') else v} |" for k, v in facts]
        tt = {k: v for k, v in packages.items() if k.startswith("tt-") or k == "tinytorch"}
        if tt:
            lines += ["", "Packages: " + ", ".join(f"{k} {v}" for k, v in tt.items())]
        if self.results:
            ci_pct = f"{self.results[0].confidence:.0%}"
            lines += [
                "",
                "## Results",
                "",
                "| benchmark | n | median | IQR | min | mean ± std | p99 | "
                f"{ci_pct} CI of median |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for r in self.results:
                lines.append(
                    f"| {r.name} | {r.n} | {fmt_seconds(r.median)} | {fmt_seconds(r.iqr)} | "
                    f"{fmt_seconds(r.min)} | {fmt_seconds(r.mean)} ± {fmt_seconds(r.std)} | "
                    f"{fmt_seconds(r.latency.p99)} | "
                    f"[{fmt_seconds(r.ci_low)}, {fmt_seconds(r.ci_high)}] |"
                )
        if self.comparisons:
            lines += [
                "",
                "## Comparisons",
                "",
                "speedup = median(baseline) / median(candidate); "
                "p from a two-sided Mann–Whitney U test.",
                "",
                "| baseline | candidate | speedup | CI | U | p | verdict |",
                "|---|---|---:|---:|---:|---:|---|",
            ]
            for c in self.comparisons:
                lo, hi = c.speedup_ci
                lines.append(
                    f"| {c.baseline.name} | {c.candidate.name} | {fmt_number(c.speedup)}× | "
                    f"[{fmt_number(lo)}, {fmt_number(hi)}] | {c.u:g} | "
                    f"{fmt_number(c.p_value)} | {c.verdict} |"
                )
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def save(self, json_path: str | Path | None = None, md_path: str | Path | None = None) -> None:
        """Write the JSON and/or Markdown report atomically."""
        if json_path is not None:
            atomic_write_text(json_path, self.to_json() + "\n")
        if md_path is not None:
            atomic_write_text(md_path, self.to_markdown())
