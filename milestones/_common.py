"""What every milestone script shares: arguments, data root, timing, results files.

A milestone is a script `milestones/mYYYY_<name>.py` with a `main(argv)` that
returns an exit code. It prints its story and history, measures its result,
and writes the measured numbers to a JSON results file:
`milestones/results/<id>.json` for full runs (committed, linked from the
README) and `milestones/results/quick/<id>.json` for quick runs (ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tt_dataloader import MNIST, Dataset, Subset
from tt_dataloader.fixtures import write_mnist

HERE = Path(__file__).resolve().parent


def parser(milestone_id: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"milestone {milestone_id}", description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast run on a few hundred samples (or generated data) for CI",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data root (default: $TINYTORCH_DATA, else the per-user cache)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where to write the JSON results (default: milestones/results/)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to save trained weights (default: runs/<id>/; runs/<id>/quick/ if --quick)",
    )
    p.add_argument("--seed", type=int, default=0)
    return p


def data_root(arg: Path | None) -> Path | None:
    """The data root from --data or TINYTORCH_DATA; None means 'use the default cache'."""
    if arg is not None:
        return arg
    env = os.environ.get("TINYTORCH_DATA")
    return Path(env) if env else None


def mnist_splits(
    args: argparse.Namespace, quick: tuple[int, int], generated: tuple[int, int], prefix: str
) -> tuple[Dataset[Any], Dataset[Any], str]:
    """(train, test, where from): real MNIST when found (all of it, or the first
    `quick` (train, test) samples with --quick); else, for --quick only,
    `generated` seven-segment digits written in MNIST's own format."""
    root = data_root(args.data)
    found = MNIST.locate(root)
    if found is not None:
        train, test = MNIST(root, train=True), MNIST(root, train=False)
        source = f"MNIST from {found}"
        if args.quick:
            n_train, n_test = quick
            return (
                Subset(train, range(n_train)),
                Subset(test, range(n_test)),
                f"{source} ({n_train}/{n_test})",
            )
        return train, test, source
    if not args.quick:
        where = root if root is not None else "the default cache (~/.cache/tinytorch)"
        raise FileNotFoundError(
            f"MNIST not found under {where}. Pass --data DIR (a folder with mnist/*.gz), set "
            "TINYTORCH_DATA, or download it: `tinytorch data download mnist`."
        )
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    write_mnist(tmp, train_size=generated[0], test_size=generated[1], seed=args.seed)
    return MNIST(tmp), MNIST(tmp, train=False), "generated seven-segment digits (no MNIST found)"


def weights_dir(milestone_id: str, arg: Path | None, quick: bool) -> Path:
    """`--out`, else runs/<id>/ in the cwd; a quick run's weights go to runs/<id>/quick/
    so that they never replace those of a full run (which milestone 2024 and
    `tinytorch serve` read)."""
    d = arg if arg is not None else Path.cwd() / "runs" / milestone_id / ("quick" if quick else "")
    d.mkdir(parents=True, exist_ok=True)
    return d


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def write_results(
    milestone_id: str, quick: bool, results: dict[str, Any], path: Path | None = None
) -> Path:
    """Write measured `results` (plus when/where) as JSON and return the path."""
    if path is None:
        base = HERE / "results" / ("quick" if quick else "")
        path = base / f"{milestone_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "milestone": milestone_id,
        "quick": quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **results,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    print(f"results written to {path}")
    return path


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """`with timed() as t: ...` then `t['seconds']`."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def banner(title: str, story: str) -> None:
    print("=" * 72)
    print(title)
    print("=" * 72)
    print(story.strip())
    print()
