"""Checkpoints: everything needed to resume training, in one safetensors file.

Tensors (the model's state dict and the optimizer's buffers) are stored as
safetensors; everything else (optimizer hyper-parameters and step counts,
scheduler state, epoch, history, random generator states) is JSON in the
file's metadata. No pickle anywhere, so loading a checkpoint can never run
code, and the file is written to a temporary name and renamed into place, so
a crash mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tt_tensor import (
    Tensor,
    get_rng_state,
    load_metadata,
    load_tensors,
    save_tensors,
    set_rng_state,
)

from .history import History
from .protocols import Model, OptimizerLike, SchedulerLike

FORMAT = "tinytorch.checkpoint"
VERSION = 1
MODEL = "model/"
OPTIM = "optimizer/state/"


@dataclass
class Checkpoint:
    """What `load_checkpoint` read besides the objects it restored in place."""

    path: Path
    epoch: int
    history: History
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Model,
    optimizer: OptimizerLike | None = None,
    scheduler: SchedulerLike | None = None,
    epoch: int = 0,
    history: History | None = None,
    *,
    generator: np.random.Generator | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write model, optimizer, scheduler, epoch, history and RNG states to `path`, atomically.

    `generator` is a data-order generator the caller owns (a shuffling
    DataLoader's, a Trainer's); the global TinyTorch generator
    (`tt_tensor.get_rng_state`) is always saved.
    """
    tensors: dict[str, Tensor | np.ndarray[Any, Any]] = {}
    for name, value in model.state_dict().items():
        tensors[MODEL + name] = _array(value, f"model state {name!r}")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "rng": get_rng_state(),
        "generator": None if generator is None else generator.bit_generator.state,
        "history": (history or History()).to_dict(),
        "extra": dict(extra or {}),
        "optimizer": None,
        "scheduler": None,
    }
    if optimizer is not None:
        sd = optimizer.state_dict()
        plain: dict[str, dict[str, Any]] = {}
        for idx, entries in sd["state"].items():
            plain[str(idx)] = {}
            for key, value in entries.items():
                if isinstance(value, Tensor | np.ndarray):
                    tensors[f"{OPTIM}{idx}/{key}"] = value
                else:
                    plain[str(idx)][key] = value
        meta["optimizer"] = {"param_groups": sd["param_groups"], "state": plain}
    if scheduler is not None:
        meta["scheduler"] = scheduler.state_dict()
    for key, value in meta.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"checkpoint: the {key} state is not JSON-serialisable ({err}); only tensors "
                "(model and optimizer state) and plain JSON data can be saved, never pickle"
            ) from None
    target = Path(path)
    save_tensors(tensors, target, metadata=meta)
    return target


def load_checkpoint(
    path: str | os.PathLike[str],
    model: Model,
    optimizer: OptimizerLike | None = None,
    scheduler: SchedulerLike | None = None,
    *,
    generator: np.random.Generator | None = None,
    restore_rng: bool = True,
) -> Checkpoint:
    """Restore what `save_checkpoint` wrote into already-built objects, in place.

    Build the model, optimizer and scheduler as for a fresh run, then load:
    training continues exactly where it stopped, including the global random
    generator (unless `restore_rng=False`) and `generator`'s position.
    """
    target = Path(path)
    tensors = load_tensors(target)
    meta = load_metadata(target)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{target} is a safetensors file but not a TinyTorch checkpoint "
            f"(format {meta.get('format')!r}); for bare weights use model.load_state_dict"
        )
    if meta.get("version") != VERSION:
        raise ValueError(f"{target}: checkpoint version {meta.get('version')!r} is not supported")
    # check everything asked for is there before changing anything
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("generator", generator)):
        if obj is not None and meta.get(name) is None:
            raise ValueError(f"{target} holds no {name} state to load")
    if generator is not None:
        kind = type(generator.bit_generator).__name__
        if meta["generator"].get("bit_generator") != kind:
            raise ValueError(
                f"{target} saved a {meta['generator'].get('bit_generator')} generator, "
                f"cannot restore it into a {kind} one"
            )

    model.load_state_dict({k[len(MODEL) :]: v for k, v in tensors.items() if k.startswith(MODEL)})
    if optimizer is not None:
        saved = meta["optimizer"]
        state: dict[int, dict[str, Any]] = {int(i): dict(e) for i, e in saved["state"].items()}
        for key, value in tensors.items():
            if key.startswith(OPTIM):
                idx, name = key[len(OPTIM) :].split("/", 1)
                state.setdefault(int(idx), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    if scheduler is not None:
        scheduler.load_state_dict(meta["scheduler"])
    if generator is not None:
        generator.bit_generator.state = meta["generator"]
    if restore_rng:
        set_rng_state(meta["rng"])
    return Checkpoint(
        path=target,
        epoch=int(meta.get("epoch", 0)),
        history=History(meta.get("history") or {}),
        extra=dict(meta.get("extra") or {}),
    )


def _array(value: Any, what: str) -> Tensor | np.ndarray[Any, Any]:
    if isinstance(value, Tensor | np.ndarray):
        return value
    raise TypeError(f"{what} is a {type(value).__name__}, expected a Tensor or array")
