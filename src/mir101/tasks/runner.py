"""One training loop for every task: run folders, Lightning Trainer, checkpoints, evaluation.

A run folder holds::

    config.yaml        the resolved config (what `--resume` and `evaluate` read back)
    split.json         the train / valid / test keys
    checkpoints/       best.ckpt and last.ckpt (Lightning)
    logs/metrics.csv   per-epoch losses and validation metrics (TensorBoard optional)
    model.pt           the best weights as a plain state_dict (loaded with weights_only=True)
    training.json      steps, epochs, seconds
    metrics.json       the evaluation (:class:`~mir101.tasks.result.EvalResult`); report.md + figures/

:func:`train` is four steps, each its own function: :func:`prepare_run` (config, run folder,
checkpoint to resume), :func:`build_trainer` (Lightning with mir101's callbacks), :func:`fit`
(the task's data module and paradigm) and :func:`finish_run` (best weights saved as ``model.pt``).
Then :func:`evaluate_run` asks the task for its evaluation and report.

``accelerator``, ``devices``, ``strategy``, ``precision`` and ``num_nodes`` pass through to
Lightning, so a multi-GPU / multi-node DDP run is the same command.

Book page: ``book/intro.md`` (training with Lightning, run folders).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from mir101 import __version__
from mir101.config import load_config, load_yaml, save_config, to_container
from mir101.data.splits import save_split
from mir101.errors import CheckpointError, ConfigError, Interrupted
from mir101.paradigms import System
from mir101.tasks.base import TASKS, Task
from mir101.tasks.result import EvalResult
from mir101.tasks.resume import LastCheckpoint, ResumableCSVLogger, finished_reason
from mir101.tasks.runfolder import (
    check_csv_log,
    check_lightning_checkpoint,
    check_metrics_file,
    check_state_dict,
    check_weights_fit,
    make_run_dir,
    read_split,
    read_training_info,
    run_lock,
)
from mir101.utils.io import atomic_path

__all__ = [
    "train",
    "prepare_run",
    "build_trainer",
    "fit",
    "finish_run",
    "evaluate_run",
    "load_run",
    "load_checkpoint",
    "RunResult",
    "RunPlan",
    "make_task",
]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """A finished run: its folder and its evaluation (``None`` when evaluation was skipped)."""

    run_dir: Path
    evaluation: EvalResult | None = None


@dataclass
class RunPlan:
    """What :func:`prepare_run` decided: the config, the run folder, the checkpoint to resume from
    and the epoch it ended (``None`` for a new run)."""

    cfg: DictConfig
    run_dir: Path
    ckpt_path: str | None = None
    resumed_epoch: int | None = None
    ckpt_shapes: dict[str, tuple[int, ...]] | None = None


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


def build_trainer(
    cfg: DictConfig,
    run_dir: Path,
    monitor: str,
    mode: str,
    keep_epoch: int | None = None,
    task_callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    """A Lightning Trainer from the ``trainer`` section, with mir101's callbacks and loggers (the
    ``train`` section): the best checkpoint, the last one every epoch, per-epoch seeding, early
    stopping, the CSV log (resuming after epoch ``keep_epoch``, its rows up to it are kept).
    ``task_callbacks`` (a task's own, e.g. a validation metric it logs) run before them."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    own = cfg.train
    best = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        enable_version_counter=False,  # a resumed run overwrites best.ckpt, not best-v1.ckpt
    )
    callbacks: list[L.Callback] = [
        *task_callbacks,
        best,
        LastCheckpoint(run_dir / "checkpoints"),
        EpochSeed(own.seed),
    ]
    if own.patience and own.patience > 0:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=own.patience))
    loggers: list[Any] = [ResumableCSVLogger(run_dir, keep_epoch)]
    if own.tensorboard:
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(run_dir, name="tensorboard", version=""))
    kwargs = {k: v for k, v in to_container(cfg.trainer).items() if v is not None}
    try:
        return L.Trainer(
            default_root_dir=run_dir,
            callbacks=callbacks,
            logger=loggers,
            use_distributed_sampler=False,  # our samplers shard themselves
            enable_model_summary=False,
            **kwargs,
        )
    except Exception as err:  # Lightning's MisconfigurationException (no GPU, bad strategy...) too
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        given = {
            k: kwargs[k]
            for k in ("accelerator", "devices", "strategy", "precision", "num_nodes")
            if k in kwargs
        }
        raise ConfigError(f"the 'trainer' section is not accepted by Lightning ({given}): {first}") from err


