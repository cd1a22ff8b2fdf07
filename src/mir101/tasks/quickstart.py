"""``mir101 quickstart`` (what ``make demo`` runs): the whole chain on the embedded corpus.

Build (or reuse) a chorale corpus, train the HCQT + deep-salience model on the CPU, evaluate it on
held-out works with mir_eval, and again on the same works rendered with another General-MIDI
SoundFont when one is given (timbres the model never heard). Finding that SoundFont and printing
the outcome are the command line's business (:mod:`mir101.cli.quickstart`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mir101.config import load_config
from mir101.errors import ConfigError
from mir101.tasks.runner import RunResult

__all__ = ["quickstart", "quickstart_config", "held_out_chorales"]

log = logging.getLogger(__name__)


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


def quickstart(out: Path, extra: Sequence[str] = (), other_soundfont: Path | None = None) -> RunResult:
    """Train and evaluate the quickstart experiment into the run folder ``out``.

    Args:
        out: the run folder.
        extra: config overrides (``train.seed=1``).
        other_soundfont: a SoundFont never used in training: the held-out works are rendered
            with it too and scored as the evaluation set ``other_soundfont``.
    """
    from mir101.tasks.runner import train

    overrides = [f"run_dir={out}", *extra]
    base = None
    if other_soundfont is not None:
        first = load_config(quickstart_config(), overrides)
        # only the held-out works are rendered again (renditions are seeded per chorale, so they
        # are the same performances: ensembles, keys, tempi, dynamics, room)
        corpus_args = {
            **dict(first.data.corpus_args),
            "soundfont": str(other_soundfont),
            "chorales": held_out_chorales(first),
        }
        base = {"data": {"test_stores": {"other_soundfont": {"corpus": "chorales", "corpus_args": corpus_args}}}}
        log.info("held-out timbres: the test works are also rendered with %s", other_soundfont)
    return train(load_config(quickstart_config(), overrides, base=base))
