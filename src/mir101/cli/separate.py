"""``mir101 separate RUN mix.wav [more.flac ...] --out DIR``: one WAV per source with a trained separation run.

Any length (chunked overlap-add: memory bounded by a chunk), any sample rate (resampled to the
model's and back), mono or stereo (mixed down). ``--wiener N`` adds N iterations of the Wiener
post-filter; ``--chunk-seconds`` / ``--overlap-seconds`` change the chunks. Prints one JSON line
per input: the files written, the duration and the real-time factor.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _separate(args: argparse.Namespace) -> int:
    from mir101.cli import output_dir
    from mir101.errors import ConfigError, ParameterError
    from mir101.tasks.runner import load_run

    out = output_dir(args.out, "--out")
    for audio in args.audio:
        if not Path(audio).is_file():
            raise ParameterError(f"{audio}: no such audio file")
    overrides = []
    for option, key in (("wiener", "task.wiener"), ("chunk_seconds", "task.chunk_seconds"),
                        ("overlap_seconds", "task.overlap_seconds")):  # fmt: skip
        value = getattr(args, option)
        if value is not None:
            if value < 0:
                raise ParameterError(f"--{option.replace('_', '-')}={value} must be >= 0")
            overrides.append(f"{key}={value}")
    task, model = load_run(args.run_dir, overrides, check_metrics=False)
    if task.name != "separation":
        raise ConfigError(
            f"{args.run_dir} holds a '{task.name}' model, not a separator (train one with configs/separation/)"
        )
    for audio in args.audio:
        target = out / Path(audio).stem
        existing = [p for p in out.glob(f"{Path(audio).stem}.*.wav")] if not args.overwrite else []
        if existing:
            raise ParameterError(f"{existing[0]} exists: give another --out, or --overwrite")
        answer = task.separate_file(model, Path(audio), target.parent)  # type: ignore[attr-defined]
        print(json.dumps({"input": str(audio), **answer}))
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["root"], "separate", _separate, "separate audio files into sources with a separation run"
    )
    p.add_argument("run_dir", help="a run folder of the separation task")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg...), any length and sample rate")
    p.add_argument("--out", required=True, help="folder for NAME.<source>.wav")
    p.add_argument("--wiener", type=int, default=None, help="Wiener post-filter iterations (0: none)")
    p.add_argument("--chunk-seconds", type=float, default=None, help="chunk length of overlap-add inference")
    p.add_argument("--overlap-seconds", type=float, default=None, help="overlap between chunks")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
