"""``mir101 data chorales|notes``: build the embedded corpora into a store."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

__all__ = ["register"]


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text: str) -> list[int]:
    try:
        return [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got '{text}'") from None
    return lo, hi


def _metadata(prefix: object) -> dict:
    from mir101.data.store import store_paths

    with open(store_paths(str(prefix))[1], encoding="utf-8") as fid:
        return json.load(fid).get("mir101", {})


def _summary(prefix: object, started: float, what: str) -> None:
    meta = _metadata(prefix)
    split = meta.get("split", {})
    sizes = "/".join(str(len(split.get(k, []))) for k in ("train", "valid", "test"))
    print(f"store {prefix}")
    print(
        f"{what}: {meta.get('items', '?')} items, {meta.get('duration_s', 0) / 60:.1f} min of audio, "
        f"split train/valid/test {sizes} items, {time.perf_counter() - started:.1f} s"
    )


def _check_out(args: argparse.Namespace) -> None:
    """An unwritable ``--out`` fails before any rendering; ``--name`` names a store inside it,
    never a path that leads elsewhere (``../../x``, ``/tmp/x``)."""
    from mir101.cli import output_dir
    from mir101.errors import ParameterError

    if args.name is not None:
        name = args.name
        if (
            not name.strip()
            or name in (".", "..")
            or name.startswith(".")
            or any(c in name for c in "/\\\0")
            or Path(name).name != name
        ):
            raise ParameterError(
                f"--name {name!r} must be a plain file name (e.g. chorales_small), not a path: the store "
                "is written inside --out, give the folder with --out"
            )
        if args.out is None:
            raise ParameterError(
                f"--name {name!r} names the store inside --out: give --out DIR too (without --out, the "
                "store goes to the user cache under a name made of its parameters)"
            )
    if args.out is not None:
        output_dir(args.out, "--out")


def _chorales(args: argparse.Namespace) -> int:
    from mir101.data.corpora import build_chorales

    _check_out(args)
    started = time.perf_counter()
    variation = {}
    if args.tempo:
        variation["tempo"] = args.tempo
    if args.transpose:
        variation["transpose"] = tuple(int(x) for x in args.transpose)
    prefix = build_chorales(
        args.n,
        chorales=_csv(args.chorales) if args.chorales else None,
        renditions=args.renditions,
        ensembles=_csv(args.ensembles) if args.ensembles else None,
        seed=args.seed,
        sr=args.sr,
        soundfont=args.soundfont,
        variation=variation or None,
        out=args.out,
        name=args.name,
        workers=args.workers,
        force=args.force,
        progress=not args.quiet,
    )
    meta = _metadata(prefix)
    works = meta.get("cliques", {}).get("store_works", "?")
    agree = meta.get("chord_agreement", {}).get("majmin_class", float("nan"))
    _summary(prefix, started, f"chorales ({len(meta.get('params', {}).get('chorales', []))} chorales, "
             f"{works} melodies, chords vs expert {agree:.1%})")  # fmt: skip
    return 0


def _notes(args: argparse.Namespace) -> int:
    from mir101.data.corpora import build_notes

    _check_out(args)
    started = time.perf_counter()
    prefix = build_notes(
        args.n,
        families=_csv(args.families) if args.families else None,
        programs=args.programs,
        pitch_range=tuple(int(x) for x in args.pitch_range) if args.pitch_range else (21, 108),
        velocities=args.velocities or (25, 50, 75, 100, 127),
        duration=args.duration,
        note_off=args.note_off,
        sr=args.sr,
        seed=args.seed,
        soundfont=args.soundfont,
        out=args.out,
        name=args.name,
        workers=args.workers,
        force=args.force,
        progress=not args.quiet,
    )
    _summary(prefix, started, "notes")
    return 0


def _common(p: argparse.ArgumentParser, sr: int) -> None:
    p.add_argument("--out", help="folder of the store (default: the user cache, keyed by the parameters)")
    p.add_argument("--name", help="store name inside --out (default: the corpus name)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--soundfont", help="a General-MIDI .sf2/.sf3 (default: pretty_midi's TimGM6mb.sf2)")
    p.add_argument("--sr", type=int, default=sr, help=f"sample rate in Hz (default {sr})")
    p.add_argument("--workers", type=int, help="processes, one synthesiser each (default min(2, cpus))")
    p.add_argument("--force", action="store_true", help="rebuild even if the store exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["data"],
        "chorales",
        _chorales,
        "render Bach chorales (mix + 4 stems, notes, f0, chords, cliques)",
    )
    p.add_argument("--n", type=int, help="first N chorales in Riemenschneider order (default: all ~350)")
    p.add_argument("--chorales", help="comma-separated chorale ids instead, e.g. bwv269,bwv347")
    p.add_argument("--renditions", type=int, default=1, help="renditions per chorale (default 1)")
    p.add_argument("--ensembles", help="comma-separated ensembles to draw from (default: all)")
    p.add_argument("--tempo", type=_range, help="bpm range LOW,HIGH (default 60,96)")
    p.add_argument("--transpose", type=_range, help="semitone range LOW,HIGH (default -5,6)")
    _common(p, 22050)
    p = add_command(groups["data"], "notes", _notes, "render NSynth-like isolated notes")
    p.add_argument("--n", type=int, help="keep N notes drawn from the grid (default: the whole grid)")
    p.add_argument("--families", help="comma-separated families, e.g. keyboard,string,brass")
    p.add_argument("--programs", type=_ints, help="comma-separated GM programs (0-based)")
    p.add_argument("--pitch-range", type=_range, help="MIDI range LOW,HIGH (default 21,108)")
    p.add_argument("--velocities", type=_ints, help="comma-separated velocities (default 25,50,75,100,127)")
    p.add_argument("--duration", type=float, default=1.0, help="clip length in s (default 1.0)")
    p.add_argument("--note-off", type=float, default=0.75, help="key release in s (default 0.75)")
    _common(p, 16000)
