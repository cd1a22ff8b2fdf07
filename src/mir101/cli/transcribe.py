"""``mir101 transcribe audio... [--out DIR]``: multi-pitch transcription with the shipped model.

No training and no run folder: the model inside the package (:mod:`mir101.tasks.multipitch.pretrained`)
writes, per input file, the frame-level pitches (``NAME.pitches.csv``: time, then the sounding
pitches in Hz, tab-separated, ``mir_eval.multipitch``'s format), the notes (``NAME.mid``) and the
piano roll (``NAME.pianoroll.png``). ``--model`` takes another multipitch run folder instead.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

__all__ = ["register"]


def _transcribe(args: argparse.Namespace) -> int:
    from mir101.cli import output_dir
    from mir101.cli.run import output_stems, predict_into
    from mir101.errors import ConfigError, ParameterError
    from mir101.tasks.multipitch.pretrained import PRETRAINED_DIR, load_pretrained

    out_dir = output_dir(args.out, "--out")  # fails before the model loads
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise ParameterError(f"--threshold {args.threshold}: give a salience between 0 and 1 (exclusive)")
    for audio in args.audio:
        if not Path(audio).is_file():
            raise ParameterError(f"{audio}: no such audio file")
    folder = Path(args.model) if args.model else PRETRAINED_DIR
    task, model, threshold = load_pretrained(folder)
    if task.name != "multipitch":
        raise ConfigError(f"--model {folder}: a '{task.name}' model, not a multipitch one")
    if args.threshold is not None:
        threshold = float(args.threshold)
    for audio, stem in zip(args.audio, output_stems(list(args.audio))):
        t0 = time.perf_counter()
        res = predict_into(
            task, model, folder, Path(audio), out_dir, stem, args.overwrite, threshold=threshold
        )
        res["seconds"] = round(time.perf_counter() - t0, 2)
        print(json.dumps({"audio": audio, **res}))
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["root"],
        "transcribe",
        _transcribe,
        "transcribe audio files with the shipped multi-pitch model: pitches CSV, MIDI, piano roll",
    )
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg...)")
    p.add_argument("--out", default=".", help="output folder (default: the current folder)")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist already")
    p.add_argument("--threshold", type=float, help="salience threshold (default: the model's own)")
    p.add_argument(
        "--model", metavar="DIR", help="another multipitch run folder instead of the shipped model"
    )
