"""Chord labels of a chorale from its score, and the expert Roman-numeral test set.

Automatic labels: the score is cut at every note change (what music21's ``chordify`` does);
each slice gets the chord its pitch classes spell (a root for which the set is a triad or a
seventh chord, the bass preferred; Harte syntax, Harte et al., ISMIR 2005). A slice that spells
no chord (passing and neighbour notes, suspensions), or whose notes all belong to the previous
chord (a voice resting, an open fifth), keeps the previous label.

Expert labels: music21's corpus ships Roman-numeral analyses of the first 20 Riemenschneider
chorales (``bach/choraleAnalyses/riemenschneider*.rntxt``, after Tymoczko's project). They are
aligned to the score by measure number and beat; some analyse an edition in another key, so
the transposition that best covers the score's notes is detected and applied, and an analysis
whose best alignment still covers few notes (an edition with other measures) is left out.
Agreement is counted at the maj/min level of :func:`mir101.data.targets.chord_class`, over the
time the expert labels a chord, and with mir_eval's ``root`` and ``majmin`` comparisons.

Book page: ``book/intro.md`` (the embedded corpora), ``book/tagging.md`` (chords).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mir101.data.targets import chord_class

__all__ = [
    "ScoreNote",
    "ChordSegment",
    "harte_label",
    "transpose_label",
    "chord_segments",
    "expert_segments",
    "chord_agreement",
    "ROOT_NAMES",
]

ROOT_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# pitch-class sets relative to the root -> Harte shorthand; incomplete chords (no fifth) too
_QUALITIES: dict[frozenset[int], str] = {
    frozenset({0, 4, 7}): "maj",
    frozenset({0, 3, 7}): "min",
    frozenset({0, 3, 6}): "dim",
    frozenset({0, 4, 8}): "aug",
    frozenset({0, 4, 7, 10}): "7",
    frozenset({0, 4, 7, 11}): "maj7",
    frozenset({0, 3, 7, 10}): "min7",
    frozenset({0, 3, 6, 10}): "hdim7",
    frozenset({0, 3, 6, 9}): "dim7",
    frozenset({0, 4, 10}): "7",
    frozenset({0, 3, 10}): "min7",
    frozenset({0, 4, 11}): "maj7",
    frozenset({0, 3, 9}): "dim7",
    frozenset({0, 4}): "maj",
    frozenset({0, 3}): "min",
    frozenset({0, 7}): "5",
}
_GRID = 1 / 8  # quarter notes: the resolution of agreement counts


@dataclass(frozen=True)
class ScoreNote:
    """A note of the score: ``onset`` and ``duration`` in quarter notes, ``midi`` pitch, ``voice``."""

    onset: float
    duration: float
    midi: int
    voice: int = 0


@dataclass(frozen=True)
class ChordSegment:
    """A chord label over ``[onset, onset + duration)`` (quarter notes or seconds)."""

    onset: float
    duration: float
    label: str


def harte_label(pitch_classes: Sequence[int] | set[int], bass: int | None = None) -> str | None:
    """The Harte label a pitch-class set spells (root position), or ``None`` if it spells none.

    Roots are tried from the bass up, so an ambiguous set (C-E-G-A) is named from its bass.

    Examples:
        >>> harte_label({7, 11, 2}), harte_label({2, 6, 9, 0}, bass=6), harte_label({0, 2, 4})
        ('G:maj', 'D:7', None)
    """
    pcs = {int(p) % 12 for p in pitch_classes}
    if not pcs:
        return "N"
    for root in sorted(pcs, key=lambda r: (r != bass, r)):
        quality = _QUALITIES.get(frozenset((p - root) % 12 for p in pcs))
        if quality is not None:
            return f"{ROOT_NAMES[root]}:{quality}"
    return None


def transpose_label(label: str, semitones: int) -> str:
    """Move a ``root:quality`` label by semitones (``N`` stays ``N``), sharps for black keys."""
    if label in ("N", "X") or ":" not in label:
        return label
    root, quality = label.split(":", 1)
    pc = ROOT_NAMES.index(root) if root in ROOT_NAMES else _flat_to_pc(root)
    return f"{ROOT_NAMES[(pc + semitones) % 12]}:{quality}"


def _flat_to_pc(root: str) -> int:
    base = ROOT_NAMES.index(root[0].upper())
    return (base + root[1:].count("#") - root[1:].count("b")) % 12


def chord_segments(notes: Sequence[ScoreNote]) -> list[ChordSegment]:
    """Chord segments of a score, in its time unit (see the module docstring for the rule).

    Args:
        notes: every note of every voice.

    Returns:
        contiguous, non-overlapping segments from the first onset to the last offset; equal
        neighbours are merged; stretches where nothing sounds are ``N``.
    """
    if not notes:
        return []
    cuts = sorted({round(n.onset, 6) for n in notes} | {round(n.onset + n.duration, 6) for n in notes})
    out: list[ChordSegment] = []
    previous = "N"
    for t0, t1 in zip(cuts, cuts[1:]):
        sounding = [n for n in notes if n.onset <= t0 + 1e-9 and n.onset + n.duration >= t1 - 1e-9]
        pcs = {n.midi % 12 for n in sounding}
        if not sounding:
            label = "N"
        elif pcs <= _label_pcs(previous):  # the same harmony with a voice resting or doubling
            label = previous
        else:
            label = harte_label(pcs, min(n.midi for n in sounding) % 12) or previous
        previous = label
        if out and out[-1].label == label and abs(out[-1].onset + out[-1].duration - t0) < 1e-9:
            out[-1] = ChordSegment(out[-1].onset, t1 - out[-1].onset, label)
        else:
            out.append(ChordSegment(t0, t1 - t0, label))
    return out


def _label_pcs(label: str) -> set[int]:
    """Pitch classes of a ``root:quality`` label built by :func:`harte_label` (empty for N)."""
    if ":" not in label:
        return set()
    root, quality = label.split(":", 1)
    pc = ROOT_NAMES.index(root) if root in ROOT_NAMES else _flat_to_pc(root)
    rel = next((set(k) for k, v in _QUALITIES.items() if v == quality and len(k) >= 3), None)
    if rel is None:
        rel = next(set(k) for k, v in _QUALITIES.items() if v == quality)
    return {(pc + r) % 12 for r in rel}


def _roll(notes: Sequence[ScoreNote], end: float) -> list[list[int]]:
    """Pitch classes sounding in each grid cell."""
    cells: list[list[int]] = [[] for _ in range(int(np.ceil(end / _GRID)))]
    for n in notes:
        for i in range(
            int(round(n.onset / _GRID)), min(len(cells), int(round((n.onset + n.duration) / _GRID)))
        ):
            cells[i].append(n.midi % 12)
    return cells


def expert_segments(
    analysis: Any, measure_offsets: Mapping[int, float], notes: Sequence[ScoreNote], min_coverage: float = 0.7
) -> tuple[list[ChordSegment], dict[str, Any]]:
    """Chord segments of a music21 Roman-numeral analysis, aligned to a score.

    Args:
        analysis: the parsed ``.rntxt`` (a music21 stream holding ``RomanNumeral`` objects).
        measure_offsets: measure number -> offset (quarter notes) of the measure in the score.
        notes: the score's notes (to detect the analysis' transposition and check the fit).
        min_coverage: least fraction of the score's note time whose pitch class belongs to the
            expert chord; below it the analysis does not describe this score and ``[]`` is returned.

    Returns:
        ``(segments in quarter notes, {transposition, coverage, used})``.
    """
    from music21 import roman, stream

    raw = []
    for rn in analysis.recurse().getElementsByClass(roman.RomanNumeral):
        measure = rn.getContextByClass(stream.Measure)
        if measure is None or rn.measureNumber not in measure_offsets:
            continue
        onset = measure_offsets[rn.measureNumber] + float(rn.getOffsetInHierarchy(measure))
        raw.append((onset, float(rn.quarterLength), {p.pitchClass for p in rn.pitches}, rn.bass().pitchClass))
    end = max((n.onset + n.duration for n in notes), default=0.0)
    cells = _roll(notes, end)
    best = (0, -1.0)
    for t in range(12):
        hit = total = 0
        for onset, ql, pcs, _bass in raw:
            shifted = {(p + t) % 12 for p in pcs}
            for i in range(int(round(onset / _GRID)), min(len(cells), int(round((onset + ql) / _GRID)))):
                hit += sum(pc in shifted for pc in cells[i])
                total += len(cells[i])
        cover = hit / total if total else 0.0
        if cover > best[1]:
            best = (t, cover)
    t, cover = best
    info = {"transposition": t, "coverage": round(cover, 4), "used": cover >= min_coverage}
    if cover < min_coverage:
        return [], info
    segs: list[ChordSegment] = []
    for onset, ql, pcs, bass in sorted(raw, key=lambda x: x[0]):
        label = harte_label({(p + t) % 12 for p in pcs}, (bass + t) % 12) or "X"
        if ql <= 0:
            continue
        if segs and segs[-1].onset + segs[-1].duration > onset + 1e-9:  # clip overlaps
            prev = segs[-1]
            segs[-1] = ChordSegment(prev.onset, onset - prev.onset, prev.label)
            if segs[-1].duration <= 1e-9:
                segs.pop()
        segs.append(ChordSegment(onset, ql, label))
    return segs, info


def chord_agreement(reference: Sequence[ChordSegment], estimate: Sequence[ChordSegment]) -> dict[str, float]:
    """Agreement of estimated chords with reference chords, over the time the reference labels a
    chord (not ``N``/``X``).

    Returns:
        ``{"majmin_class": ..., "mir_eval_root": ..., "mir_eval_majmin": ..., "duration": ...}``:
        the fraction of time where :func:`chord_class` agrees, mir_eval's duration-weighted
        ``root`` and ``majmin`` scores, and the compared duration.
    """
    import mir_eval

    ref = [s for s in reference if s.label not in ("N", "X")]
    if not ref or not estimate:
        return {
            "majmin_class": float("nan"),
            "mir_eval_root": float("nan"),
            "mir_eval_majmin": float("nan"),
            "duration": 0.0,
        }
    end = max(s.onset + s.duration for s in ref)
    grid = np.arange(0.0, end, _GRID) + _GRID / 2
    ref_cls = _class_at(ref, grid)
    est_cls = _class_at(estimate, grid)
    mask = ref_cls >= 0
    out = {
        "majmin_class": float(np.mean(ref_cls[mask] == est_cls[mask])),
        "duration": float(mask.sum() * _GRID),
    }
    ref_iv = np.array([[s.onset, s.onset + s.duration] for s in ref])
    est_iv = np.array([[s.onset, s.onset + s.duration] for s in estimate])
    est_iv, est_lab = mir_eval.util.adjust_intervals(
        est_iv,
        [s.label for s in estimate],
        ref_iv.min(),
        ref_iv.max(),
        mir_eval.chord.NO_CHORD,
        mir_eval.chord.NO_CHORD,
    )
    iv, ref_lab, est_lab = mir_eval.util.merge_labeled_intervals(
        ref_iv, [s.label for s in ref], est_iv, est_lab
    )
    durations = mir_eval.util.intervals_to_durations(iv)
    out["mir_eval_root"] = float(
        mir_eval.chord.weighted_accuracy(mir_eval.chord.root(ref_lab, est_lab), durations)
    )
    out["mir_eval_majmin"] = float(
        mir_eval.chord.weighted_accuracy(mir_eval.chord.majmin(ref_lab, est_lab), durations)
    )
    return out


def _class_at(segments: Sequence[ChordSegment], times: np.ndarray) -> np.ndarray:
    out = np.full(len(times), -1, dtype=np.int64)
    for s in segments:
        i0, i1 = np.searchsorted(times, [s.onset, s.onset + s.duration])
        out[i0:i1] = chord_class(s.label) if s.label not in ("N", "X") else 24
    return out
