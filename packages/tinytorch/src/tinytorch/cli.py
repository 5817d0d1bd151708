"""The `tinytorch` command: run milestones, check the set-up, fetch data.

tinytorch milestones list
tinytorch milestones run 1986 --quick --data ../shared/data
tinytorch doctor
tinytorch data download mnist
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata as md
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MEMBERS = [
    "tinytorch",
    "tt-tensor",
    "tt-activations",
    "tt-layers",
    "tt-losses",
    "tt-autograd",
    "tt-optimizers",
    "tt-training",
    "tt-dataloader",
    "tt-spatial",
    "tt-tokenization",
    "tt-embeddings",
    "tt-attention",
    "tt-transformers",
    "tt-profiling",
    "tt-quantization",
    "tt-compression",
    "tt-memoization",
    "tt-acceleration",
    "tt-benchmarking",
    "tt-capstone",
]


@dataclass(frozen=True)
class Milestone:
    id: str
    path: Path
    title: str


class CLIError(Exception):
    """A user mistake: printed as one short line, exit status 2."""


def find_milestones_dir(explicit: Path | None) -> Path:
    """--milestones-dir, else $TINYTORCH_MILESTONES, else `milestones/` here or above."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    elif os.environ.get("TINYTORCH_MILESTONES"):
        candidates.append(Path(os.environ["TINYTORCH_MILESTONES"]))
    else:
        here = Path.cwd().resolve()
        candidates += [p / "milestones" for p in (here, *here.parents)]
    for c in candidates:
        if c.is_dir() and any(c.glob("m[0-9][0-9][0-9][0-9]_*.py")):
            return c
    raise CLIError(
        "no milestones/ folder found: the milestone scripts come with the TinyTorch "
        "repository; run this from a checkout or pass --milestones-dir DIR"
    )


