"""What every page of the mir101 book shares: the fast switch, the sizes it selects, paths, quiet output.

Each page starts with ``from booksetup import ...``. The environment variable ``MIR101_BOOK_FAST``
(``make book`` sets it to 1) selects tiny corpora and a few training steps, so that the whole book
executes in a few minutes on two CPU cores, on every CI run; without it (``make book-full``) the
pages use realistic sizes. This module is the only place that reads the variable.

This is book plumbing, not part of the mir101 package: it only chooses sizes and paths and then
calls the library.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FAST",
    "SIZES",
    "Sizes",
    "ROOT",
    "CONFIGS",
    "MODELS",
    "RUNS",
    "RESULTS",
    "QUICKSTART",
    "chorales",
    "notes",
    "quiet",
    "table",
]

#: whether the book runs in fast mode (``MIR101_BOOK_FAST=1``)
FAST: bool = os.environ.get("MIR101_BOOK_FAST", "0").strip().lower() not in ("", "0", "false", "no")

#: the repository root, and the folders the pages read from or write to
ROOT: Path = Path(__file__).resolve().parent.parent
CONFIGS: Path = ROOT / "configs"
MODELS: Path = CONFIGS / "models"
RESULTS: Path = ROOT / "benchmarks" / "results"
RUNS: Path = ROOT / "book" / "_build" / "runs"
#: the experiment of `make demo`: the book's chorale corpus is its corpus (smaller in fast mode)
QUICKSTART: Path = CONFIGS / "multipitch" / "quickstart.yaml"


@dataclass(frozen=True)
class Sizes:
    """The sizes a page uses; one instance for fast mode, one for full mode."""

    #: overrides of the chorale corpus of QUICKSTART (``data.corpus_args.n=4``...); at least 3
    #: works, so that a split has train, valid and test works
    corpus_overrides: list[str]
    #: kwargs of ``get_corpus_store("notes", ...)``
    notes: dict[str, Any]
    #: config overrides of the small training run of the introduction
    intro_train: list[str] = field(default_factory=list)
    #: config overrides of the multi-pitch training run
    multipitch_train: list[str] = field(default_factory=list)
    #: optimisation steps of the SincNet demonstration (bricks page)
    sinc_steps: int = 60
    #: seconds of audio in the excerpts of the inputs page
    excerpt_seconds: float = 8.0

    @property
    def chorales(self) -> dict[str, Any]:
        """kwargs of ``get_corpus_store("chorales", ...)``: the corpus of QUICKSTART with the overrides."""
        from mir101.config import load_config, to_container

        return dict(to_container(load_config(QUICKSTART, self.corpus_overrides).data.corpus_args))


FAST_SIZES = Sizes(
    corpus_overrides=["data.corpus_args.n=4", "data.corpus_args.renditions=1"],
    notes={"programs": [0, 73], "pitch_range": (36, 84), "pitch_step": 2, "velocities": (100,)},
    intro_train=[
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=4",
        "data.patch_hop_frames=64",
        "trainer.log_every_n_steps=1",
    ],
    multipitch_train=[  # about 40 steps: enough for a salience that shows the notes
        "trainer.max_epochs=8",
        "trainer.limit_train_batches=10",
        "data.patch_hop_frames=64",
        "trainer.log_every_n_steps=1",
    ],
    sinc_steps=60,
    excerpt_seconds=8.0,
)

FULL_SIZES = Sizes(
    # the corpus of `make demo` as it is: reused from the cache when the demo ran
    corpus_overrides=[],
    notes={
        "programs": [0, 24, 40, 56, 73],
        "pitch_range": (36, 84),
        "pitch_step": 1,
        "velocities": (50, 100),
    },
    # a demonstration of the run folder: 60 steps (the real training is the multi-pitch page's)
    intro_train=["trainer.max_epochs=2", "trainer.limit_train_batches=30"],
    multipitch_train=[],  # configs/multipitch/quickstart.yaml as it is (650 steps, about 6 minutes)
    sinc_steps=120,
    excerpt_seconds=12.0,
)

#: the sizes of this build
SIZES: Sizes = FAST_SIZES if FAST else FULL_SIZES


def chorales() -> Path:
    """The chorale store of this build (built on first use, then reused from the cache)."""
    from mir101.data.corpora import get_corpus_store

    return get_corpus_store("chorales", **SIZES.chorales, progress=False)


def notes() -> Path:
    """The notes store of this build (built on first use, then reused from the cache)."""
    from mir101.data.corpora import get_corpus_store

    return get_corpus_store("notes", **SIZES.notes, progress=False)


def quiet() -> str:
    """Quiet logs and known harmless warnings, matplotlib inline at a readable size; returns a line
    saying which mode the page runs in."""
    import matplotlib

    matplotlib.rcParams.update({"figure.dpi": 90, "figure.figsize": (10, 3.5), "font.size": 10})
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "mir101"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*treespec.*")  # lightning's pytree deprecation
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")  # num_workers=0 on purpose
    warnings.filterwarnings(
        "ignore", message=r"Estimate frequencies are all empty.*"
    )  # mir_eval, untrained nets
    mode = (
        "fast (MIR101_BOOK_FAST=1: tiny corpora, a few training steps)" if FAST else "full (realistic sizes)"
    )
    return f"book mode: {mode}"


def table(header: list[str], rows: list[list[Any]]) -> Any:
    """A Markdown table (rendered by the book) from a header and rows of cells."""
    from IPython.display import Markdown

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return Markdown("\n".join(lines))


#: the mir_eval.multipitch scores shown by the results tables
METRICS = ("Precision", "Recall", "Accuracy", "Chroma Accuracy")


def _scores(row: dict[str, Any]) -> dict[str, Any]:
    """A row's scores: under ``test``, ``metrics`` or ``metrics.test``, or the row itself."""
    metrics = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
    for candidate in (row.get("test"), metrics.get("test"), metrics, row):
        if isinstance(candidate, dict) and any(m in candidate for m in METRICS):
            return candidate
    return {}


