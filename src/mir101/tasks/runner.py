"""One training loop for every task: run folders, Lightning Trainer, checkpoints, evaluation.

A run folder holds::

    config.yaml        the resolved config (what `--resume` and `evaluate` read back)
    split.json         the train / valid / test keys
    checkpoints/       best.ckpt and last.ckpt (Lightning)
    logs/metrics.csv   per-epoch losses and validation metrics (TensorBoard optional)
    model.pt           the best weights as a plain state_dict (loaded with weights_only=True)
    metrics.json       the test metrics; report.md + figures/ the report

``accelerator``, ``devices``, ``strategy``, ``precision`` and ``num_nodes`` pass through to
Lightning, so a multi-GPU / multi-node DDP run is the same command.

Book page: ``book/intro.md`` (training with Lightning, run folders).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from mir101 import __version__
from mir101.config import load_config, save_config, to_container
from mir101.data.splits import load_split, save_split
from mir101.errors import CheckpointError, ConfigError
from mir101.tasks.base import TASKS, Task

__all__ = ["train", "evaluate_run", "load_run", "RunResult", "make_task"]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]


def make_task(cfg: DictConfig) -> Task:
    import mir101.tasks  # noqa: F401  (registers the tasks)

    if not cfg.task or "name" not in cfg.task:
        raise ConfigError("the config needs a 'task' section with a 'name' (e.g. task: {name: multipitch})")
    return TASKS.get(cfg.task.name, where="task.name")(cfg)


def _new_run_dir(cfg: DictConfig) -> Path:
    if cfg.run_dir:
        return Path(cfg.run_dir)
    name = cfg.name or cfg.task.name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{name}-{stamp}"
    i = 1
    while path.exists():
        path = Path("runs") / f"{name}-{stamp}-{i}"
        i += 1
    return path


class EpochSeed(L.Callback):
    """Reseed every RNG at the start of each epoch from ``(seed, epoch)``: a resumed run then
    draws the same dropout masks and augmentations as an uninterrupted one."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        L.seed_everything(
            self.seed + 7919 * trainer.current_epoch + trainer.global_rank, workers=True, verbose=False
        )


def _trainer(cfg: DictConfig, run_dir: Path, monitor: str, mode: str) -> L.Trainer:
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    t = cfg.trainer
    ckpt = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        save_last=True,
        save_top_k=1,
    )
    callbacks: list[L.Callback] = [ckpt, EpochSeed(t.seed)]
    if t.patience and t.patience > 0:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=t.patience))
    loggers: list[Any] = [CSVLogger(run_dir, name="logs", version="")]
    if t.tensorboard:
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(run_dir, name="tensorboard", version=""))
    kwargs = {
        k: t[k]
        for k in (
            "max_epochs",
            "max_steps",
            "max_time",
            "accelerator",
            "devices",
            "strategy",
            "num_nodes",
            "precision",
            "deterministic",
            "gradient_clip_val",
            "accumulate_grad_batches",
            "limit_train_batches",
            "limit_val_batches",
            "val_check_interval",
            "log_every_n_steps",
            "enable_progress_bar",
        )
        if t[k] is not None
    }
    return L.Trainer(
        default_root_dir=run_dir,
        callbacks=callbacks,
        logger=loggers,
        use_distributed_sampler=False,  # our EpochSeededSampler shards itself
        enable_model_summary=False,
        **kwargs,
    )


