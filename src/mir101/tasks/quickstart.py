"""``mir101 quickstart`` (what ``make demo`` runs): the whole chain on the embedded corpus.

Build (or reuse) a small chorale corpus, train the HCQT + deep-salience Conv2D model on the CPU,
evaluate it on held-out works with mir_eval, and again on the same works rendered with another
General-MIDI SoundFont when one is installed (timbres the model never heard), then print where the
report is.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mir101.config import load_config
from mir101.errors import ConfigError

__all__ = ["quickstart", "find_other_soundfont", "quickstart_config", "held_out_chorales"]

log = logging.getLogger(__name__)

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


def quickstart_config() -> Path:
    """The quickstart experiment file (``configs/multipitch/quickstart.yaml`` in the repository)."""
    here = Path(__file__).resolve()
    for root in (Path.cwd(), *here.parents):
        p = root / "configs" / "multipitch" / "quickstart.yaml"
        if p.is_file():
            return p
    raise ConfigError(
        "configs/multipitch/quickstart.yaml not found: run mir101 quickstart from the repository"
    )


def held_out_chorales(cfg: Any) -> list[str]:
    """Ids of the chorales (``bwv269``...) in the test split of a chorale experiment."""
    from mir101.tasks.runner import make_task

    task = make_task(cfg)
    split = task.make_split()
    return sorted({str(task.store.value(k, "chorale")) for k in split["test"]})


def quickstart(out: Path, extra: Sequence[str] = ()) -> dict:
    from mir101.tasks.runner import train

    t0 = time.perf_counter()
    overrides = [f"run_dir={out}", *extra]
    base = None
    other = find_other_soundfont()
    if other is not None:
        first = load_config(quickstart_config(), overrides)
        # only the held-out works are rendered again (renditions are seeded per chorale, so they
        # are the same performances: ensembles, keys, tempi, dynamics, room)
        corpus_args = {
            **dict(first.data.corpus_args),
            "soundfont": str(other),
            "chorales": held_out_chorales(first),
        }
        test_store = {"corpus": "chorales", "corpus_args": corpus_args}
        base = {"data": {"test_stores": {"other_soundfont": test_store}}}
        print(f"held-out timbres: the test works are also rendered with {other}")
    else:
        print(
            "no second SoundFont found (apt-get install fluid-soundfont-gm): evaluating on the training SoundFont only"
        )
    cfg = load_config(quickstart_config(), overrides, base=base)
    result = train(cfg)
    minutes = (time.perf_counter() - t0) / 60
    print(f"\nquickstart finished in {minutes:.1f} min")
    for name, scores in result.metrics.items():
        if isinstance(scores, dict) and "Accuracy" in scores:
            print(
                f"  {name:<16} mir_eval Accuracy {scores['Accuracy']:.3f}  P {scores['Precision']:.3f}  R {scores['Recall']:.3f}  ({scores['items']} items)"
            )
    print(f"report: {result.run_dir / 'report.md'}")
    return result.metrics
