"""Where a multi-pitch model errs: scores per ensemble (timbre) and per voice (register).

A pooled Accuracy hides which timbres and which voices fail. Two tables make them visible:

- **per ensemble**: the items of each ensemble class pooled, ``mir_eval.multipitch`` Accuracy,
  Precision, Recall and ``mir_eval.transcription`` note onset F-measure;
- **per voice** (soprano, alto, tenor, bass...; the ``voice`` of each annotated note): the share of
  the voice's sounding frames whose pitch is found in the estimate (frame recall, per semitone),
  the share of them missed while the estimate holds the pitch an *octave* above or below (the
  octave confusions of voices doubling each other), and its note onset recall (the voice's notes
  matched alone against every estimated note, onset within 50 ms, pitch within 50 cents).

False alarms belong to no voice: they appear in the per-ensemble Precision only.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from mir101.data.store import Store
from mir101.tasks.multipitch.decoding import frames_to_notes, pick_peaks
from mir101.utils.pitch import midi_to_hz

__all__ = ["per_ensemble", "per_voice", "semitone_activity"]

Item = tuple[np.ndarray, np.ndarray, np.ndarray]  # frame times, salience (freq, time), truth


def per_ensemble(task: Any, store: Store, keys: list[str], items: list[Item], threshold: float) -> list[dict]:
    """One row per ensemble class (worst Accuracy first): its items' frames pooled."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[str(store.value(key, "ensemble", default="")) or "(none)"].append(i)
    rows = []
    for ens, idx in groups.items():
        sub_keys, sub_items = [keys[i] for i in idx], [items[i] for i in idx]
        s = task._score(sub_items, threshold)
        notes = task._note_scores(store, sub_keys, sub_items, threshold)
        rows.append(
            {
                "ensemble": ens,
                "items": len(idx),
                **{k: round(float(s[k]), 4) for k in ("Accuracy", "Precision", "Recall")},
                "Note onset F": round(float(notes.get("Note onset F", float("nan"))), 4),
            }
        )
    return sorted(rows, key=lambda r: r["Accuracy"])


def semitone_activity(active: np.ndarray, midi: np.ndarray) -> tuple[np.ndarray, int]:
    """Pool active bins ``(freq, time)`` to semitones: ``(semitones, time)`` and the lowest MIDI note.

    Examples:
        >>> act = np.array([[1, 0], [0, 0], [0, 1]], bool)  # bins of MIDI 60, 60.33, 61
        >>> semi, lo = semitone_activity(act, np.array([60.0, 60.33, 61.0]))
        >>> lo, semi.astype(int).tolist()
        (60, [[1, 0], [0, 1]])
    """
    rounded = np.rint(midi).astype(int)
    lo = int(rounded.min())
    semi = np.zeros((int(rounded.max()) - lo + 1, active.shape[1]), bool)
    for m in np.unique(rounded):
        semi[m - lo] = active[rounded == m].any(axis=0)
    return semi, lo


def per_voice(task: Any, store: Store, keys: list[str], items: list[Item], threshold: float) -> list[dict]:
    """One row per annotated voice (worst frame recall first); empty for f0-series targets."""
    import mir_eval

    from mir101.data.pyjama import annotation_kind

    name = task.options.target
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    midi = task.grid.midi()
    for key, (times, sal, _truth) in zip(keys, items):
        entry = store.entry(key)
        if name not in entry or annotation_kind(entry[name]) != "segment":
            return []
        seg = store.segments(key, name)
        active = pick_peaks(sal, threshold)
        semi, lo = semitone_activity(active, midi)
        est = frames_to_notes(active, times, task.grid, task.options.min_note_frames)
        est_iv = np.array([[s, e] for s, e, _ in est]).reshape(-1, 2)
        est_hz = midi_to_hz(np.array([m for _, _, m in est], float))
        voices = (
            [str(e.get("voice", "")) or "(none)" for e in seg.extra] if seg.extra else ["(none)"] * len(seg)
        )
        for voice in sorted(set(voices)):
            st = stats[voice]
            idx = [i for i, v in enumerate(voices) if v == voice]
            for i in idx:
                m = int(round(float(seg.value[i]))) - lo
                frames = (times >= seg.time[i]) & (times < seg.time[i] + seg.duration[i])
                if not frames.any():
                    continue
                hit = semi[m, frames] if 0 <= m < len(semi) else np.zeros(int(frames.sum()), bool)
                octave = np.zeros_like(hit)
                for d in (-12, 12):
                    if 0 <= m + d < len(semi):
                        octave |= semi[m + d, frames]
                st["frames"] += int(frames.sum())
                st["found"] += int(hit.sum())
                st["octave"] += int((~hit & octave).sum())
            ref_iv = np.array([[seg.time[i], seg.time[i] + seg.duration[i]] for i in idx]).reshape(-1, 2)
            ref_hz = midi_to_hz(np.array([float(seg.value[i]) for i in idx]))
            st["notes"] += len(idx)
            if len(est) and len(idx):
                st["notes_found"] += len(
                    mir_eval.transcription.match_notes(ref_iv, ref_hz, est_iv, est_hz, offset_ratio=None)
                )
    rows = []
    for voice, st in stats.items():
        frames = max(st["frames"], 1)
        rows.append(
            {
                "voice": voice,
                "notes": int(st["notes"]),
                "Frame recall": round(st["found"] / frames, 4),
                "Octave misses": round(st["octave"] / frames, 4),
                "Note onset recall": round(st["notes_found"] / max(st["notes"], 1), 4),
            }
        )
    return sorted(rows, key=lambda r: r["Frame recall"])
