"""``mir101 quickstart``: the demo, and where it finds a SoundFont the model never heard."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from mir101.errors import ConfigError

__all__ = ["register", "find_other_soundfont"]

_CANDIDATES = ("FluidR3_GM.sf2", "MuseScore_General.sf3", "MuseScore_General.sf2", "GeneralUser_GS.sf2")
_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3", ".cache/soundfonts")


def find_other_soundfont() -> Path | None:
    """A General-MIDI SoundFont other than the training one: ``$MIR101_TEST_SOUNDFONT``, or
    FluidR3 / MuseScore General in the usual folders (Debian's ``fluid-soundfont-gm``; ``make demo``
    fetches it into ``.cache/soundfonts`` when apt can)."""
    env = os.environ.get("MIR101_TEST_SOUNDFONT")
    if env:
        if not Path(env).is_file():
            raise ConfigError(f"MIR101_TEST_SOUNDFONT={env} is not a file")
        return Path(env)
    for d in _DIRS:
        for name in _CANDIDATES:
            p = Path(d) / name
            if p.is_file():
                return p.resolve()
    return None


def _quickstart(args: argparse.Namespace) -> int:
    from mir101.cli.run import print_summary, quiet_lightning
    from mir101.tasks.quickstart import quickstart

    quiet_lightning(args.verbose)
    t0 = time.perf_counter()
    other = find_other_soundfont()
    if other is not None:
        print(f"held-out timbres: the test works are also rendered with {other}")
    else:
        print(
            "no second SoundFont found (apt-get install fluid-soundfont-gm): evaluating on the "
            "training SoundFont only"
        )
    result = quickstart(Path(args.out), extra=list(args.overrides), other_soundfont=other)
    print(f"\nquickstart finished in {(time.perf_counter() - t0) / 60:.1f} min")
    if result.evaluation is not None:
        print_summary(result.evaluation, result.run_dir)
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["root"],
        "quickstart",
        _quickstart,
        "the demo: build a chorale corpus, train multi-pitch on CPU, evaluate, report",
    )
    p.add_argument("--out", default="runs/quickstart", help="run folder")
    p.add_argument("overrides", nargs="*", help="config overrides key=value")