def stored_results(path: Path) -> Any | None:
    """A stored benchmark output (JSON) as a table, or ``None`` when the file does not exist.

    The file holds a list of rows, or a mapping with a ``rows`` list and scalar notes (machine,
    date, command...). Each row is a mapping: its scalar fields become columns, followed by the
    :data:`METRICS` found under ``test``, ``metrics`` or ``metrics.test`` (or in the row itself).
    """
    import json

    from IPython.display import Markdown

    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    key = "systems" if isinstance(data, dict) and "systems" in data else "rows"
    rows = data.get(key, []) if isinstance(data, dict) else data
    if isinstance(rows, dict):  # {name: row} as the benchmarks write them
        rows = [{"name": name, **row} for name, row in rows.items()]
    for r in rows:  # other held-out sets (e.g. another SoundFont): their Accuracy as a column
        for name, value in list(r.items()):
            if name not in ("test", "metrics") and isinstance(value, dict) and "Accuracy" in value:
                r[f"{name} Accuracy"] = round(float(value["Accuracy"]), 3)
    notes = (
        {k: v for k, v in data.items() if k != key and not isinstance(v, (dict, list))}
        if isinstance(data, dict)
        else {}
    )
    fields = [
        k for k in dict.fromkeys(k for r in rows for k, v in r.items() if not isinstance(v, (dict, list)))
    ]
    fields = [f for f in fields if f not in METRICS]
    header = fields + list(METRICS)
    body = [
        [r.get(f, "") for f in fields] + [f"{_scores(r)[m]:.3f}" if m in _scores(r) else "" for m in METRICS]
        for r in rows
    ]
    text = table(header, body).data
    if notes:
        text += "\n\n" + "; ".join(f"{k}: {v}" for k, v in notes.items())
    return Markdown(f"{text}\n\n(read from `{path.relative_to(ROOT)}`)")
