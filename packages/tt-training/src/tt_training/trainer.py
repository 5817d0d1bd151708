"""`Trainer` and `fit`: the training loop, written once.

One epoch is: for each (inputs, targets) batch, forward, loss, backward,
and every `accumulate_steps` batches clip, step and zero the gradients. Then
the validation data runs under `no_grad` with the model in `eval()` mode, the
scheduler steps (per epoch or per optimizer step), and the epoch's means go
into a `History`. Everything that decides what happens next (weights,
optimizer and scheduler state, epoch, random generators) can be checkpointed,
and a resumed run continues bit for bit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]
from tt_autograd import no_grad
from tt_tensor import Tensor
from tt_tensor import generator as global_generator

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .clip import clip_grad_norm_
from .history import History
from .metrics import Metric, RunningMeans
from .protocols import Model, OptimizerLike, SchedulerLike

LossFn = Callable[[Any, Any], Tensor]
Callback = Callable[["Trainer", dict[str, Any]], None]


class Trainer:
    """Train `model` with `loss_fn` and `optimizer`; `fit(train_data, epochs)` returns a History.

    Args:
        model: anything with `parameters()`, `train()`, `eval()`, `state_dict()`,
            `load_state_dict()` and `__call__` (see `protocols.Model`).
        loss_fn: `(outputs, targets) -> scalar Tensor`, a mean over the batch.
        optimizer: `zero_grad()`, `step()`, `state_dict()`, `load_state_dict()`.
        scheduler: stepped after every epoch (`scheduler_step="epoch"`) or after
            every optimizer step (`"batch"`, e.g. OneCycleLR).
        max_grad_norm: clip the global gradient norm to this before each step.
        accumulate_steps: add up the gradients of k batches before stepping; each
            batch's loss is scaled by 1/k, so k batches of n give the update of one
            batch of k·n (for a mean loss).
        metrics: extra `name -> fn(outputs, targets) -> float` batch metrics;
            `accuracy` is added by itself when targets are integer class indices.
        shuffle: visit the batches of a sequence (e.g. a list) in a new random
            order each epoch, drawn from `generator`. A DataLoader shuffles
            itself: pass its generator here so checkpoints include it.
        generator: the data-order generator (or a seed) the trainer owns and
            checkpoints; by default (with `shuffle`) its seed is drawn from the
            global TinyTorch generator, so `manual_seed` makes runs repeatable.
        progress: show a tqdm bar with the running loss.
        callbacks: called as `fn(trainer, epoch_metrics)` after each epoch; set
            `trainer.stop_training = True` to stop early.
    """

    def __init__(
        self,
        model: Model,
        loss_fn: LossFn,
        optimizer: OptimizerLike,
        *,
        scheduler: SchedulerLike | None = None,
        scheduler_step: Literal["epoch", "batch"] = "epoch",
        max_grad_norm: float | None = None,
        accumulate_steps: int = 1,
        metrics: Mapping[str, Metric] | None = None,
        shuffle: bool = False,
        generator: np.random.Generator | int | None = None,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if scheduler_step not in ("epoch", "batch"):
            raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
        if isinstance(accumulate_steps, bool) or not isinstance(accumulate_steps, int):
            raise TypeError(f"accumulate_steps must be an int, got {accumulate_steps!r}")
        if accumulate_steps < 1:
            raise ValueError(f"accumulate_steps must be >= 1, got {accumulate_steps}")
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {max_grad_norm!r}")
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scheduler_step = scheduler_step
        self.max_grad_norm = max_grad_norm
        self.accumulate_steps = accumulate_steps
        self.metrics = dict(metrics or {})
        self.shuffle = shuffle
        if generator is None:  # follow manual_seed, but only draw when the order is ours
            generator = int(global_generator().integers(2**63)) if shuffle else 0
        self.generator = (
            generator
            if isinstance(generator, np.random.Generator)
            else np.random.default_rng(generator)
        )
        self.progress = progress
        self.callbacks = list(callbacks)
        self.history = History()
        self.epoch = 0  # completed epochs
        self.global_step = 0  # optimizer steps taken
        self.last_grad_norm: float | None = None
        self.stop_training = False

    # ------------------------------------------------------------ the loop
    def fit(
        self,
        train_data: Iterable[Any],
        epochs: int = 1,
        *,
        val_data: Iterable[Any] | None = None,
        checkpoint_path: str | os.PathLike[str] | None = None,
    ) -> History:
        """Train for `epochs` more epochs (after any resumed ones); returns the whole History.

        With `checkpoint_path`, a checkpoint is written (atomically) after every epoch.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        self.stop_training = False
        for _ in range(epochs):
            start = time.perf_counter()
            lr = self._lr()
            batches, bar = self._bar(train_data, f"epoch {self.epoch + 1}", leave=True)
            try:
                row: dict[str, Any] = {"epoch": self.epoch + 1}
                row.update({f"train_{k}": v for k, v in self._train(batches, bar).items()})
                if val_data is not None:
                    row.update({f"val_{k}": v for k, v in self.evaluate(val_data).items()})
                summary = {k: f"{v:.4g}" for k, v in row.items() if k != "epoch"}
                bar.set_postfix(summary, refresh=False)  # close() draws the final line
            finally:
                bar.close()
            if self.scheduler is not None and self.scheduler_step == "epoch":
                self.scheduler.step()
            row["lr"] = lr
            row["time"] = time.perf_counter() - start
            self.epoch += 1
            self.history.append(row)
            for callback in self.callbacks:
                callback(self, row)
            if checkpoint_path is not None:
                self.save_checkpoint(checkpoint_path)
            if self.stop_training:
                break
        return self.history

    def train_epoch(self, train_data: Iterable[Any]) -> dict[str, float]:
        """One pass over `train_data` (no history entry, no epoch scheduler step)."""
        batches, bar = self._bar(train_data, "train", leave=False)
        try:
            return self._train(batches, bar)
        finally:
            bar.close()

    def evaluate(self, data: Iterable[Any]) -> dict[str, float]:
        """Mean loss and metrics over `data`, in eval mode and without recording a graph."""
        self.model.eval()
        means = RunningMeans(self.metrics)
        batches, bar = self._bar(data, "eval", leave=False, shuffle=False)
        try:
            with no_grad():
                for batch in batches:
                    inputs, targets = _unpack(batch)
                    outputs = self.model(inputs)
                    loss = _scalar(self.loss_fn(outputs, targets))
                    means.update(loss, outputs, targets)
                    bar.update()
        finally:
            bar.close()
            self.model.train()
        if not means.counts:
            raise ValueError("evaluation data yielded no batches")
        return means.result()

    def _train(self, batches: Iterable[Any], bar: Any) -> dict[str, float]:
        self.model.train()
        k = self.accumulate_steps
        means = RunningMeans(self.metrics)
        pending = 0
        self.optimizer.zero_grad()
        for batch in batches:
            inputs, targets = _unpack(batch)
            outputs = self.model(inputs)
            loss = self.loss_fn(outputs, targets)
            value = _scalar(loss)
            (loss * (1.0 / k) if k > 1 else loss).backward()
            means.update(value, outputs, targets)
            pending += 1
            if pending == k:
                self._step(pending)
                pending = 0
            bar.set_postfix(loss=f"{means.mean('loss'):.4f}", refresh=False)
            bar.update()
        if pending:  # a last, smaller group: rescale to its own mean, then step
            self._step(pending)
        if not means.counts:
            raise ValueError("training data yielded no batches")
        return means.result()

    def _step(self, accumulated: int) -> None:
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        if accumulated < self.accumulate_steps:
            scale = self.accumulate_steps / accumulated
            for p in params:
                if p.grad is not None:
                    p.grad.data *= scale
        if self.max_grad_norm is not None:
            self.last_grad_norm = float(clip_grad_norm_(params, self.max_grad_norm).item())
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_step == "batch":
            self.scheduler.step()

    # ------------------------------------------------------------ helpers
    def _lr(self) -> float | None:
        groups = self.optimizer.param_groups
        return float(groups[0]["lr"]) if groups and "lr" in groups[0] else None

    def _bar(
        self, data: Iterable[Any], desc: str, leave: bool, shuffle: bool = True
    ) -> tuple[Iterable[Any], Any]:
        """The batches in this epoch's order, and a progress bar the loop advances."""
        batches: Iterable[Any] = data
        if self.shuffle and shuffle:
            if not isinstance(data, Sequence):
                raise TypeError(
                    f"shuffle=True needs a sequence of batches (e.g. a list), got "
                    f"{type(data).__name__}; a DataLoader shuffles itself: give it shuffle=True "
                    "and pass its generator to the Trainer"
                )
            order = self.generator.permutation(len(data))
            batches = [data[int(i)] for i in order]
        total = len(batches) if isinstance(batches, Sized) else None
        bar = tqdm(
            desc=desc,
            total=total,
            leave=leave,
            disable=not self.progress,
            unit="batch",
            dynamic_ncols=True,
        )
        return batches, bar

    # ------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Everything needed to resume: weights, optimizer, scheduler, epoch, history, RNGs."""
        return save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            self.epoch,
            self.history,
            generator=self.generator,
            extra={"global_step": self.global_step},
        )

    def load_checkpoint(self, path: str | os.PathLike[str]) -> Checkpoint:
        """Restore a `save_checkpoint` file; the next `fit` continues where it stopped."""
        ckpt = load_checkpoint(
            path, self.model, self.optimizer, self.scheduler, generator=self.generator
        )
        self.epoch = ckpt.epoch
        self.history = ckpt.history
        self.global_step = int(ckpt.extra.get("global_step", 0))
        return ckpt


def fit(
    model: Model,
    train_data: Iterable[Any],
    loss_fn: LossFn,
    optimizer: OptimizerLike,
    epochs: int = 1,
    *,
    val_data: Iterable[Any] | None = None,
    **trainer_options: Any,
) -> History:
    """`Trainer(model, loss_fn, optimizer, **trainer_options).fit(...)` in one call."""
    trainer = Trainer(model, loss_fn, optimizer, **trainer_options)
    return trainer.fit(train_data, epochs, val_data=val_data)


def _unpack(batch: Any) -> tuple[Any, Any]:
    if not isinstance(batch, Sequence) or isinstance(batch, str) or len(batch) != 2:
        size = f" of length {len(batch)}" if isinstance(batch, Sequence) else ""
        raise TypeError(
            f"each batch must be an (inputs, targets) pair, got {type(batch).__name__}{size}"
        )
    inputs, targets = batch
    if isinstance(inputs, np.ndarray):
        inputs = Tensor(inputs)
    if isinstance(targets, np.ndarray):
        targets = Tensor(targets)
    return inputs, targets


def _scalar(loss: Any) -> float:
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a scalar Tensor (a mean over the batch), got {shape}"
        )
    return float(loss.data.reshape(()))
