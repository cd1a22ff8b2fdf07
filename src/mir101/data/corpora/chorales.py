"""The chorales corpus: Bach's four-part chorales rendered with a SoundFont, with exact labels.

Each *rendition* of a chorale draws, deterministically from the seed, the chorale id and the
rendition index: an ensemble (renditions of one chorale cycle through different ensembles; when
no transposition lets an ensemble play a chorale in range, the next one takes over), a
transposition, a tempo, a GM program per voice inside its playable range, per-voice velocity
with per-note variation, per-voice mix levels, and a synthetic room reverb. It gives five store
items: ``<chorale>-r<k>-mix`` and one stem per voice (``-soprano``, ``-alto``, ``-tenor``,
``-bass``). Stems are stored *after* every mix-level process (gain, reverb, normalisation), so
``mix = sum of stems`` holds exactly (up to float32 rounding) and each stem is what that voice
contributes to the mix. Fermatas are held (``fermata`` times their written length).

Annotations (pyjama): global ``role``, ``mix_key`` (stems), ``chorale``, ``work_id`` (melody
clique), ``title``, ``bwv``, ``riemenschneider``, ``key`` (after transposition), ``tempo`` (bpm),
``transposition``, ``ensemble``, ``tag`` (GM families of the voices), ``instrument`` (GM names),
``program``, ``octave_shift``/``gain_db`` (stems), ``reverb_rt60``, ``soundfont``, ``rendition``;
segments ``pitchmidi`` (``value`` MIDI, with ``voice``, ``instrument``, ``program``,
``velocity``), ``chord`` (automatic, Harte) and ``chord_expert`` (the expert analysis, where one
exists); series ``f0`` (Hz per frame, voices x frames, 0 = silent, hop ``hop`` samples).

Book page: ``book/intro.md`` (the embedded corpora).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mir101.data.corpora import _build
from mir101.data.corpora.ensembles import ensemble_names, get_ensemble
from mir101.data.corpora.render import SoundFontRenderer, default_soundfont, soundfont_identity
from mir101.data.corpora.rendition import Variation, init_worker, render_chorale
from mir101.data.corpora.scores import ChoraleInfo, chorale_catalogue
from mir101.data.splits import split_groups
from mir101.data.store import StoreWriter
from mir101.errors import CorpusError, ParameterError

__all__ = ["Variation", "build_chorales", "select_chorales", "CHORALE_DEFINITION"]

log = logging.getLogger(__name__)

CORPUS_VERSION = 1

#: the store's ``descriptiondefinition``
CHORALE_DEFINITION: dict[str, Any] = {
    "role": {"type": "global", "description": "mix, or the voice of a stem (soprano/alto/tenor/bass)"},
    "mix_key": {"type": "global", "description": "store key of the mix a stem belongs to"},
    "chorale": {"type": "global", "description": "chorale id (music21 corpus file stem)"},
    "work_id": {"type": "global", "description": "clique: the melody the chorale harmonises"},
    "key": {"type": "global", "description": "key after transposition"},
    "tempo": {"type": "global", "unit": "bpm"},
    "transposition": {"type": "global", "unit": "semitones"},
    "ensemble": {"type": "global", "description": "ensemble class of the rendition"},
    "tag": {"type": "global", "description": "General-MIDI families of the voices"},
    "instrument": {"type": "global", "description": "General-MIDI program names of the voices"},
    "pitchmidi": {"type": "segment", "unit": "midi", "description": "sounding notes"},
    "chord": {"type": "segment", "description": "automatic chord labels from the score (Harte)"},
    "chord_expert": {"type": "segment", "description": "expert Roman-numeral analysis as Harte labels"},
    "f0": {"type": "series", "unit": "hz", "description": "per-voice f0, voices x frames, 0 = silent"},
}


def select_chorales(
    n: int | None = None,
    chorales: Sequence[str] | None = None,
    catalogue: Sequence[ChoraleInfo] | None = None,
    min_clique: int = 1,
) -> list[ChoraleInfo]:
    """The chorales of a build: ``chorales`` by id (``bwv269``) or corpus path, else the first
    ``n`` in Riemenschneider order (the first 20 have expert chord analyses), else all.

    ``min_clique > 1`` keeps only the chorales whose melody clique (``work_id``) holds at least
    that many chorales of the whole catalogue, clique after clique (cliques in the order of their
    first chorale), so that the first ``n`` are whole cliques but the last: the cover-song corpus.
    """
    catalogue = list(catalogue if catalogue is not None else chorale_catalogue())
    if not isinstance(min_clique, int) or min_clique < 1:
        raise ParameterError(f"min_clique={min_clique!r} must be a positive integer")
    if min_clique > 1:
        sizes: dict[str, int] = {}
        for c in catalogue:
            sizes[c.work_id] = sizes.get(c.work_id, 0) + 1
        first = {w: i for i, w in reversed(list(enumerate(c.work_id for c in catalogue)))}
        catalogue = sorted(
            (c for c in catalogue if sizes[c.work_id] >= min_clique), key=lambda c: first[c.work_id]
        )
    if chorales:
        by_id = {c.id: c for c in catalogue} | {c.path: c for c in catalogue}
        missing = [c for c in chorales if c not in by_id]
        if missing:
            import difflib

            hint = difflib.get_close_matches(missing[0], list(by_id), n=3)
            raise CorpusError(f"unknown chorale(s) {missing}; close ids: {hint} (ids are like 'bwv269')")
        chosen = [by_id[c] for c in dict.fromkeys(chorales)]
    else:
        chosen = catalogue
    if n is not None:
        if not isinstance(n, int) or n < 1:
            raise ParameterError(f"n={n!r} must be a positive number of chorales")
        chosen = chosen[:n]
    return chosen


def build_chorales(
    n: int | None = None,
    *,
    chorales: Sequence[str] | None = None,
    renditions: int = 1,
    min_clique: int = 1,
    ensembles: Sequence[str] | None = None,
    seed: int = 0,
    sr: int = 22050,
    soundfont: str | os.PathLike | None = None,
    variation: Variation | Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    name: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or reuse) the chorales store and return its prefix.

    Args:
        n: number of chorales (first ``n`` in Riemenschneider order); ``None``: all (~350).
        chorales: explicit chorale ids instead (``["bwv269", "bwv347"]``).
        renditions: renditions per chorale (different ensembles, keys and tempi; one clique).
        min_clique: keep only chorales whose melody clique has at least this many chorales
            (see :func:`select_chorales`; 2 gives the cover-song cliques).
        ensembles: ensemble names to draw from (default: all, see :data:`ENSEMBLES`).
        seed: the seed every random choice derives from.
        sr: sample rate (Hz).
        soundfont: a ``.sf2``/``.sf3`` General-MIDI SoundFont (default: pretty_midi's TimGM6mb).
        variation: ranges of tempo, transposition, velocity, gains, reverb (:class:`Variation`).
        out, name: write ``out/name`` (name defaults to ``chorales``); ``out=None``: the cache
            ``cache_dir('corpora')/chorales-<hash of the parameters>``.
        workers: processes (one synthesiser each); default ``min(2, cpu count)``.
        force: rebuild even if a store with these parameters exists.
        progress: show progress bars.

    Returns:
        the store prefix (open it with :class:`mir101.data.Store`).

    Raises:
        CorpusError: a voice fits no audible program, a note is silent, a bad SoundFont...
        MissingDependencyError: tinysoundfont is missing (``pip install --no-deps tinysoundfont``).
    """
    started = time.perf_counter()
    workers = _build.check_workers(workers)
    if not isinstance(renditions, int) or renditions < 1:
        raise ParameterError(f"renditions={renditions!r} must be a positive integer")
    if not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed={seed!r} must be a non-negative integer")
    ens = list(ensembles) if ensembles else ensemble_names()
    for e in ens:
        get_ensemble(e)  # raises naming the valid ones
    var = Variation.from_any(variation)
    sf_id = soundfont_identity(soundfont)
    catalogue = chorale_catalogue(workers=workers, progress=progress)
    chosen = select_chorales(n, chorales, catalogue, min_clique=min_clique)
    params = {
        "chorales": [c.id for c in chosen],
        "renditions": renditions,
        "ensembles": ens,
        "seed": seed,
        "sr": int(sr),
        "variation": asdict(var),
    }
    key = _build.build_key("chorales", CORPUS_VERSION, params, sf_id)
    prefix = _build.store_target("chorales", key, out, name)
    if not force and _build.finished_store(prefix, key):
        log.info("reusing chorales store %s", prefix)
        return prefix
    sf_path = str(Path(soundfont) if soundfont is not None else default_soundfont())
    SoundFontRenderer(sf_path, sr=sr)  # fail early (missing renderer, bad SoundFont)
    job_params = {**params, "variation": asdict(var), "soundfont_name": sf_id["name"]}
    jobs = [(asdict(c), job_params) for c in chosen]
    groups: dict[str, str] = {}
    chord_test: list[str] = []
    seconds = 0.0
    metadata = _metadata(params, key, sf_id, catalogue, chosen)
    with StoreWriter(prefix, definition=CHORALE_DEFINITION, metadata=metadata) as writer:
        results = _build.map_ordered(
            render_chorale,
            jobs,
            workers,
            init_worker,
            (sf_path, int(sr)),
            desc="rendering chorales",
            progress=progress,
        )
        for items in results:
            for item_key, audio, ann in items:
                writer.add(item_key, audio, int(sr), ann)
                seconds += len(audio) / sr
                groups[item_key] = ann["work_id"][0]["value"]
                if "chord_expert" in ann and ann["role"][0]["value"] == "mix":
                    chord_test.append(item_key)
        writer.metadata["split"] = split_groups(groups, seed=seed)
        writer.metadata["chord_test"] = chord_test
        writer.metadata["items"] = len(groups)
        writer.metadata["duration_s"] = round(seconds, 3)
    log.info(
        "built chorales store %s: %d chorales x %d renditions in %.1f s",
        prefix, len(chosen), renditions, time.perf_counter() - started,
    )  # fmt: skip
    return prefix


