"""The multi-pitch model shipped inside the package: load it, and export a run folder into it.

The shipped model is a minimal run folder, ``mir101/pretrained/multipitch/`` (package data):

- ``config.yaml``: the resolved experiment config it was trained with (input, model, task, data);
- ``model.pt``: the best weights, a plain ``state_dict`` read with ``torch.load(weights_only=True)``
  (tensors only: a file from an untrusted source cannot run code);
- ``metrics.json``: its evaluation (held-out works, and the same works rendered with a SoundFont it
  never heard), with the peak-picking threshold chosen on the validation works;
- ``split.json``: the works it was trained, validated and tested on (``benchmarks/multipitch_peers.py``
  scores it on its held-out works);
- ``TRAINING.md``: the exact commands that rebuild it, and its measured scores.

So everything that reads a run folder reads it too (``mir101 predict multipitch``, ``load_run``);
``mir101 transcribe`` is the short way: no run folder, no training. Nothing is downloaded.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from torch import nn

from mir101.errors import CheckpointError, Mir101Error

__all__ = ["PRETRAINED_DIR", "FILES", "load_pretrained", "export_run"]

#: where the shipped multi-pitch model lives (inside the installed package)
PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "pretrained" / "multipitch"
#: the files of a shipped model
FILES = ("config.yaml", "model.pt", "metrics.json")
#: the largest weights file shipped in the package
MAX_BYTES = 5 * 1024 * 1024


def load_pretrained(path: str | Path | None = None) -> tuple[Any, nn.Module, float]:
    """The shipped model: ``(task, model, threshold)``, the model on the CPU in eval mode.

    Args:
        path: a folder laid out as :data:`PRETRAINED_DIR` (default: the shipped one).

    Raises:
        CheckpointError: a file is missing or unreadable, or the weights do not fit the config.
    """
    from mir101.tasks.result import EvalResult
    from mir101.tasks.runner import load_run

    folder = Path(path) if path is not None else PRETRAINED_DIR
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise CheckpointError(
            f"{folder}: no pretrained model here (missing {', '.join(missing)}); reinstall mir101, or "
            "train one: mir101 train configs/multipitch/pretrained.yaml"
        )
    try:
        task, model = load_run(folder)
        threshold = float(EvalResult.load(folder / "metrics.json").extras.get("threshold", 0.5))
    except Mir101Error as err:  # name the model folder: the user may not know where it lies
        if str(folder) in str(err):
            raise
        raise CheckpointError(
            f"model folder {folder}: {str(err).splitlines()[0] if str(err) else err!r}"
        ) from err
    return task, model.cpu().eval(), threshold


def export_run(run_dir: str | Path, out: str | Path | None = None, command: str | None = None) -> Path:
    """Copy a trained multipitch run folder's model into ``out`` (default: :data:`PRETRAINED_DIR`).

    Writes ``config.yaml``, ``model.pt`` (the weights only), ``metrics.json``, ``split.json`` and ``TRAINING.md``
    (how to retrain it, its scores). Refuses a run that is not a finished multipitch run, or
    weights over :data:`MAX_BYTES`.
    """
    import torch

    from mir101.tasks.result import EvalResult
    from mir101.tasks.runner import load_checkpoint, load_run

    run_dir = Path(run_dir)
    task, _model = load_run(run_dir)  # checks config, weights and metrics together
    if task.name != "multipitch":
        raise CheckpointError(f"{run_dir}: a '{task.name}' run, not a multipitch one")
    state = load_checkpoint(run_dir / "model.pt")["state_dict"]
    out = Path(out) if out is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.pt.tmp"
    torch.save({"state_dict": {k: v.detach().cpu().contiguous() for k, v in state.items()}}, tmp)
    if tmp.stat().st_size > MAX_BYTES:
        tmp.unlink()
        raise CheckpointError(f"{run_dir}: weights of {tmp.stat().st_size} bytes, over {MAX_BYTES}")
    tmp.replace(out / "model.pt")
    shutil.copyfile(run_dir / "config.yaml", out / "config.yaml")
    shutil.copyfile(run_dir / "metrics.json", out / "metrics.json")
    shutil.copyfile(run_dir / "split.json", out / "split.json")
    result = EvalResult.load(out / "metrics.json")
    commands = [command] if command else _commands(task, run_dir)
    (out / "TRAINING.md").write_text(_training_note(result, run_dir, commands), encoding="utf-8")
    return out


def _commands(task: Any, run_dir: Path) -> list[str]:
    """The training commands of a run of ``configs/multipitch/pretrained.yaml``: one, or two when
    it was trained longer from another run (``task.init_weights``)."""
    base = "OMP_NUM_THREADS=1 mir101 train configs/multipitch/pretrained.yaml"
    init = task.options.init_weights
    if not init:
        return [f"{base} run_dir={run_dir}"]
    first = Path(init).parent if Path(init).suffix == ".pt" else Path(init)
    c = task.cfg
    return [
        f"{base} run_dir={first}",
        f"{base} task.init_weights={init} optim.lr={c.optim.lr} optim.warmup_steps={c.optim.warmup_steps} "
        f"trainer.max_steps={c.trainer.max_steps} name={c.name} run_dir={run_dir}",
    ]


def _training_note(result: Any, run_dir: Path, commands: list[str]) -> str:
    rows = [
        f"| {name} | {s['Accuracy']:.3f} | {s['Precision']:.3f} | {s['Recall']:.3f} | "
        f"{s.get('Note onset F', float('nan')):.3f} | {s.get('Note onset-offset F', float('nan')):.3f} | "
        f"{int(s['items'])} |"
        for name, s in result.sets.items()
    ]
    return "\n".join(
        [
            "# The shipped multi-pitch model",
            "",
            f"Exported {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from the run folder "
            f"`{run_dir.name}` (Python {sys.version.split()[0]}).",
            "",
            "Retrain it from the repository root (SoundFonts in `.cache/soundfonts`: FluidR3 by "
            "`make soundfonts`; `sf_GMbank.sf2` and `OPL-3_FM_128M.sf2` from Debian's "
            "`csound-soundfont` and `opl3-soundfont`, `apt-get download` then `dpkg-deb -x`):",
            "",
            "```",
            *commands,
            f"python -m mir101.tasks.multipitch.pretrained {run_dir}",
            "```",
            "",
            f"Peak-picking threshold {float(result.extras.get('threshold', 0.5)):.2f} (chosen on the "
            "validation works). Held-out works (`test`: the training SoundFont; `other_soundfont`: "
            "FluidR3, never heard in training):",
            "",
            "| set | Accuracy | Precision | Recall | Note onset F | Note onset-offset F | items |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m mir101.tasks.multipitch.pretrained RUN [OUT]``: export a run as the shipped model."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or len(args) > 2:
        sys.stderr.write("usage: python -m mir101.tasks.multipitch.pretrained RUN_DIR [OUT_DIR]\n")
        return 2
    out = export_run(args[0], args[1] if len(args) > 1 else None)
    sys.stdout.write(json.dumps({"exported": str(out)}) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