def prepare_run(
    config: str | Path | DictConfig | None = None,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
) -> RunPlan:
    """Step 1: the config (a file, a loaded config or a run folder to resume) and the run folder.

    Nothing is written yet: a config that fails to load leaves no folder behind.
    """
    if resume is None:
        cfg = config if isinstance(config, DictConfig) else load_config(config, overrides)
        if not cfg.task or "name" not in cfg.task:  # (an empty file) named before a folder is picked
            raise ConfigError(
                f"{config if not isinstance(config, DictConfig) else 'the config'} needs a 'task' section "
                "with a 'name' (e.g. task: {name: multipitch})"
            )
        return RunPlan(cfg, _new_run_dir(cfg))
    run_dir = Path(resume)
    cfg = read_run_config(run_dir, overrides)
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        log.warning("%s has no last.ckpt: training starts from scratch", run_dir)
        return RunPlan(cfg, run_dir)
    state = load_checkpoint(last)  # a corrupt or unsafe file fails here, in one line
    shapes = check_lightning_checkpoint(state, last)
    read_training_info(run_dir / "training.json")  # read at the end: checked before training
    check_csv_log(run_dir / "logs" / "metrics.csv")
    reason = finished_reason(state, cfg.trainer.max_epochs, cfg.trainer.max_steps)
    if reason is not None:
        raise ConfigError(
            f"{run_dir} has finished training ({reason}): nothing to resume; train longer with "
            f"`mir101 train --resume {run_dir} trainer.max_epochs=N`, or evaluate it with "
            f"`mir101 evaluate {run_dir}`"
        )
    # last.ckpt is written as epoch `epoch` starts: the log keeps the rows of the epochs before it
    return RunPlan(cfg, run_dir, str(last), resumed_epoch=int(state["epoch"]) - 1, ckpt_shapes=shapes)


def _monitor(cfg: DictConfig, task: Task, split: dict[str, list[str]]) -> tuple[str, str]:
    monitor, mode = cfg.train.monitor or task.monitor[0], cfg.train.mode or task.monitor[1]
    if not split["valid"] and monitor.startswith("val/"):
        log.warning("no validation items: monitoring train/loss instead of %s", monitor)
        monitor, mode = "train/loss", "min"
    return monitor, mode


def _write_run_files(plan: RunPlan, split: dict[str, list[str]]) -> None:
    make_run_dir(plan.run_dir)
    save_config(OmegaConf.merge(plan.cfg, {"run_dir": str(plan.run_dir)}), plan.run_dir / "config.yaml")
    save_split(split, plan.run_dir / "split.json")


