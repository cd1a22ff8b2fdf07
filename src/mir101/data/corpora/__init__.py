"""Embedded corpora, built offline and deterministically, with exact annotations.

* ``chorales``: Bach's four-part chorales from music21's corpus rendered with a General-MIDI
  SoundFont: mix + four stems, notes, f0, chords, instruments, keys, melody cliques
  (:func:`build_chorales`).
* ``notes``: NSynth-like isolated notes (pitch, velocity, instrument, family) (:func:`build_notes`).

:func:`get_corpus_store` builds a corpus into the user cache (keyed by its parameters and the
SoundFont's content) or reuses it, and returns the store prefix.

Examples:
    >>> from mir101.data import Store                                       # doctest: +SKIP
    >>> store = Store(get_corpus_store("chorales", n=8, renditions=2))      # doctest: +SKIP

Book page: ``book/intro.md`` (the embedded corpora).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mir101.data.corpora.chorales import CHORALE_DEFINITION, Variation, build_chorales, select_chorales
from mir101.data.corpora.chords import (
    ChordSegment,
    chord_agreement,
    chord_segments,
    harte_label,
    transpose_label,
)
from mir101.data.corpora.ensembles import (
    ENSEMBLES,
    NOTE_PROGRAMS,
    VOICES,
    Ensemble,
    ensemble_names,
    get_ensemble,
    gm_family,
    instrument_source,
    nsynth_family,
    playable_range,
    program_name,
    voice_options,
)
from mir101.data.corpora.notes import NOTE_DEFINITION, build_notes, note_families
from mir101.data.corpora.render import (
    INSTALL_HINT,
    RenderNote,
    SoundFontRenderer,
    default_soundfont,
    require_tinysoundfont,
    soundfont_identity,
)
from mir101.data.corpora.scores import (
    ChoraleInfo,
    chorale_catalogue,
    expert_chords,
    load_score,
    melody_cliques,
)
from mir101.utils.registry import Registry, check_kwargs

__all__ = [
    "CORPORA",
    "get_corpus_store",
    "build_chorales",
    "build_notes",
    "select_chorales",
    "Variation",
    "CHORALE_DEFINITION",
    "NOTE_DEFINITION",
    "note_families",
    "chorale_catalogue",
    "ChoraleInfo",
    "load_score",
    "melody_cliques",
    "expert_chords",
    "ChordSegment",
    "chord_segments",
    "chord_agreement",
    "harte_label",
    "transpose_label",
    "Ensemble",
    "ENSEMBLES",
    "ensemble_names",
    "get_ensemble",
    "VOICES",
    "NOTE_PROGRAMS",
    "program_name",
    "gm_family",
    "nsynth_family",
    "instrument_source",
    "playable_range",
    "voice_options",
    "SoundFontRenderer",
    "RenderNote",
    "default_soundfont",
    "soundfont_identity",
    "require_tinysoundfont",
    "INSTALL_HINT",
]

#: corpus name -> builder ``(**params) -> store prefix``
CORPORA: Registry[Callable[..., Path]] = Registry("corpus")
CORPORA.add("chorales", build_chorales)
CORPORA.add("notes", build_notes)


def get_corpus_store(name: str, **params: Any) -> Path:
    """Build corpus ``name`` (or reuse the cached build with the same parameters) and return its
    store prefix. ``params`` are the builder's (:func:`build_chorales`, :func:`build_notes`);
    an unknown name or parameter raises a ConfigError listing the valid ones."""
    builder = CORPORA.get(name)
    check_kwargs(builder, params, f"corpus '{name}'")
    return builder(**params)
