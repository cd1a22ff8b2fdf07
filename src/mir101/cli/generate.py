"""``mir101 generate RUN --pitch 60 --family guitar -n 8 --out DIR``: notes from a trained generation run.

The run is a run folder of the ``generation`` task (autoregressive or flow); the notes are decoded
by the codec run it was trained on and written as WAV files, with a progress bar. ``--steps``
(flow: ODE steps), ``--guidance``, ``--temperature``, ``--top-k`` and ``--top-p`` (autoregressive)
override the run's sampling options; ``--seed`` makes the draw repeatable.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]

#: the sampling options of the task that a flag may override: flag dest -> task option
OVERRIDES = {
    "steps": "steps",
    "guidance": "guidance",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
}


def _generate(args: argparse.Namespace) -> int:
    from mir101.cli import output_dir
    from mir101.errors import ConfigError, ParameterError
    from mir101.tasks.generation import FAMILIES, Generation
    from mir101.tasks.runner import load_run

    if args.family not in FAMILIES:
        raise ParameterError(
            f"--family {args.family!r} is not a family of the notes corpus; valid: {list(FAMILIES)}"
        )
    if not 0 <= args.pitch <= 127:
        raise ParameterError(f"--pitch {args.pitch} must be a MIDI note number in 0..127")
    if not 1 <= args.n <= 1000:
        raise ParameterError(f"-n {args.n} must be between 1 and 1000 notes")
    if args.steps is not None and args.steps < 1:
        raise ParameterError(f"--steps {args.steps} must be >= 1")
    out = output_dir(args.out, "--out")
    task, model = load_run(args.run_dir, check_metrics=False)
    if not isinstance(task, Generation):
        raise ConfigError(
            f"{args.run_dir} holds a '{task.name}' model, not a generator (train one with configs/generation/)"
        )
    for dest, option in OVERRIDES.items():
        value = getattr(args, dest)
        if value is not None:
            setattr(task.options, option, value)
    paths = task.write_notes(
        model, args.pitch, args.family, args.n, out, stem="note", seed=args.seed, progress=True
    )
    print(
        json.dumps(
            {"notes": [str(p) for p in paths], "pitch": args.pitch, "family": args.family, "sr": task.sr}
        )
    )
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["root"], "generate", _generate, "generate notes of a pitch and family with a generation run"
    )
    p.add_argument("run_dir", help="a run folder of the generation task")
    p.add_argument("--pitch", type=int, required=True, help="MIDI note number (60 = middle C)")
    p.add_argument("--family", required=True, help="instrument family (guitar, keyboard, string, ...)")
    p.add_argument("-n", type=int, default=4, help="how many notes (default 4)")
    p.add_argument("--out", required=True, help="folder of the WAV files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="flow: ODE steps")
    p.add_argument("--guidance", type=float, default=None, help="flow: classifier-free guidance weight")
    p.add_argument("--temperature", type=float, default=None, help="autoregressive: sampling temperature")
    p.add_argument(
        "--top-k", dest="top_k", type=int, default=None, help="autoregressive: keep the k likeliest tokens"
    )
    p.add_argument(
        "--top-p", dest="top_p", type=float, default=None, help="autoregressive: nucleus probability"
    )