def fit(task: Task, plan: RunPlan, split: dict[str, list[str]]) -> tuple[L.Trainer, System, float]:
    """Step 2: build the model and the task's paradigm, then train it with Lightning.

    Returns:
        the trainer, the trained system and the training time in seconds.
    """
    model = task.build_model()
    system = task.system(model)
    if plan.ckpt_shapes is not None:
        check_weights_fit(plan.ckpt_shapes, system, Path(str(plan.ckpt_path)), plan.run_dir)
    monitor, mode = _monitor(plan.cfg, task, split)
    trainer = build_trainer(
        plan.cfg,
        plan.run_dir,
        monitor,
        mode,
        keep_epoch=plan.resumed_epoch,
        task_callbacks=task.callbacks(split),
    )
    if trainer.is_global_zero and plan.ckpt_path is None:
        _write_run_files(plan, split)  # a resumed run rewrites its config only once it trained
    log.info("run folder: %s", plan.run_dir)
    dm = task.datamodule(split)
    t0 = time.perf_counter()
    try:
        trainer.fit(
            system, datamodule=dm, ckpt_path=plan.ckpt_path, weights_only=True if plan.ckpt_path else None
        )
    except SystemExit as err:
        if not trainer.interrupted:
            raise
        # Lightning caught Ctrl-C, ignores SIGINT from then on and exits 1: give the interrupt back
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt from err
    except Exception as err:
        refused = _refused_by_lightning(err, plan.cfg)
        if refused is not None:
            raise refused from err
        if not isinstance(err, RuntimeError) or "conditioned on metric" not in str(err):
            raise
        # EarlyStopping found no such logged value: name the key and what is logged instead
        logged = str(err).split("following:", 1)[-1].strip() if "following:" in str(err) else ""
        raise ConfigError(
            f"train.monitor='{monitor}' is not a value this task logs"
            + (f"; it logs {logged}" if logged else "")
        ) from err
    if trainer.is_global_zero and plan.ckpt_path is not None:
        _write_run_files(plan, split)  # the overrides given with --resume were used: keep them
    return trainer, system, time.perf_counter() - t0


