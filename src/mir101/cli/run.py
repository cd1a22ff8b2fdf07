"""``mir101 train | evaluate | predict | quickstart``: the task commands."""

from __future__ import annotations

import argparse
import inspect
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mir101.tasks.result import EvalResult

__all__ = ["register", "quiet_lightning", "print_summary", "output_stems"]

log = logging.getLogger(__name__)


def quiet_lightning(verbose: int = 0) -> None:
    """Lightning's start-up chatter (accelerators, tips) only with ``-v``, through our one handler."""
    import warnings

    import lightning  # noqa: F401  (it configures its loggers on import: reconfigure after)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(logging.INFO if verbose else logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval")
    warnings.filterwarnings("ignore", message=r"Estimate frequencies are all empty")
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")



def print_summary(result: EvalResult, run_dir: Path) -> None:
    """The task's one-line summary of an evaluation, then where the report is."""
    from mir101.tasks import TASKS

    print(f"run folder: {run_dir}")
    print(f"  {TASKS.get(result.task, where='metrics.json task').summary(result)}")
    print(f"report: {Path(run_dir) / 'report.md'}")


def _train(args: argparse.Namespace) -> int:
    from mir101.errors import ConfigError
    from mir101.tasks.runner import train

    quiet_lightning(args.verbose)
    if args.resume is None and args.config is None:
        raise ConfigError("mir101 train: give a CONFIG file, or --resume RUN_DIR")
    overrides = list(args.overrides)
    if args.out is not None:
        if args.resume is not None:
            raise ConfigError("mir101 train: --out names a new run folder; --resume continues RUN_DIR in place")
        overrides.append(f"run_dir={args.out}")
    config = args.config
    if args.resume is not None and config is not None:
        # `mir101 train --resume RUN_DIR key=value`: the first override lands in CONFIG
        if "=" not in config:
            raise ConfigError(
                f"mir101 train --resume {args.resume} takes no CONFIG ({config!r}): the run folder holds it"
            )
        overrides.insert(0, config)
        config = None
    result = train(config, overrides, resume=args.resume, evaluate=not args.no_eval)
    if result.evaluation is not None:
        print_summary(result.evaluation, result.run_dir)
    else:
        print(f"run folder: {result.run_dir}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mir101.tasks.runner import evaluate_run

    quiet_lightning(args.verbose)
    print_summary(evaluate_run(args.run_dir), Path(args.run_dir))
    return 0


def output_stems(paths: list[str]) -> list[str]:
    """A distinct name per input for its output files: the file's stem, or its whole name with
    the dot replaced where two inputs share a stem (``song.wav``, ``song.flac`` -> ``song_wav``,
    ``song_flac``).

    Examples:
        >>> output_stems(["a/song.wav", "b/song.flac", "other.mp3"])
        ['song_wav', 'song_flac', 'other']
    """
    stems = [Path(p).stem for p in paths]
    names = [Path(p).name.replace(".", "_") if stems.count(s) > 1 else s for p, s in zip(paths, stems)]
    if len(set(names)) < len(names):  # the same file name in two folders: number them
        names = [f"{n}_{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    return names


def _predict(args: argparse.Namespace) -> int:
    from mir101.cli import output_dir
    from mir101.errors import ConfigError, ParameterError
    from mir101.tasks.runner import load_run

    if args.out:  # fail before loading anything (the default folder lies in the run folder)
        output_dir(args.out, "--out")
    task, model = load_run(args.run_dir)
    if task.name != args.task:
        raise ConfigError(f"{args.run_dir} holds a '{task.name}' model, not '{args.task}'")
    options = {}
    if args.against:  # the collection a cover query is searched in (mir101.tasks.cover)
        if "against" not in inspect.signature(task.predict).parameters:
            raise ParameterError(f"--against is for the cover task, not '{task.name}'")
        options["against"] = Path(args.against)
    out_dir = output_dir(args.out or Path(args.run_dir) / "predictions", "--out")
    for audio, stem in zip(args.audio, output_stems(list(args.audio))):
        res = predict_into(task, model, Path(args.run_dir), Path(audio), out_dir, stem, args.overwrite, **options)
        print(json.dumps({"audio": audio, **res}))
    return 0


def predict_into(
    task: Any, model: Any, run_dir: Path, audio: Path, out_dir: Path, stem: str, overwrite: bool, **options: Any
) -> dict[str, Any]:
    """``task.predict`` of one file, its outputs in ``out_dir`` under ``stem`` (the input's name made unique).

    The task writes into a fresh folder; its files then move to ``out_dir``, and an existing file
    is never replaced without ``overwrite``. Returns the task's answer with the moved paths.
    """
    import shutil
    import tempfile

    from mir101.errors import ParameterError

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".predict-") as tmp:
        res = task.predict(model, run_dir, audio, Path(tmp), **options)
        moves = {}
        for f in sorted(Path(tmp).iterdir()):
            name = stem + f.name[len(audio.stem) :] if f.name.startswith(audio.stem) else f.name
            moves[f] = out_dir / name
        clash = [str(d) for d in moves.values() if d.exists()]
        if clash and not overwrite:
            raise ParameterError(f"{clash[0]} exists already: give --overwrite to replace it, or another --out")
        for src, dst in moves.items():
            shutil.move(str(src), dst)
    renamed = {str(src): str(dst) for src, dst in moves.items()}
    return {k: renamed.get(v, v) if isinstance(v, str) else v for k, v in res.items()}


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    root = groups["root"]
    p = add_command(root, "train", _train, "train a task from a config, evaluate it, write a run folder")
    p.add_argument("config", nargs="?", help="experiment YAML (e.g. configs/multipitch/hcqt_conv2d.yaml)")
    p.add_argument("overrides", nargs="*", help="config overrides key=value (e.g. trainer.max_epochs=3)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    p.add_argument("--out", metavar="RUN_DIR", help="the run folder (default runs/NAME-DATE-TIME)")

    p = add_command(
        root,
        "evaluate",
        _evaluate,
        "evaluate a run folder on its held-out data; rewrite metrics.json and report.md",
    )
    p.add_argument("run_dir")

    p = add_command(root, "predict", _predict, "run a trained model on audio files")
    p.add_argument("task", help="the task of the run (e.g. multipitch)")
    p.add_argument("run_dir")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg...)")
    p.add_argument("--out", help="output folder (default RUN_DIR/predictions)")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist already")
    p.add_argument("--against", help="cover: the index (.npz) or store to search (default: the run's)")