def train(
    config: str | Path | DictConfig | None = None,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
    evaluate: bool = True,
) -> RunResult:
    """Train a task from a config (or resume a run folder), then evaluate it on held-out data.

    Args:
        config: a YAML path or a loaded config; ignored when ``resume`` is given.
        overrides: dotlist overrides (``trainer.max_epochs=3``).
        resume: a run folder: training continues from ``checkpoints/last.ckpt``.
        evaluate: run the task's evaluation on the test split after training.
    """
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "config.yaml").is_file():
            raise CheckpointError(f"{run_dir} is not a run folder (no config.yaml)")
        cfg = load_config(run_dir / "config.yaml", overrides)
        last = run_dir / "checkpoints" / "last.ckpt"
        ckpt_path = str(last) if last.is_file() else None
        if ckpt_path is None:
            log.warning("%s has no last.ckpt: training starts from scratch", run_dir)
    else:
        cfg = config if isinstance(config, DictConfig) else load_config(config, overrides)
        run_dir = _new_run_dir(cfg)
        ckpt_path = None
    L.seed_everything(cfg.trainer.seed, workers=True, verbose=False)
    task = make_task(cfg)
    split_path = run_dir / "split.json"
    split = load_split(split_path) if split_path.is_file() else task.make_split()
    model = task.build_model()
    system = task.system(model)
    monitor, mode = cfg.trainer.monitor or task.monitor[0], cfg.trainer.mode or task.monitor[1]
    if not split["valid"] and monitor.startswith("val/"):
        log.warning("no validation items: monitoring train/loss instead of %s", monitor)
        monitor, mode = "train/loss", "min"
    trainer = _trainer(cfg, run_dir, monitor, mode)
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg_to_save = OmegaConf.merge(cfg, {"run_dir": str(run_dir)})
        save_config(cfg_to_save, run_dir / "config.yaml")
        save_split(split, split_path)
    log.info("run folder: %s", run_dir)
    dm = task.datamodule(split)
    t0 = time.perf_counter()
    trainer.fit(system, datamodule=dm, ckpt_path=ckpt_path, weights_only=True if ckpt_path else None)
    train_seconds = time.perf_counter() - t0
    if not trainer.is_global_zero:
        return RunResult(run_dir, {})
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""  # type: ignore[union-attr]
    if best and Path(best).is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        system.load_state_dict(state)
    _save_model(system.model, cfg, run_dir)
    epochs = trainer.current_epoch
    history = {
        "epochs": epochs,
        "train_seconds": round(train_seconds, 2),
        "best_checkpoint": Path(best).name if best else None,
    }
    (run_dir / "training.json").write_text(json.dumps(history, indent=1))
    metrics: dict[str, Any] = {}
    if evaluate:
        metrics = evaluate_run(run_dir, task=task, model=system.model.cpu())
    return RunResult(run_dir, metrics)


def _save_model(model: torch.nn.Module, cfg: DictConfig, run_dir: Path) -> None:
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": to_container(cfg),
        "mir101_version": __version__,
    }
    torch.save(payload, run_dir / "model.pt")


def load_run(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[Task, torch.nn.Module]:
    """The task and its trained model (best weights) from a run folder.

    Raises:
        CheckpointError: no run folder, no ``model.pt``, a corrupt file, or weights that do not
            fit the model the folder's config builds.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise CheckpointError(f"{run_dir} is not a run folder (no config.yaml)")
    weights = run_dir / "model.pt"
    if not weights.is_file():
        raise CheckpointError(
            f"{run_dir} has no model.pt: was training finished? (mir101 train --resume {run_dir})"
        )
    cfg = load_config(run_dir / "config.yaml", overrides)
    task = make_task(cfg)
    model = task.build_model()
    try:
        payload = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle / zip errors
        raise CheckpointError(f"{weights}: cannot load the checkpoint ({type(err).__name__}: {err})") from err
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if state is None:
        raise CheckpointError(f"{weights}: not a mir101 model file (no 'state_dict')")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"{weights}: the weights do not fit the model built from {run_dir / 'config.yaml'} ({first})"
        ) from err
    model.eval()
    return task, model


def evaluate_run(
    run_dir: str | Path, task: Task | None = None, model: torch.nn.Module | None = None
) -> dict[str, Any]:
    """Evaluate a run on its test split (and ``data.test_stores``); write metrics.json + report.md."""
    run_dir = Path(run_dir)
    if task is None or model is None:
        task, model = load_run(run_dir)
    model.eval()
    split = load_split(run_dir / "split.json")
    metrics = task.evaluate(model, split, run_dir)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    return metrics