def _refused_by_lightning(err: Exception, cfg: DictConfig) -> ConfigError | None:
    """A ConfigError naming the ``trainer`` key when ``err`` is Lightning refusing a trainer
    option once it sees the data (``val_check_interval`` larger than an epoch...); ``None`` when
    the error did not come from Lightning's own checks."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename if tb is not None else ""
    if not isinstance(err, MisconfigurationException) and not (
        isinstance(err, (ValueError, TypeError, ArithmeticError)) and f"{os.sep}lightning{os.sep}" in where
    ):
        return None
    text = str(err).strip()
    keys = [k for k in cfg.trainer if k in text and cfg.trainer[k] is not None]
    first = text.splitlines()[0].strip() if text else type(err).__name__
    named = ", ".join(f"trainer.{k}={cfg.trainer[k]}" for k in keys) or "the 'trainer' section"
    return ConfigError(f"{named}: refused by Lightning: {first}")


def finish_run(trainer: L.Trainer, system: System, plan: RunPlan, train_seconds: float) -> torch.nn.Module:
    """Step 3: reload the best checkpoint, save its model as ``model.pt`` and ``training.json``.

    Returns:
        the trained model (the paradigm's exported module), on the CPU.
    """
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""  # type: ignore[union-attr]
    own = plan.run_dir / "checkpoints" / Path(best).name if best else None
    if best and own is not None and Path(best).resolve() != own.resolve():
        # a resumed copy of a run folder: Lightning restores the best path of the folder it was
        # copied from; the run reads its own best checkpoint, never another folder's
        log.info("best checkpoint %s is outside the run folder: using %s", best, own)
        best = str(own)
    if best and Path(best).is_file():
        system.load_state_dict(load_checkpoint(Path(best))["state_dict"])
    model = system.export_model()  # what the paradigm says is the model (not its loss, its critic...)
    _save_model(model, plan.cfg, plan.run_dir)
    before = 0.0  # a resumed run adds its time to the time trained before the kill
    if plan.ckpt_path is not None:
        before = float(read_training_info(plan.run_dir / "training.json").get("train_seconds", 0.0))
    history = {
        "epochs": trainer.current_epoch,
        "steps": int(trainer.global_step),
        "train_seconds": round(before + train_seconds, 2),
        "best_checkpoint": Path(best).name if best else None,
    }
    _write_json(history, plan.run_dir / "training.json")
    return model.cpu()


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
    plan = prepare_run(config, overrides, resume)
    trained = False
    try:
        with run_lock(plan.run_dir):  # a second command on this folder fails in one line
            L.seed_everything(plan.cfg.train.seed, workers=True, verbose=False)
            task = make_task(plan.cfg)
            split_path = plan.run_dir / "split.json"
            split = read_split(split_path, task) if split_path.is_file() else task.make_split()
            trainer, system, seconds = fit(task, plan, split)
            if not trainer.is_global_zero:
                return RunResult(plan.run_dir)
            model = finish_run(trainer, system, plan, seconds)
            trained = True
            if not evaluate:
                return RunResult(plan.run_dir)
            return RunResult(plan.run_dir, evaluate_run(plan.run_dir, task=task, model=model))
    except KeyboardInterrupt as err:
        if isinstance(err, Interrupted):
            raise
        if trained:
            raise Interrupted(f"the run is trained; evaluate it with mir101 evaluate {plan.run_dir}") from err
        if (plan.run_dir / "config.yaml").is_file():
            raise Interrupted(f"resume with mir101 train --resume {plan.run_dir}") from err
        raise Interrupted("nothing was trained yet") from err


def _save_model(model: torch.nn.Module, cfg: DictConfig, run_dir: Path) -> None:
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": to_container(cfg),
        "mir101_version": __version__,
    }
    with atomic_path(run_dir / "model.pt") as tmp:  # a kill mid-save leaves no half model.pt
        torch.save(payload, tmp)


def _write_json(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, default=float))


def load_checkpoint(path: Path, mmap: bool = False) -> Any:
    """``torch.load`` with ``weights_only=True`` (tensors and plain containers only: a file from an
    untrusted source cannot run code); every failure is a CheckpointError saying why.

    Args:
        path: a ``model.pt`` or a Lightning ``.ckpt``.
        mmap: map the tensors instead of reading them (a cheap check of a large file).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # pickle, zip and I/O errors
        text = str(err)
        culprit = next((line.strip() for line in text.splitlines() if "GLOBAL" in line), "")
        if isinstance(err, pickle.UnpicklingError) and culprit:
            raise CheckpointError(
                f"{path}: cannot load the checkpoint: refused, the file holds Python objects, not "
                f"only weights ({culprit}); mir101 loads checkpoints with weights_only=True so that "
                "a file cannot run code"
            ) from err
        if not zipfile.is_zipfile(path):
            size = path.stat().st_size if path.is_file() else 0
            raise CheckpointError(
                f"{path}: cannot load the checkpoint: not a PyTorch file ({size} bytes, not the zip "
                "archive torch.save writes): the file is corrupt or truncated"
            ) from err
        first = text.strip().splitlines()[0] if text.strip() else ""
        raise CheckpointError(f"{path}: cannot load the checkpoint ({type(err).__name__}: {first})") from err


def init_weights_from(model: torch.nn.Module, source: str | Path, option: str = "task.init_weights") -> None:
    """Start ``model`` from the weights of another run (fine-tuning, or training longer with other
    losses): ``source`` is a ``model.pt`` or a run folder holding one. The weights must fit the
    model exactly; a training run's own weights come from its own ``model.pt`` afterwards, whether
    or not ``source`` is still there.

    Raises:
        ConfigError: no such file. CheckpointError: the weights do not fit the model.
    """
    path = Path(str(source))
    path = path / "model.pt" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(f"{option}={source}: no such model.pt")
    state = load_checkpoint(path)
    try:
        model.load_state_dict(
            state["state_dict"] if isinstance(state, dict) and "state_dict" in state else state
        )
    except (RuntimeError, TypeError, KeyError) as err:
        raise CheckpointError(f"{option}={path}: weights do not fit this model ({err})") from err
    log.info("model weights initialised from %s", path)


def _differences(a: Any, b: Any, prefix: str) -> list[str]:
    """Dotted keys where two plain configs differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{prefix}.{k}")
        return out
    return [] if a == b else [prefix]


#: the top-level sections of every run folder's config.yaml (the resolved config the runner wrote,
#: ``run_dir`` last): one missing means a cut or hand-edited file
RUN_CONFIG_SECTIONS = ("task", "data", "input", "model", "optim", "train", "trainer", "run_dir")


def read_run_config(run_dir: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The config of a run folder, checked complete before anything is built from it.

    Raises:
        CheckpointError: no ``config.yaml``, or one that lacks a section the runner writes (a
            truncated file can still be valid YAML: without this, the first error would come
            from deep inside the model builder, without the file's name).
        ConfigError: not YAML, or not a mapping (:func:`~mir101.config.load_config` says so,
            naming the file).
    """
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run folder (no config.yaml)")
    raw = load_yaml(path)
    missing = [k for k in RUN_CONFIG_SECTIONS if k not in raw] if isinstance(raw, dict) else []
    if missing:
        raise CheckpointError(
            f"{path}: not a complete run config (no {', '.join(missing)}): the file was cut or edited; "
            "restore it, or train again"
        )
    return load_config(path, overrides)


def load_run(
    run_dir: str | Path, overrides: Sequence[str] = (), check_metrics: bool = True
) -> tuple[Task, torch.nn.Module]:
    """The task and its trained model (best weights) from a run folder.

    ``check_metrics``: a ``metrics.json`` there must be a readable evaluation of this task (what
    ``predict`` reads its threshold or classes from); ``evaluate`` rewrites it instead.

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
    cfg = read_run_config(run_dir, overrides)
    task = make_task(cfg)
    model = task.build_model()
    payload = load_checkpoint(weights)
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if state is None:
        raise CheckpointError(f"{weights}: not a mir101 model file (no 'state_dict')")
    check_state_dict(state, weights)
    if check_metrics:
        check_metrics_file(run_dir / "metrics.json", cfg.task.name)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        lines = [line.strip().rstrip(".") for line in str(err).splitlines() if line.strip()]
        detail = "; ".join(lines[1:3]) or lines[0]  # the first line only says 'Error(s) in loading'
        raise CheckpointError(
            f"{weights}: the weights do not fit the model built from {run_dir / 'config.yaml'} ({detail})"
        ) from err
    trained = payload.get("config")
    if isinstance(trained, dict):
        # weights may load into a model that reads other features (a fully convolutional net
        # does not see the number of bins): the input and the layers must be the trained ones
        now = to_container(cfg)
        diff = [
            d
            for section in ("input", "model")
            for d in _differences(trained.get(section), now.get(section), section)
        ]
        if diff:
            raise CheckpointError(
                f"{weights} was trained with another {diff[0].split('.')[0]} than "
                f"{run_dir / 'config.yaml'} describes (differs at {', '.join(diff[:3])}); "
                "restore the run's config.yaml or train again"
            )
    model.eval()
    return task, model


def evaluate_run(
    run_dir: str | Path, task: Task | None = None, model: torch.nn.Module | None = None
) -> EvalResult:
    """Evaluate a run on its test split (and ``data.test_stores``); write ``metrics.json`` and
    ``report.md`` (the task's :meth:`~mir101.tasks.base.Task.report`)."""
    run_dir = Path(run_dir)
    if task is None or model is None:
        task, model = load_run(run_dir, check_metrics=False)
    model.eval()
    split = read_split(run_dir / "split.json", task)
    read_training_info(run_dir / "training.json")  # what the report reads: checked before the work
    check_csv_log(run_dir / "logs" / "metrics.csv")
    with run_lock(run_dir):  # not while another command trains or evaluates into this folder
        result = task.evaluate(model, split, run_dir)
        if not isinstance(result, EvalResult):
            raise TypeError(
                f"{type(task).__name__}.evaluate must return an EvalResult, got {type(result).__name__}"
            )
        result.save(run_dir / "metrics.json")
        task.report(result, run_dir)
    return result
