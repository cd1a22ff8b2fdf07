"""Annotations -> model targets at given frame times.

* pitch rolls (pitch bins x frames) from note segments (``pitchmidi``) or f0 series (``f0``),
  at a chosen resolution in bins per semitone;
* multi-class and multi-label vectors from global labels, with a vocabulary built from the whole
  dataset *before* splitting (so every split encodes labels the same way);
* chord frames in the 25-class maj/min/N vocabulary (richer labels reduced with mir_eval's parser);
* clique ids for cover identification.

A frame at time ``t`` is covered by a segment ``[time, time + duration)``.

Book page: ``book/intro.md`` (targets), ``book/multipitch.md`` (pitch rolls).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mir101.data.store import Segments, Series
from mir101.errors import AnnotationError, ParameterError
from mir101.utils.pitch import hz_to_midi

__all__ = [
    "PitchGrid",
    "pitch_roll_from_segments",
    "pitch_roll_from_series",
    "LabelVocabulary",
    "CHORD_LABELS",
    "chord_class",
    "chord_frames",
    "clique_ids",
]

_ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: the 25 classes: 12 major, 12 minor, then N (no chord)
CHORD_LABELS: tuple[str, ...] = tuple(f"{r}:maj" for r in _ROOTS) + tuple(f"{r}:min" for r in _ROOTS) + ("N",)


@dataclass(frozen=True)
class PitchGrid:
    """A pitch axis: ``n_bins`` bins from MIDI ``fmin_midi`` at ``bins_per_semitone``.

    Bin ``k`` is centred on MIDI ``fmin_midi + k / bins_per_semitone``.
    """

    fmin_midi: float = 24.0
    n_bins: int = 72
    bins_per_semitone: int = 1

    def __post_init__(self) -> None:
        if self.n_bins <= 0 or self.bins_per_semitone <= 0:
            raise ParameterError(
                f"PitchGrid needs n_bins > 0 and bins_per_semitone > 0, got {self.n_bins}, {self.bins_per_semitone}"
            )

    def midi(self) -> np.ndarray:
        """MIDI value at the centre of each bin, shape (n_bins,)."""
        return self.fmin_midi + np.arange(self.n_bins) / self.bins_per_semitone

    def bin_of(self, midi: np.ndarray | float) -> np.ndarray:
        """Nearest bin index of MIDI values (may fall outside ``[0, n_bins)``)."""
        return np.rint((np.asarray(midi, dtype=float) - self.fmin_midi) * self.bins_per_semitone).astype(int)


def pitch_roll_from_segments(segments: Segments, frame_times: np.ndarray, grid: PitchGrid) -> np.ndarray:
    """Binary pitch roll (n_bins, frames) from note segments whose ``value`` is a MIDI pitch.

    Args:
        segments: note segments (``time``, ``duration``, MIDI ``value``).
        frame_times: (frames,) times in seconds at which the roll is sampled.
        grid: the pitch axis. Notes outside it are dropped.

    Returns:
        float32 array (n_bins, frames) with 1 where a note sounds.

    Examples:
        >>> seg = Segments(np.array([0.5]), np.array([0.25]), np.array([60.0]))
        >>> roll = pitch_roll_from_segments(seg, np.arange(10) * 0.1, PitchGrid(48, 24))
        >>> np.flatnonzero(roll[12]).tolist()     # frames 0.5, 0.6, 0.7 s; bin 12 = MIDI 60
        [5, 6, 7]
    """
    frame_times = np.asarray(frame_times, dtype=float)
    roll = np.zeros((grid.n_bins, len(frame_times)), dtype=np.float32)
    if len(segments) == 0:
        return roll
    bins = grid.bin_of(segments.value.astype(float))
    starts = np.searchsorted(frame_times, segments.time - 1e-9, side="left")
    ends = np.searchsorted(frame_times, segments.time + segments.duration - 1e-9, side="left")
    for b, s, e in zip(bins, starts, ends):
        if 0 <= b < grid.n_bins and e > s:
            roll[b, s:e] = 1.0
    return roll


def pitch_roll_from_series(
    series: Series, frame_times: np.ndarray, grid: PitchGrid, max_gap: float | None = None
) -> np.ndarray:
    """Binary pitch roll (n_bins, frames) from an f0 series (voices x annotation frames).

    Each frame takes the nearest annotated value of each voice, if one lies within ``max_gap``
    seconds (default: the largest step of the annotation's time axis). Non-positive or NaN
    values are unvoiced. Hz values are converted to MIDI (``series.unit``).
    """
    frame_times = np.asarray(frame_times, dtype=float)
    roll = np.zeros((grid.n_bins, len(frame_times)), dtype=np.float32)
    t = series.time
    if len(t) == 0:
        return roll
    step = float(np.max(np.diff(t))) if len(t) > 1 else 0.0
    max_gap = step if max_gap is None else max_gap
    idx = (
        np.clip(np.searchsorted(t, frame_times), 1, len(t) - 1)
        if len(t) > 1
        else np.zeros(len(frame_times), int)
    )
    if len(t) > 1:
        left_closer = (frame_times - t[idx - 1]) <= (t[idx] - frame_times)
        idx = np.where(left_closer, idx - 1, idx)
    near = np.abs(t[idx] - frame_times) <= max_gap + 1e-9
    for voice in series.value:
        v = voice[idx]
        midi = hz_to_midi(v) if series.unit == "hz" else np.where(v > 0, v, np.nan)
        ok = near & np.isfinite(midi)
        bins = grid.bin_of(np.where(ok, midi, 0.0))
        ok &= (bins >= 0) & (bins < grid.n_bins)
        roll[bins[ok], np.flatnonzero(ok)] = 1.0
    return roll


class LabelVocabulary:
    """Sorted label set with multi-class and multi-label encoders.

    Build it from the *whole* dataset before splitting: ``LabelVocabulary.from_values(...)``.

    Examples:
        >>> voc = LabelVocabulary(["rock", "jazz", "pop"])
        >>> voc.index("pop"), voc.multi_hot(["jazz", "rock"]).tolist()
        (1, [1.0, 0.0, 1.0])
    """

    def __init__(self, labels: Iterable[str]):
        self.labels: list[str] = sorted({str(x) for x in labels})
        if not self.labels:
            raise AnnotationError("cannot build a label vocabulary from no labels")
        self._index = {x: i for i, x in enumerate(self.labels)}

    @classmethod
    def from_values(cls, values: Iterable[Iterable[str]]) -> LabelVocabulary:
        """From per-item label lists (e.g. each item's tags)."""
        return cls(x for vals in values for x in vals)

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        try:
            return self._index[str(label)]
        except KeyError:
            raise AnnotationError(f"label '{label}' is not in the vocabulary {self.labels}") from None

    def one_hot(self, label: str) -> np.ndarray:
        out = np.zeros(len(self), dtype=np.float32)
        out[self.index(label)] = 1.0
        return out

    def multi_hot(self, labels: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self), dtype=np.float32)
        for x in labels:
            out[self.index(x)] = 1.0
        return out

    def to_list(self) -> list[str]:
        return list(self.labels)


def chord_class(label: str) -> int:
    """Index in :data:`CHORD_LABELS` of a chord label (mir_eval / Harte syntax).

    Reduction rule (the usual maj/min vocabulary): 'N' and 'X' -> N; a chord whose third is minor
    (min, dim, min7, hdim7, ...) -> ``root:min``; any other chord with a root (maj, aug, 7, sus,
    power chords) -> ``root:maj``. Inversions are ignored.

    Raises:
        AnnotationError: the label cannot be parsed, naming it.

    Examples:
        >>> CHORD_LABELS[chord_class("A:min7/b3")], CHORD_LABELS[chord_class("Eb:7")]
        ('A:min', 'D#:maj')
    """
    import mir_eval

    label = str(label).strip()
    if label in ("N", "X", ""):
        return 24
    try:
        root, bitmap, _bass = mir_eval.chord.encode(label)
    except Exception as err:  # mir_eval raises InvalidChordException and others
        raise AnnotationError(f"unknown chord label '{label}': {err}") from err
    if root < 0:
        return 24
    minor = bool(bitmap[3]) and not bool(bitmap[4])
    return int(root) + (12 if minor else 0)


def chord_frames(segments: Segments, frame_times: np.ndarray) -> np.ndarray:
    """Chord class per frame (frames,) int64; frames without a segment get N (24)."""
    frame_times = np.asarray(frame_times, dtype=float)
    out = np.full(len(frame_times), 24, dtype=np.int64)
    for t, d, v in zip(segments.time, segments.duration, segments.value):
        s, e = np.searchsorted(frame_times, [t - 1e-9, t + d - 1e-9])
        out[s:e] = chord_class(str(v))
    return out


def clique_ids(works: Sequence[object]) -> np.ndarray:
    """Integer clique id per item from its work / clique value (same value -> same id)."""
    order = {w: i for i, w in enumerate(sorted({str(w) for w in works}))}
    return np.array([order[str(w)] for w in works], dtype=np.int64)
