"""Runs that survive a kill exactly: when the last state is saved, what a resumed run keeps, when a
run has nothing left to resume.

- ``checkpoints/last.ckpt`` is written between every two epochs (:class:`LastCheckpoint`),
  whatever the monitored value did; ``best.ckpt`` is kept apart, for the best monitored value.
- The draws of epoch ``e`` (shuffle, augmentation, dropout) depend only on ``(seed, e)``
  (:class:`~mir101.tasks.runner.EpochSeed` and the samplers), so an epoch redone after a kill is
  the epoch the uninterrupted run did: the resumed run ends with the same weights and metrics.
- The CSV log keeps the rows of the epochs the checkpoint holds and appends the rest; Lightning's
  own logger would delete the file.

Book page: ``book/intro.md`` (run folders).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

__all__ = ["LastCheckpoint", "ResumableCSVLogger", "finished_reason"]


class LastCheckpoint(Callback):
    """``last.ckpt``: the state between two epochs, and at the end of training.

    It is written as each epoch after the first starts (``on_train_epoch_start``): the previous
    epoch is complete (validation, early stopping and schedulers included) and none of this one
    has run, so a resumed run starts the epoch exactly as the uninterrupted run did. Lightning's
    progress counters of the epoch in the saved state still count the previous epoch's batches;
    they are zeroed (:meth:`on_save_checkpoint`) so that Lightning restarts the epoch from its first
    batch instead of taking it for finished. The file is replaced atomically: a kill during the
    write leaves the previous one. Its state says whether training ended (:func:`finished_reason`).
    """

    def __init__(self, dirpath: Path):
        self.path = Path(dirpath) / "last.ckpt"
        self.finished = False
        self._saving = False

    @property
    def state_key(self) -> str:
        return "LastCheckpoint"

    def state_dict(self) -> dict[str, Any]:
        return {"finished": self.finished}

    def _save(self, trainer: L.Trainer) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._saving = True
        try:
            trainer.save_checkpoint(tmp)
        finally:
            self._saving = False
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        trainer.strategy.barrier("mir101-last-checkpoint")

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if not self._saving:  # a save of another callback (best.ckpt): Lightning's state as is
            return
        fit = checkpoint.get("loops", {}).get("fit_loop", {})
        for key, state in fit.items():  # no batch of the next epoch has run
            if key.startswith("epoch_loop.") and key.endswith("progress"):
                _zero_current(state, also_total=key == "epoch_loop.val_loop.batch_progress")
        # on restart Lightning adds one to the count of batches that stepped (it assumes the save
        # happened before the count was updated), which shifts every later logged step by one
        stepped = fit.get("epoch_loop.state_dict", {})
        if "_batches_that_stepped" in stepped:
            stepped["_batches_that_stepped"] -= 1

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self._save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.finished = True
        self._save(trainer)


def _zero_current(state: dict[str, Any], also_total: bool = False) -> None:
    """Zero the per-epoch counters (``current``) of a Lightning progress state, recursively."""
    for key, value in state.items():
        if isinstance(value, dict):
            if key == "current" or (also_total and key == "total"):
                for k in value:
                    value[k] = 0
            else:
                _zero_current(value, also_total)
        elif key == "is_last_batch":
            state[key] = False


class _KeepingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` keeps its rows of the epochs
    ``<= keep_epoch`` (those the resumed checkpoint holds) instead of being deleted."""

    def __init__(self, log_dir: str, keep_epoch: int | None = None):
        self.keep_epoch = keep_epoch  # read by _check_log_dir_exists, which __init__ calls
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = self.metrics_file_path
        if self.keep_epoch is None or not os.path.isfile(path):
            super()._check_log_dir_exists()
            return
        with open(path, newline="") as fid:
            reader = csv.DictReader(fid)
            fields = list(reader.fieldnames or [])
            rows = [
                r for r in reader if r.get("epoch") not in (None, "") and int(r["epoch"]) <= self.keep_epoch
            ]
        with open(path, "w", newline="") as fid:
            writer = csv.DictWriter(fid, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        self.metrics_keys = fields


class ResumableCSVLogger(CSVLogger):
    """A CSV logger for ``RUN/logs/metrics.csv`` that, resuming after epoch ``keep_epoch``, keeps
    the history up to it."""

    def __init__(self, run_dir: Path, keep_epoch: int | None = None):
        super().__init__(run_dir, name="logs", version="")
        self._keep_epoch = keep_epoch

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(self.log_dir, self._keep_epoch)
        return self._experiment


def finished_reason(state: dict[str, Any], max_epochs: int, max_steps: int) -> str | None:
    """Why a run whose ``last.ckpt`` is ``state`` has nothing left to train (``None``: it has).

    A run killed before its end always has something left. A finished run has nothing left when
    early stopping ended it, or when the limits the resumed run would have (``max_epochs``,
    ``max_steps``; ``<= 0``: none) are reached already; larger limits train it further.
    """
    callbacks = state.get("callbacks") or {}
    if not (callbacks.get("LastCheckpoint") or {}).get("finished"):
        return None
    for key, value in callbacks.items():
        if key.startswith("EarlyStopping") and int(value.get("stopped_epoch", 0) or 0) > 0:
            return f"early stopping ended it (train.patience={value.get('patience')})"
    progress = state.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("current", {})
    epochs, steps = int(progress.get("completed", state.get("epoch", 0))), int(state.get("global_step", 0))
    if max_epochs is not None and max_epochs > 0 and epochs >= max_epochs:
        return f"it trained its trainer.max_epochs={max_epochs} epochs"
    if max_steps is not None and max_steps > 0 and steps >= max_steps:
        return f"it trained its trainer.max_steps={max_steps} steps"
    return None
