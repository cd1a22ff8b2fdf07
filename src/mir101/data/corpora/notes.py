"""The notes corpus: NSynth-like isolated notes rendered with a General-MIDI SoundFont.

Like NSynth (Engel et al., 2017, https://arxiv.org/abs/1704.01279), every item is one note of
one instrument at one pitch and velocity, of fixed length, the note-off coming before the end so
that the release is heard: by default clips of 1.0 s at 16 kHz with the key held 0.75 s
(NSynth: 4 s, held 3 s; shorter clips suit CPU training of codecs and generators). Programs
come from the NSynth-like families of :mod:`mir101.data.corpora.ensembles`, pitches from each
instrument's playable range. A note that the SoundFont renders silent or out of tune (measured
more than 50 cents off, see :meth:`SoundFontRenderer.bad_notes`) is left out (listed in the
store's metadata), never labelled.

Items are keyed ``note-<family>-<program:03d>-<pitch:03d>-<velocity:03d>`` and annotated with
global ``pitch``, ``velocity``, ``instrument`` (GM name), ``program``, ``family``,
``instrument_source`` (acoustic/electronic/synthetic), ``preset`` (the SoundFont's preset name),
``soundfont``, ``tag`` (the family) and one ``pitchmidi`` segment (the note, from 0 s).
As in NSynth, the split holds out whole instruments (programs).

Book page: ``book/intro.md`` (the embedded corpora), ``book/generation.md``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mir101.data.corpora import _build
from mir101.data.corpora.ensembles import (
    NOTE_PROGRAMS,
    instrument_source,
    nsynth_family,
    playable_range,
    program_name,
)
from mir101.data.corpora.render import RenderNote, SoundFontRenderer, default_soundfont, soundfont_identity
from mir101.data.splits import split_groups
from mir101.data.store import StoreWriter
from mir101.errors import CorpusError, ParameterError

__all__ = ["build_notes", "note_families", "NOTE_DEFINITION"]

log = logging.getLogger(__name__)

CORPUS_VERSION = 1
_BATCH = 64  # notes per worker job

NOTE_DEFINITION: dict[str, Any] = {
    "pitch": {"type": "global", "unit": "midi"},
    "velocity": {"type": "global", "description": "MIDI velocity 1-127"},
    "instrument": {"type": "global", "description": "General-MIDI program name"},
    "family": {"type": "global", "description": "NSynth-like instrument family"},
    "instrument_source": {"type": "global", "description": "acoustic, electronic or synthetic"},
    "pitchmidi": {"type": "segment", "unit": "midi", "description": "the note, note-on to note-off"},
}


def note_families() -> dict[str, list[int]]:
    """Family -> its GM programs, for the notes corpus."""
    out: dict[str, list[int]] = {}
    for p in NOTE_PROGRAMS:
        out.setdefault(nsynth_family(p), []).append(p)
    return out


_RENDERER: SoundFontRenderer | None = None  # one synthesiser per worker process


def _init_worker(soundfont: str, sr: int) -> None:
    global _RENDERER
    _RENDERER = SoundFontRenderer(soundfont, sr=sr)


def _render_batch(
    job: tuple[list[tuple[int, int, int]], int, int],
) -> list[tuple[tuple[int, int, int], np.ndarray | None, str]]:
    """Worker: ``(program, pitch, velocity)`` notes -> ``(note, audio, preset name)``, or
    ``(note, None, why)`` for a note left out (silent, or out of tune)."""
    notes, n_samples, held = job
    renderer = _RENDERER
    if renderer is None:  # pragma: no cover - the pool initializer sets it
        raise CorpusError("renderer not initialised in this worker")
    out = []
    for program, pitch, velocity in notes:
        note = RenderNote(0, held, pitch, velocity)
        preset = renderer.preset_name(program) or ""
        bad = renderer.bad_notes(program, [note])
        if bad:
            out.append(((program, pitch, velocity), None, bad[0][1]))
            continue
        out.append(((program, pitch, velocity), renderer.render(program, [note], n_samples), preset))
    return out


def _grid(
    programs: Sequence[int], pitch_range: tuple[int, int], velocities: Sequence[int], pitch_step: int
) -> list[tuple[int, int, int]]:
    grid = []
    for p in programs:
        lo, hi = playable_range(p)
        lo, hi = max(lo, pitch_range[0]), min(hi, pitch_range[1])
        for pitch in range(lo, hi + 1):
            if (pitch - pitch_range[0]) % pitch_step == 0:
                grid.extend((p, pitch, v) for v in velocities)
    return grid


def build_notes(
    n: int | None = None,
    *,
    families: Sequence[str] | None = None,
    programs: Sequence[int] | None = None,
    pitch_range: tuple[int, int] = (21, 108),
    pitch_step: int = 1,
    velocities: Sequence[int] = (25, 50, 75, 100, 127),
    duration: float = 1.0,
    note_off: float = 0.75,
    sr: int = 16000,
    seed: int = 0,
    soundfont: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    name: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or reuse) the notes store and return its prefix.

    Args:
        n: keep ``n`` notes drawn from the grid with ``seed`` (``None``: the whole grid, about
            3,500 notes per velocity).
        families, programs: restrict to these NSynth-like families / GM programs.
        pitch_range: MIDI range, intersected with each instrument's playable range.
        pitch_step: every ``pitch_step``-th pitch from ``pitch_range[0]``.
        velocities: MIDI velocities (NSynth's five by default).
        duration: clip length (s); note_off: when the key is released (s), before ``duration``.
        sr: sample rate (Hz).
        seed: drawing of the ``n`` notes and of the instrument split.
        soundfont: a ``.sf2``/``.sf3`` General-MIDI SoundFont (default: pretty_midi's TimGM6mb).
        out, name: write ``out/name`` (name defaults to ``notes``); ``out=None``: the user cache.
        workers: processes (one synthesiser each); default ``min(2, cpu count)``.
        force: rebuild even if a store with these parameters exists.
        progress: show a progress bar.

    Raises:
        CorpusError: bad SoundFont, or no note left; ParameterError: bad argument.
        MissingDependencyError: tinysoundfont is missing (``pip install --no-deps tinysoundfont``).
    """
    started = time.perf_counter()
    workers = _build.check_workers(workers)
    fams = note_families()
    if families:
        unknown = [f for f in families if f not in fams]
        if unknown:
            raise ParameterError(f"families={unknown} unknown; valid: {sorted(fams)}")
    chosen = sorted(
        p
        for p in (programs if programs is not None else NOTE_PROGRAMS)
        if not families or (p in NOTE_PROGRAMS and nsynth_family(p) in families)
    )
    for p in chosen:
        nsynth_family(p)  # raises for a program without family
    if not 0 < note_off < duration:
        raise ParameterError(f"note_off={note_off} must lie in (0, duration={duration}) s")
    if not 0 <= pitch_range[0] <= pitch_range[1] <= 127 or pitch_step < 1:
        raise ParameterError(
            f"pitch_range={pitch_range} must be MIDI (lo <= hi) and pitch_step={pitch_step} >= 1"
        )
    if not velocities or not all(1 <= int(v) <= 127 for v in velocities):
        raise ParameterError(f"velocities={list(velocities)} must be MIDI velocities 1-127")
    grid = _grid(
        chosen, (int(pitch_range[0]), int(pitch_range[1])), [int(v) for v in velocities], int(pitch_step)
    )
    if n is not None:
        if not isinstance(n, int) or n < 1:
            raise ParameterError(f"n={n!r} must be a positive number of notes")
        keep = np.sort(np.random.default_rng(seed).permutation(len(grid))[: min(n, len(grid))])
        grid = [grid[i] for i in keep]
    if not grid:
        raise CorpusError(f"no note to render: programs {chosen} have no pitch in {pitch_range}")
    sf_id = soundfont_identity(soundfont)
    params = {
        "notes": len(grid),
        "n": n,
        "programs": chosen,
        "pitch_range": list(pitch_range),
        "pitch_step": pitch_step,
        "velocities": [int(v) for v in velocities],
        "duration": duration,
        "note_off": note_off,
        "sr": int(sr),
        "seed": seed,
    }
    key = _build.build_key("notes", CORPUS_VERSION, params, sf_id)
    prefix = _build.store_target("notes", key, out, name)
    if not force and _build.finished_store(prefix, key):
        log.info("reusing notes store %s", prefix)
        return prefix
    sf_path = str(Path(soundfont) if soundfont is not None else default_soundfont())
    SoundFontRenderer(sf_path, sr=sr)  # fail early
    n_samples, held = int(round(duration * sr)), int(round(note_off * sr))
    jobs = [(grid[i : i + _BATCH], n_samples, held) for i in range(0, len(grid), _BATCH)]
    left_out: list[list[Any]] = []
    groups: dict[str, int] = {}
    metadata = {
        "corpus": "notes",
        "corpus_version": CORPUS_VERSION,
        "build_key": key,
        "params": params,
        "seed": seed,
        "soundfont": sf_id,
        "versions": _build.library_versions(),
        "split_by": "program (instruments held out, as in NSynth)",
    }
    with StoreWriter(prefix, definition=NOTE_DEFINITION, metadata=metadata) as writer:
        results = _build.map_ordered(
            _render_batch,
            jobs,
            workers,
            _init_worker,
            (sf_path, int(sr)),
            desc="rendering notes",
            progress=progress,
        )
        for batch in results:
            for (program, pitch, velocity), audio, preset in batch:
                if audio is None:
                    left_out.append([program, pitch, velocity, preset])
                    continue
                family = nsynth_family(program)
                item_key = f"note-{family}-{program:03d}-{pitch:03d}-{velocity:03d}"
                writer.add(
                    item_key,
                    audio,
                    int(sr),
                    _annotations(program, pitch, velocity, family, preset, held / sr, sf_id["name"]),
                )
                groups[item_key] = program
        if not groups:
            raise CorpusError(f"every note rendered silent or out of tune with SoundFont {sf_id['name']}")
        writer.metadata["left_out"] = left_out  # [program, pitch, velocity, why]
        writer.metadata["items"] = len(groups)
        writer.metadata["duration_s"] = round(len(groups) * n_samples / sr, 3)
        writer.metadata["split"] = split_groups(groups, seed=seed)
    elapsed = time.perf_counter() - started
    log.info(
        "built notes store %s: %d notes in %.1f s (%.0f notes/s)",
        prefix,
        len(groups),
        elapsed,
        len(groups) / elapsed,
    )
    return prefix


def _annotations(
    program: int, pitch: int, velocity: int, family: str, preset: str, note_off: float, soundfont: str
) -> dict[str, Any]:
    name = program_name(program)
    return {
        "pitch": [{"value": pitch}],
        "velocity": [{"value": velocity}],
        "instrument": [{"value": name}],
        "program": [{"value": program}],
        "family": [{"value": family}],
        "instrument_source": [{"value": instrument_source(program)}],
        "preset": [{"value": preset}],
        "soundfont": [{"value": soundfont}],
        "tag": [{"value": family}],
        "pitchmidi": [
            {
                "value": pitch,
                "time": 0.0,
                "duration": note_off,
                "instrument": name,
                "program": program,
                "velocity": velocity,
            }
        ],
    }