def _metadata(
    params: dict[str, Any],
    key: str,
    sf_id: dict[str, Any],
    catalogue: list[ChoraleInfo],
    chosen: list[ChoraleInfo],
) -> dict[str, Any]:
    used = [c for c in catalogue if c.expert_info.get("used")]
    total = sum(c.expert_info["agreement"]["duration"] for c in used)

    def weighted(metric: str) -> float:
        return (
            round(
                sum(c.expert_info["agreement"][metric] * c.expert_info["agreement"]["duration"] for c in used)
                / total,
                4,
            )
            if total
            else float("nan")
        )

    works = {c.work_id for c in catalogue}
    return {
        "corpus": "chorales",
        "corpus_version": CORPUS_VERSION,
        "build_key": key,
        "params": params,
        "seed": params["seed"],
        "soundfont": sf_id,
        "versions": _build.library_versions(),
        "split_by": "work_id",
        "mix": "mix = sum of the four stems; stems are stored after gain, reverb and normalisation",
        "f0_hop": params["variation"]["hop"],
        "cliques": {
            "catalogue_chorales": len(catalogue),
            "catalogue_works": len(works),
            "catalogue_multi_chorale_works": sum(
                1 for w in works if sum(c.work_id == w for c in catalogue) > 1
            ),
            "store_works": len({c.work_id for c in chosen}),
        },
        "chord_agreement": {
            "reference": "expert Roman-numeral analyses of music21's corpus (riemenschneider001-020.rntxt)",
            "chorales": len(used),
            "excluded": {
                c.id: c.expert_info.get("coverage")
                for c in catalogue
                if c.expert_info and not c.expert_info.get("used")
            },
            "quarter_notes": round(total, 3),
            "majmin_class": weighted("majmin_class"),
            "mir_eval_root": weighted("mir_eval_root"),
            "mir_eval_majmin": weighted("mir_eval_majmin"),
            "per_chorale": {c.id: c.expert_info["agreement"]["majmin_class"] for c in used},
        },
    }