def discover(directory: Path) -> list[Milestone]:
    found = []
    for path in sorted(directory.glob("m[0-9][0-9][0-9][0-9]_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        title = doc.strip().splitlines()[0] if doc.strip() else path.stem
        found.append(Milestone(path.stem[1:], path, title))
    return found


def select(milestones: list[Milestone], wanted: str) -> list[Milestone]:
    if wanted == "all":
        return milestones
    chosen = [m for m in milestones if m.id == wanted or m.id.startswith(wanted)]
    if not chosen:
        ids = ", ".join(m.id for m in milestones)
        raise CLIError(f"unknown milestone {wanted!r}; choose one of: all, {ids}")
    return chosen


def cmd_list(args: argparse.Namespace) -> int:
    for m in discover(find_milestones_dir(args.milestones_dir)):
        print(f"{m.id:28s} {m.title}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    chosen = select(discover(find_milestones_dir(args.milestones_dir)), args.id)
    extra: list[str] = []
    if args.quick:
        extra.append("--quick")
    if args.data is not None:
        if not args.data.is_dir():
            raise CLIError(f"--data {args.data}: no such directory")
        extra += ["--data", str(args.data)]
    summary = []
    for m in chosen:
        print(f"\n>>> milestone {m.id}: {m.title}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(m.path), *extra])
        summary.append((m.id, code, time.perf_counter() - start))
    print("\nmilestone                     result   seconds")
    for mid, code, secs in summary:
        print(f"{mid:28s}  {'ok' if code == 0 else f'FAILED ({code})':8s} {secs:7.1f}")
    return 0 if all(code == 0 for _, code, _ in summary) else 1


def _blas() -> str:
    try:
        import numpy as np

        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception as err:  # numpy missing or an old show_config
        return f"unknown ({err})"


def data_status(root: Path) -> list[tuple[str, bool, str]]:
    """What is found under a data root, per data set."""
    mnist = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    cifar = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    return [
        ("mnist", all((root / "mnist" / f).is_file() for f in mnist), str(root / "mnist")),
        (
            "cifar10",
            all((root / "cifar-10-batches-py" / f).is_file() for f in cifar),
            str(root / "cifar-10-batches-py"),
        ),
        (
            "shakespeare",
            (root / "tinyshakespeare" / "input.txt").is_file(),
            str(root / "tinyshakespeare" / "input.txt"),
        ),
    ]


def default_data_root() -> Path:
    env = os.environ.get("TINYTORCH_DATA")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tinytorch"


def cmd_doctor(args: argparse.Namespace) -> int:
    print(f"python      {platform.python_version()} ({sys.executable})")
    print(f"platform    {platform.platform()}, {os.cpu_count()} cores")
    try:
        print(f"numpy       {md.version('numpy')}, BLAS: {_blas()}")
    except md.PackageNotFoundError:
        print("numpy       MISSING: pip install numpy")
    missing = []
    for name in MEMBERS:
        try:
            print(f"{name:16s}{md.version(name)}")
        except md.PackageNotFoundError:
            missing.append(name)
    if missing:
        print(f"not installed: {', '.join(missing)} (pip install {' '.join(missing)})")
    for opt, why in (
        ("torch", "parity tests and PyTorch comparisons"),
        ("matplotlib", "training-curve plots: pip install tinytorch[plot]"),
    ):
        try:
            print(f"{opt:16s}{md.version(opt)} (optional: {why})")
        except md.PackageNotFoundError:
            print(f"{opt:16s}not installed (optional: {why})")
    root = args.data or default_data_root()
    print(f"\ndata root   {root} (--data DIR, or TINYTORCH_DATA)")
    ok = True
    for name, found, where in data_status(root):
        print(f"  {name:12s} {'found' if found else 'missing':8s} {where}")
        if not found:
            ok = False
            print(f"  {'':12s} get it: tinytorch data download {name} --root {root}")
    if not ok:
        print("milestones fall back to generated data in --quick mode when data is missing")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data import download

    root = args.root or default_data_root()
    path = download(args.name, root)
    print(f"{args.name}: ready in {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from tt_capstone.serve import serve

    if args.port < 0 or args.port > 65535:
        raise CLIError(f"--port {args.port}: must be between 0 and 65535")
    try:
        serve(args.host, args.port, args.model, args.data, quiet=args.quiet)
    except (FileNotFoundError, ValueError, OSError) as err:
        raise CLIError(str(err)) from None
    except KeyboardInterrupt:
        print("stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinytorch",
        description="TinyTorch: a deep learning framework built from scratch on NumPy. "
        "Run the historical milestones, check your set-up, or fetch data sets.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    ms = sub.add_parser("milestones", help="list or run the milestones (1957 perceptron ... )")
    ms.add_argument(
        "--milestones-dir",
        type=Path,
        default=None,
        help="folder holding the milestone scripts (default: ./milestones)",
    )
    ms_sub = ms.add_subparsers(dest="action", metavar="ACTION")
    ms_sub.required = True
    ls = ms_sub.add_parser("list", help="show every milestone with its id")
    ls.set_defaults(fn=cmd_list)
    run = ms_sub.add_parser("run", help="run one milestone (by id or year), or all")
    run.add_argument("id", help="a milestone id or its year, e.g. 1986, or 'all'")
    run.add_argument(
        "--quick",
        action="store_true",
        help="a small, fast run (a few hundred samples or generated data)",
    )
    run.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data root holding mnist/, cifar-10-batches-py/, tinyshakespeare/",
    )
    run.set_defaults(fn=cmd_run)

    doc = sub.add_parser("doctor", help="show versions, BLAS, and which data sets are present")
    doc.add_argument("--data", type=Path, default=None, help="data root to inspect")
    doc.set_defaults(fn=cmd_doctor)

    srv = sub.add_parser(
        "serve", help="start the draw-a-digit web app, served by the optimized MNIST model"
    )
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: local)")
    srv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    srv.add_argument(
        "--model", type=Path, default=None, help="a deployed model folder or MLP weights file"
    )
    srv.add_argument("--data", type=Path, default=None, help="data root holding mnist/")
    srv.add_argument("--quiet", action="store_true", help="do not log every request")
    srv.set_defaults(fn=cmd_serve)

    data = sub.add_parser("data", help="fetch the official data sets (needs internet)")
    data_sub = data.add_subparsers(dest="action", metavar="ACTION")
    data_sub.required = True
    dl = data_sub.add_parser("download", help="download and verify one data set")
    dl.add_argument("name", choices=["mnist", "cifar10", "shakespeare"])
    dl.add_argument(
        "--root",
        type=Path,
        default=None,
        help="where to put it (default: $TINYTORCH_DATA or ~/.cache/tinytorch)",
    )
    dl.set_defaults(fn=cmd_download)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.fn(args)
    except CLIError as err:
        print(f"tinytorch: error: {err}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
